from __future__ import annotations

from typing import Any

from chalicelib.local.demo import DONGTING, PEOPLE, XINMINZHULU
from tests.integration.conftest import Api, token_of

G1 = f"{DONGTING}.g01"


def _dev_token(api: Api, role: str, scope: str = "") -> str:
    answer = api.post("/v1/auth/dev-token", {"role": role, "scope": scope})
    assert answer.status == 200, answer.body
    return str(answer.body["token"])


def test_a_unit_and_its_children_are_read_by_path(api: Api, demo: dict[str, Any]) -> None:
    token = token_of(demo, "chenwen")
    unit = api.get(f"/v1/units/{DONGTING}", token)
    assert unit.status == 200 and unit.body["name"] == "东亭社区" and unit.body["level"] == "community"
    first = api.get(f"/v1/units/{DONGTING}/children?limit=2", token)
    rest = api.get(f"/v1/units/{DONGTING}/children?limit=2&cursor={first.body['next_cursor']}", token)
    names = [u["name"] for u in first.body["items"] + rest.body["items"]]
    assert names == ["东亭社区第一网格", "东亭社区第二网格", "东亭社区第三网格"]


def test_a_grid_shows_its_grid_worker_with_a_masked_phone(api: Api, demo: dict[str, Any]) -> None:
    grid = api.get(f"/v1/units/{G1}", token_of(demo, "chenwen"))
    assert grid.body["grid_workers"] == [
        {
            "user_id": PEOPLE[2].user_id,
            "name": "张忻欣",
            "role": "grid_worker",
            "scope": G1,
            "department": None,
            "title": "网格员",
            "phone_masked": "139****0001",
        }
    ]


def test_a_missing_unit_is_404_and_a_bad_path_422(api: Api, demo: dict[str, Any]) -> None:
    token = token_of(demo, "chenwen")
    assert api.get("/v1/units/wuhan.nowhere", token).status == 404
    bad = api.get("/v1/units/Wuhan", token)
    assert bad.status == 422 and bad.body["error"]["details"][0]["field"] == "unit_id"


def test_an_admin_adds_a_grid_under_their_community(api: Api, demo: dict[str, Any]) -> None:
    token = token_of(demo, "dongting-admin")
    made = api.post("/v1/units", {"parent_id": DONGTING, "slug": "g04", "name": "东亭社区第四网格"}, token)
    assert made.status == 201 and made.body["unit_id"] == f"{DONGTING}.g04"
    assert api.get(f"/v1/units/{DONGTING}.g04", token).body["level"] == "grid"
    outside = api.post("/v1/units", {"parent_id": XINMINZHULU, "slug": "g09", "name": "x"}, token)
    assert outside.status == 403


def test_bad_input_names_the_field_and_creates_nothing(api: Api, demo: dict[str, Any]) -> None:
    token = token_of(demo, "dongting-admin")
    missing = api.post("/v1/units", {"parent_id": DONGTING, "slug": "g05"}, token)
    assert missing.status == 422 and missing.body["error"]["details"][0]["field"] == "name"
    extra = api.post("/v1/units", {"parent_id": DONGTING, "slug": "g05", "name": "x", "colour": "red"}, token)
    assert extra.status == 422 and extra.body["error"]["details"][0]["field"] == "colour"
    garbled = api.post("/v1/units", token=token, raw=b"{not json")
    assert garbled.status == 422 and garbled.error_code == "malformed_json"
    assert api.get(f"/v1/units/{DONGTING}.g05", token).status == 404


def test_a_retried_create_with_the_same_key_creates_once(api: Api, demo: dict[str, Any]) -> None:
    token = token_of(demo, "dongting-admin")
    body = {"parent_id": DONGTING, "slug": "g06", "name": "东亭社区第六网格"}
    first = api.post("/v1/units", body, token, headers={"Idempotency-Key": "k-1"})
    again = api.post("/v1/units", body, token, headers={"Idempotency-Key": "k-1"})
    assert (first.status, again.status) == (201, 201)
    assert again.body == first.body
    assert again.headers.get("Idempotent-Replayed") == "true"
    without_key = api.post("/v1/units", body, token)
    assert without_key.status == 409  # the unit exists: only the keyed retry is answered from memory
    other_body = api.post("/v1/units", {**body, "name": "别的"}, token, headers={"Idempotency-Key": "k-1"})
    assert other_body.status == 422 and other_body.error_code == "idempotency_key_reused"


def test_a_failed_keyed_request_can_be_fixed_and_sent_again_with_the_same_key(api: Api, demo: dict[str, Any]) -> None:
    token = token_of(demo, "dongting-admin")
    key = {"Idempotency-Key": "k-2"}
    failed = api.post("/v1/units", {"parent_id": DONGTING, "slug": "g01", "name": "x"}, token, headers=key)
    assert failed.status == 409
    fixed = api.post("/v1/units", {"parent_id": DONGTING, "slug": "g08", "name": "x"}, token, headers=key)
    assert fixed.status == 201  # the failure was not remembered, so the key is still free
    again = api.post("/v1/units", {"parent_id": DONGTING, "slug": "g08", "name": "x"}, token, headers=key)
    assert again.status == 201 and again.headers.get("Idempotent-Replayed") == "true"


def test_joining_a_grid_end_to_end(api: Api, demo: dict[str, Any]) -> None:
    worker = token_of(demo, "zhangxinxin")
    code = api.post(f"/v1/grids/{G1}/join-codes", {"max_uses": 5}, worker)
    assert code.status == 201 and code.body["qr_png"].startswith("data:image/png;base64,")
    resident = _dev_token(api, "resident")
    bound = api.post(
        "/v1/me/binding", {"code": code.body["code"], "building": "15", "unit": "2", "room": "301"}, resident
    )
    assert bound.status == 200 and bound.body["user"]["binding"]["status"] == "pending"
    new_token = bound.body["token"]
    pending = api.get(f"/v1/grids/{G1}/residents?status=pending", worker)
    user_id = bound.body["user"]["user_id"]
    assert [r["user_id"] for r in pending.body["items"]] == [user_id]
    verified = api.post(f"/v1/grids/{G1}/residents/{user_id}/verification", {"decision": "verify"}, worker)
    assert verified.status == 200 and verified.body["binding"]["status"] == "verified"
    community = api.get("/v1/me/community", new_token)
    assert community.body["community"]["name"] == "东亭社区"
    assert community.body["grid_workers"][0]["phone_masked"] == "139****0001"
    assert "+86" not in str(community.body)


def test_a_worker_cannot_issue_codes_for_another_grid(api: Api, demo: dict[str, Any]) -> None:
    other = token_of(demo, "wangxiaomin")
    answer = api.post(f"/v1/grids/{G1}/join-codes", {}, other)
    assert answer.status == 403 and answer.error_code == "forbidden"


def test_used_up_and_revoked_codes_are_refused(api: Api, demo: dict[str, Any]) -> None:
    worker = token_of(demo, "zhangxinxin")
    once = api.post(f"/v1/grids/{G1}/join-codes", {"max_uses": 1}, worker).body
    address = {"building": "1", "unit": "1", "room": "101"}
    assert api.post("/v1/me/binding", {"code": once["code"], **address}, _dev_token(api, "resident")).status == 200
    used_up = api.post("/v1/me/binding", {"code": once["code"], **address}, _dev_token(api, "resident"))
    assert used_up.status == 410 and used_up.error_code == "join_code_used_up"
    revoked = api.post(f"/v1/grids/{G1}/join-codes", {}, worker).body
    gone = api.call("DELETE", f"/v1/grids/{G1}/join-codes/{revoked['code_id']}", token=worker)
    assert gone.status == 204
    refused = api.post("/v1/me/binding", {"code": revoked["code"], **address}, _dev_token(api, "resident"))
    assert refused.status == 410 and refused.error_code == "join_code_revoked"


def test_me_shows_my_own_phone_unmasked_and_erasure_removes_it(api: Api, demo: dict[str, Any]) -> None:
    token = token_of(demo, "chenwen")
    me = api.get("/v1/me", token)
    assert me.body["phone"] == "+8613800000001" and me.body["name"] == "陈雯"
    renamed = api.call("PATCH", "/v1/me", {"name": "陈雯雯"}, token=token)
    assert renamed.status == 200 and renamed.body["name"] == "陈雯雯"
    assert api.call("DELETE", "/v1/me", token=token).status == 204
    assert api.get("/v1/me", token).status == 404
    worker = token_of(demo, "zhangxinxin")
    residents = api.get(f"/v1/grids/{G1}/residents", worker).body["items"]
    assert all(r["user_id"] != PEOPLE[0].user_id for r in residents)
