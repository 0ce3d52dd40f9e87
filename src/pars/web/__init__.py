"""HTTP adapter: the FastAPI application. The only place that knows about HTTP."""
