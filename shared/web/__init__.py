"""The web console: server-rendered pages over the public APIs (backend-for-frontend)."""
