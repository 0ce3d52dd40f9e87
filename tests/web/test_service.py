"""Health, readiness, the OpenAPI document, the charge look-up and unknown routes."""

from __future__ import annotations

from tests.conftest import Api


def test_health_and_readiness(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    r = api.client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["status"] == "ready"


def test_readiness_fails_on_an_unmigrated_database(api: Api) -> None:
    with api.pars.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM alembic_version")
    r = api.client.get("/readyz")
    assert r.status_code == 503
    assert "pars init" in r.json()["status"]


def test_openapi_is_3_1_and_documents_every_body(api: Api) -> None:
    doc = api.client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    paths = doc["paths"]
    for path in (
        "/api/v1/arrests",
        "/api/v1/arrests/{arrest_id}",
        "/api/v1/arrests/{arrest_id}/submit",
        "/api/v1/arrests/{arrest_id}/charging-decision",
        "/api/v1/arrests/{arrest_id}/arraignment",
        "/api/v1/arrests/{arrest_id}/custody",
        "/api/v1/arrests/{arrest_id}/corrections",
        "/healthz",
        "/readyz",
    ):
        assert path in paths, path
    schemas = doc["components"]["schemas"]
    create = paths["/api/v1/arrests"]["post"]["requestBody"]["content"]["application/json"]
    assert create["schema"]["$ref"] == "#/components/schemas/ArrestIn"
    assert "person" in schemas["ArrestIn"]["properties"]
    # Every $ref points at a schema that exists.
    text = str(doc)
    import re

    for ref in set(re.findall(r"#/components/schemas/([A-Za-z0-9_]+)", text)):
        assert ref in schemas, ref


def test_charge_lookup(api: Api) -> None:
    c = api.as_("officer")
    r = c.get("/api/v1/charges", params={"q": "simple assault"})
    assert r.status_code == 200
    assert r.json()["items"][0]["statute"].startswith("18 § 2701")
    r = c.get("/api/v1/charges/18 Pa.C.S. § 2701(a)(1)")
    assert r.json()["default_grade"] == "M2"
    r = c.get("/api/v1/charges/99-9999")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"


def test_unknown_route_is_a_problem(api: Api) -> None:
    r = api.client.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    r = api.client.delete("/api/v1/arrests")
    assert r.status_code == 405
    assert r.json()["status"] == 405
