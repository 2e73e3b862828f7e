"""The outbound sandbox answers like Twilio and WeChat and keeps what was sent."""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.local.sandbox import SandboxCredentials, SandboxServer
from tests.unit.local.conftest import free_port

SMS_PATH = "/sms/2010-04-01/Accounts/AC-local/Messages.json"
SMS_CREDENTIALS = ("AC-local", "tok")


@pytest.fixture
def sandbox() -> Iterator[tuple[SandboxServer, str]]:
    port = free_port()
    server = SandboxServer("127.0.0.1", port, SandboxCredentials(sms_auth_token="tok", wechat_app_secret="sec"))
    server.start()
    yield server, f"http://127.0.0.1:{port}"
    server.stop()


def _call(
    url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _sms(base: str, form: dict[str, str], credentials: tuple[str, str] = SMS_CREDENTIALS) -> tuple[int, Any]:
    auth = base64.b64encode(":".join(credentials).encode()).decode()
    return _call(
        base + SMS_PATH,
        "POST",
        urllib.parse.urlencode(form).encode(),
        {"Authorization": f"Basic {auth}", "Content-Type": "application/x-www-form-urlencoded"},
    )


def test_an_sms_is_queued_and_lands_in_the_outbox(sandbox: tuple[SandboxServer, str]) -> None:
    _, base = sandbox
    status, message = _sms(base, {"To": "+8613800000001", "From": "+8610690000", "Body": "验证码 123456"})

    assert status == 201
    assert message["sid"].startswith("SM") and len(message["sid"]) == 34
    assert (message["status"], message["to"], message["body"]) == ("queued", "+8613800000001", "验证码 123456")
    status, outbox = _call(base + "/_sandbox/outbox?channel=sms&to=%2B8613800000001")
    assert status == 200
    (item,) = outbox["items"]
    assert (item["channel"], item["kind"], item["body"]) == ("sms", "sms", "验证码 123456")
    assert item["at"].endswith("Z")


def test_an_sms_without_a_recipient_or_with_bad_credentials_is_refused(sandbox: tuple[SandboxServer, str]) -> None:
    _, base = sandbox
    status, error = _sms(base, {"Body": "hi"})
    assert (status, error["code"]) == (400, 21211)
    status, error = _sms(base, {"To": "+861", "Body": "hi"}, ("AC-local", "wrong"))
    assert (status, error["code"]) == (401, 20003)
    assert _call(base + "/_sandbox/outbox")[1] == {"items": []}


def test_a_wechat_login_code_becomes_a_stable_openid(sandbox: tuple[SandboxServer, str]) -> None:
    _, base = sandbox
    query = "appid=wx-local&secret=sec&js_code=abc&grant_type=authorization_code"
    status, session = _call(f"{base}/wechat/sns/jscode2session?{query}")

    assert status == 200
    assert session["openid"] == "o" + hashlib.sha1(b"abc", usedforsecurity=False).hexdigest()[:27]
    assert session["session_key"] and session["unionid"] is None
    bad = _call(f"{base}/wechat/sns/jscode2session?{query.replace('abc', 'bad-code')}")[1]
    assert bad == {"errcode": 40029, "errmsg": "invalid code"}


def test_wechat_messages_need_a_token_and_land_in_the_outbox(sandbox: tuple[SandboxServer, str]) -> None:
    _, base = sandbox
    token = _call(f"{base}/wechat/cgi-bin/token?grant_type=client_credential&appid=wx-local&secret=sec")[1]
    assert token["expires_in"] == 7200
    message = {"touser": "oABC", "template_id": "T1", "data": {"thing1": {"value": "报修已受理"}}}
    body = json.dumps(message).encode()

    refused = _call(f"{base}/wechat/cgi-bin/message/subscribe/send?access_token=forged", "POST", body)[1]
    sent = _call(f"{base}/wechat/cgi-bin/message/subscribe/send?access_token={token['access_token']}", "POST", body)[1]

    assert refused["errcode"] == 40001
    assert sent["errcode"] == 0 and sent["errmsg"] == "ok" and isinstance(sent["msgid"], int)
    (item,) = _call(f"{base}/_sandbox/outbox?channel=wechat")[1]["items"]
    assert (item["kind"], item["to"], item["payload"]) == ("subscribe", "oABC", message)


def test_the_outbox_can_be_cleared(sandbox: tuple[SandboxServer, str]) -> None:
    server, base = sandbox
    server.outbox.add("sms", "sms", "+1", body="x")
    assert _call(base + "/_sandbox/outbox", "DELETE") == (200, {"cleared": 1})
    assert server.outbox.items() == []
