from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from chalicelib.api import auth as auth_routes
from chalicelib.settings import get_settings
from tests.integration.conftest import Api, token_of


def test_health_answers_without_a_token(api: Api) -> None:
    answer = api.get("/health")
    assert answer.status == 200 and answer.body["status"] == "ok"


def test_openapi_describes_every_route_of_the_app(api: Api) -> None:
    from app import app

    document = api.get("/openapi.json").body
    served = {(path, method.lower()) for path, methods in app.routes.items() for method in methods}
    described = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert served == described
    for ops in document["paths"].values():
        for op in ops.values():
            for ref in json.dumps(op).split('"$ref": "')[1:]:
                name = ref.split('"')[0].rsplit("/", 1)[-1]
                assert name in document["components"]["schemas"], name


def test_openapi_lists_the_contract_paths_of_the_spine(api: Api) -> None:
    paths = api.get("/openapi.json").body["paths"]
    for path in [
        "/health",
        "/openapi.json",
        "/docs",
        "/v1/auth/sms/code",
        "/v1/auth/sms/verify",
        "/v1/auth/wechat",
        "/v1/auth/dev-token",
        "/v1/units/{unit_id}",
        "/v1/units/{unit_id}/children",
        "/v1/units",
        "/v1/grids/{grid_id}/join-codes",
        "/v1/me/binding",
        "/v1/grids/{grid_id}/residents/{user_id}/verification",
        "/v1/me",
        "/v1/me/community",
        "/v1/me/notifications",
    ]:
        assert path in paths, path


def test_docs_page_renders_the_document(api: Api) -> None:
    page = api.get("/docs")
    assert page.status == 200 and "openapi.json" in str(page.body)


def test_no_token_is_401_in_the_error_shape(api: Api) -> None:
    answer = api.get("/v1/me")
    assert answer.status == 401 and answer.error_code == "unauthenticated"


def _forge(claims: dict[str, Any], key: str) -> str:
    return jwt.encode(claims, key, algorithm="HS256")


def test_an_expired_token_is_401(api: Api, demo: dict[str, Any]) -> None:
    past = datetime.now(UTC) - timedelta(days=30)
    claims = {
        "iss": "weilinli",
        "sub": "u1",
        "role": "resident",
        "scope": "",
        "iat": int(past.timestamp()),
        "exp": int((past + timedelta(hours=1)).timestamp()),
    }
    answer = api.get("/v1/me", _forge(claims, get_settings().jwt_secret or ""))
    assert answer.status == 401 and answer.error_code == "unauthenticated"


def test_a_tampered_token_is_401(api: Api, demo: dict[str, Any]) -> None:
    head, payload, signature = token_of(demo, "chenwen").split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["role"] = "city_admin"
    tampered = f"{head}.{jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()}.{signature}"
    assert api.get("/v1/me", tampered).status == 401
    assert api.get("/v1/me", "not-a-jwt").status == 401


def test_dev_tokens_are_issued_on_the_local_stage(api: Api) -> None:
    answer = api.post("/v1/auth/dev-token", {"role": "grid_worker", "scope": "wuhan.wuchang.shuiguohu.dongting.g01"})
    assert answer.status == 200
    me = api.get("/v1/me", answer.body["token"])
    assert me.status == 200 and me.body["role"] == "grid_worker"


def test_the_dev_token_route_is_404_outside_the_local_stage(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    prod = dataclasses.replace(get_settings(), stage="prod")
    monkeypatch.setattr(auth_routes, "get_settings", lambda: prod)
    answer = api.post("/v1/auth/dev-token", {"role": "city_admin", "scope": "wuhan"})
    assert answer.status == 404


def test_an_unforeseen_failure_is_a_500_in_the_error_shape(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import bootstrap

    def broken() -> Any:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(bootstrap, "unit_service", broken)
    answer = api.get("/v1/units/wuhan", token_of(demo, "chenwen"))
    assert answer.status == 500 and answer.error_code == "internal"
    assert "fire" not in json.dumps(answer.body)  # nothing internal leaks to the client
