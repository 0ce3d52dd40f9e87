"""Every route of the application is listed here with who may call it. A new route fails this
test until it is listed; a route that sends arrest data to partners must be one of the partner
routes, whose data comes only from `pars.sharing.projection`."""

from __future__ import annotations

from starlette.routing import Route

from pars.web.app import create_app
from tests.conftest import Api

PUBLIC = {"/healthz", "/readyz", "/openapi.json", "/docs", "/docs/oauth2-redirect"}
# The public transparency report: no login, no personal data (tests/web/test_transparency.py).
PUBLIC |= {"/transparency", "/api/v1/transparency"}
# The disclosure log's checkpoints, key and proofs: hashes only, public as in Certificate
# Transparency (tests/integration/test_audit_log.py).
PUBLIC |= {
    "/api/v1/audit/checkpoint",
    "/api/v1/audit/checkpoints",
    "/api/v1/audit/public-key",
    "/api/v1/audit/proof/inclusion",
    "/api/v1/audit/proof/consistency",
}
# Operators' metrics: behind PARS_METRICS_TOKEN, refusing staff tokens and partner keys alike, 404
# while the token is unset (tests/web/test_metrics.py).
OPERATORS = {"/metrics"}
# Partner routes: authenticated by a partner API key; data only through the projection.
PARTNER = {
    "/api/v1/feed",
    "/api/v1/feed/stream",
    "/api/v1/lookup",
    "/api/v1/feed/receipts/{index}",
    "/api/v1/feed/recalls/{recall_id}/attestation",
}
STAFF_PREFIXES = (
    "/api/v1/arrests",
    "/api/v1/charges",
    "/api/v1/agreements",
    "/api/v1/me",
    "/api/v1/auth/token",
    "/api/v1/partners",
    "/api/v1/persons",
    "/api/v1/audit/export",
)


def test_every_route_is_classified(api: Api) -> None:
    app = create_app(api.pars)
    paths = {r.path for r in app.routes if isinstance(r, Route)}
    unlisted = sorted(
        p
        for p in paths
        if p not in PUBLIC | PARTNER | OPERATORS and not p.startswith(STAFF_PREFIXES)
    )
    assert unlisted == [], f"classify these routes in {__file__}: {unlisted}"


def test_staff_routes_refuse_partner_keys_and_partner_routes_refuse_staff(api: Api) -> None:
    from pars.services.agreements import add_partner

    _, key = add_partner(api.pars, "PSP", "state_repository")
    partner = {"Authorization": f"Bearer {key}"}
    app = create_app(api.pars)
    for route in app.routes:
        if (
            not isinstance(route, Route)
            or route.path in PUBLIC | OPERATORS
            or "GET" not in route.methods
        ):
            continue
        path = route.path.replace("{arrest_id}", "0" * 8 + "-0000-0000-0000-" + "0" * 12)
        path = path.replace("{agreement_id}", "x").replace("{version}", "1")
        path = path.replace("{citation}", "18-2701-A1").replace("{partner_id}", "x")
        path = path.replace("{index}", "0")
        if route.path in PARTNER:
            assert api.as_("admin").get(path).status_code == 401, path
        elif route.path != "/api/v1/auth/token":
            r = api.client.get(path, headers=partner)
            assert r.status_code == 401, (path, r.status_code)
