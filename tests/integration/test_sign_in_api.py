from __future__ import annotations

from typing import Any

from chalicelib.local.sandbox import SandboxServer
from tests.integration.conftest import Api, last_sms_code

PHONE = "+8613800009999"


def test_sms_sign_in_creates_a_resident_and_me_shows_the_phone(api: Api, sandbox: SandboxServer) -> None:
    sent = api.post("/v1/auth/sms/code", {"phone": "138 0000 9999"})
    assert sent.status == 202 and sent.body["retry_after"] > 0
    code = last_sms_code(sandbox, PHONE)
    signed = api.post("/v1/auth/sms/verify", {"phone": PHONE, "code": code})
    assert signed.status == 200 and signed.body["created"] is True
    me = api.get("/v1/me", signed.body["token"])
    assert me.body["phone"] == PHONE and me.body["role"] == "resident"


def test_the_answer_does_not_reveal_whether_a_phone_is_known(
    api: Api, sandbox: SandboxServer, demo: dict[str, Any]
) -> None:
    known = api.post("/v1/auth/sms/code", {"phone": "13800000001"})  # 陈雯, in the demo data
    unknown = api.post("/v1/auth/sms/code", {"phone": "13800000777"})
    assert (known.status, known.body) == (unknown.status, unknown.body)


def test_staff_sign_in_by_sms_gets_their_role_and_scope(api: Api, sandbox: SandboxServer, demo: dict[str, Any]) -> None:
    api.post("/v1/auth/sms/code", {"phone": "13900000001"})
    signed = api.post("/v1/auth/sms/verify", {"phone": "13900000001", "code": last_sms_code(sandbox, "+8613900000001")})
    assert signed.body["created"] is False
    assert (signed.body["user"]["role"], signed.body["user"]["name"]) == ("grid_worker", "张忻欣")


def test_a_sixth_code_is_refused_even_when_right(api: Api, sandbox: SandboxServer) -> None:
    api.post("/v1/auth/sms/code", {"phone": PHONE})
    right = last_sms_code(sandbox, PHONE)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        answer = api.post("/v1/auth/sms/verify", {"phone": PHONE, "code": wrong})
        assert answer.status == 422 and answer.error_code == "code_rejected"
    sixth = api.post("/v1/auth/sms/verify", {"phone": PHONE, "code": right})
    assert sixth.status == 410 and sixth.error_code == "code_attempts_exhausted"


def test_codes_are_rate_limited_with_retry_after(api: Api, sandbox: SandboxServer) -> None:
    assert api.post("/v1/auth/sms/code", {"phone": PHONE}).status == 202
    again = api.post("/v1/auth/sms/code", {"phone": PHONE})
    assert again.status == 429 and int(again.headers["Retry-After"]) > 0
    assert len(sandbox.outbox.items(channel="sms", to=PHONE)) == 1


def test_a_bad_phone_is_422_naming_the_field_and_sends_nothing(api: Api, sandbox: SandboxServer) -> None:
    answer = api.post("/v1/auth/sms/code", {"phone": "hello"})
    assert answer.status == 422 and answer.body["error"]["details"][0]["field"] == "phone"
    assert sandbox.outbox.items(channel="sms") == []


def test_wechat_sign_in_through_code2session(api: Api, sandbox: SandboxServer) -> None:
    first = api.post("/v1/auth/wechat", {"code": "mini-program-code-1"})
    again = api.post("/v1/auth/wechat", {"code": "mini-program-code-1"})
    assert first.status == 200 and first.body["created"] is True and first.body["user"]["wechat_linked"]
    assert again.body["user"]["user_id"] == first.body["user"]["user_id"]
    refused = api.post("/v1/auth/wechat", {"code": "bad-code"})
    assert refused.status == 422


def test_wechat_links_to_a_signed_in_resident(api: Api, sandbox: SandboxServer) -> None:
    api.post("/v1/auth/sms/code", {"phone": PHONE})
    token = api.post("/v1/auth/sms/verify", {"phone": PHONE, "code": last_sms_code(sandbox, PHONE)}).body["token"]
    linked = api.post("/v1/auth/wechat", {"code": "link-me"}, token)
    assert linked.status == 200 and linked.body["user"]["phone"] == PHONE and linked.body["user"]["wechat_linked"]
