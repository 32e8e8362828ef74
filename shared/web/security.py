"""Response headers (a strict CSP with no inline script, no framing) and the client's address."""

from __future__ import annotations

import flask

# No inline script or style anywhere; charts are SVG attributes, htmx is configured by a meta
# tag. Posters are the only third-party content: images from any http(s) origin.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https: http:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; manifest-src 'self'"
)
# Swagger UI sets style attributes from script and loads its icons as data: URIs; /docs still
# runs no inline script and calls only its own origin (or the functions' own URLs).
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self' https: http:; font-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def apply_headers(response: flask.Response) -> flask.Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if flask.request.headers.get("X-Forwarded-Proto", flask.request.scheme) == "https":
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")  # pages carry CSRF tokens
    return response


def client_ip(request: flask.Request, trusted_hops: int) -> str:
    """The client's address: behind `trusted_hops` proxies that each append to X-Forwarded-For
    (Cloud Run's front end; the load balancer too), the entry they appended; else the peer.
    Entries further left were written by the client and are never trusted."""
    if trusted_hops:
        chain = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",")]
        chain = [part for part in chain if part]
        if len(chain) >= trusted_hops:
            return chain[-trusted_hops]
    return request.remote_addr or "unknown"
