"""Request, response and query shapes; validated by pydantic, documented in OpenAPI."""
