"""The FastAPI application: routes, error handling, health, and request logging."""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa
import structlog
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import pars
from pars.services.app import Pars
from pars.store.engine import alembic_config
from pars.web import metrics, openapi, problems, screens
from pars.web.api import agreements as agreements_api
from pars.web.api import arrests as arrests_api
from pars.web.api import audit as audit_api
from pars.web.api import auth as auth_api
from pars.web.api import charges as charges_api
from pars.web.api import complaint as complaint_api
from pars.web.api import feed as feed_api
from pars.web.api import partners as partners_api
from pars.web.api import persons as persons_api
from pars.web.api import transparency as transparency_api
from pars.web.deps import unauthenticated_audits
from pars.web.headers import SecurityHeaders
from pars.web.read_only import ReadOnly
from pars.web.routing import CheckedRoute

__all__ = ["create_app"]

log = structlog.get_logger("pars.web")


class AccessLog:
    """One log line per request: method, path (never the query string, which can hold a name),
    status and milliseconds. Plain ASGI, so it adds no task or stream per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                ms=round((time.perf_counter() - start) * 1000, 1),
            )


class _App(FastAPI):
    """FastAPI with the security headers outermost: around Starlette's ServerErrorMiddleware,
    which sends the 500 answer outside the middleware that `add_middleware` adds."""

    def build_middleware_stack(self) -> ASGIApp:
        settings = self.state.pars.settings
        return SecurityHeaders(super().build_middleware_stack(), hsts=settings.tls_in_front)


def create_app(app_pars: Pars, *, read_only: Callable[[], str | None] | None = None) -> FastAPI:
    """The whole application. While `read_only()` returns a reason (`pars demo` building its
    history), every change is refused with that reason and every page shows it."""
    app = _App(
        title="PARS",
        version=pars.__version__,
        summary="Preliminary Arraignment Reporting System",
        openapi_url="/openapi.json",
        docs_url=None,  # self-hosted Swagger UI at /docs: pars.web.screens.apidocs
        redoc_url=None,
    )
    app.router.route_class = CheckedRoute  # the app's own routes, as every router's
    app.state.pars = app_pars
    app.state.unauthenticated_audits = unauthenticated_audits()
    problems.install(app)
    app.include_router(auth_api.router)
    app.include_router(arrests_api.router)
    app.include_router(complaint_api.router)
    app.include_router(persons_api.router)
    app.include_router(charges_api.router)
    app.include_router(agreements_api.router)
    app.include_router(feed_api.router)
    app.include_router(audit_api.router)
    app.include_router(feed_api.lookup_router)
    app.include_router(partners_api.router)
    app.include_router(transparency_api.router)
    app.include_router(transparency_api.page_router)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], response_model=None)
    def readyz() -> Response:
        """The database answers and its schema is at the newest migration."""
        try:
            with app_pars.engine.connect() as conn:
                current = MigrationContext.configure(conn).get_current_revision()
        except sa.exc.SQLAlchemyError:
            return JSONResponse({"status": "database unreachable"}, status_code=503)
        url = app_pars.engine.url.render_as_string(hide_password=False)
        head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
        if current != head:
            return JSONResponse(
                {"status": "schema not migrated; run `pars init`", "schema": current, "head": head},
                status_code=503,
            )
        return JSONResponse({"status": "ready", "schema": current})

    screens.install(app)
    if read_only is not None:
        app.add_middleware(ReadOnly, reason=read_only)
    app.state.site_notice = read_only
    app.add_middleware(AccessLog)
    metrics.install(app, app_pars)

    openapi.install(app)
    return app
