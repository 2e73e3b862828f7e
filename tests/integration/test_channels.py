"""WeChat and SMS both ways, on moto with the event pump and the provider sandbox."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any
from urllib.parse import urlencode

from chalice.test import Client

from chalicelib.adapters.sms_webhook import twilio_signature
from chalicelib.adapters.wechat import WeChatCrypto
from chalicelib.local.demo import PEOPLE, XINMINZHULU
from chalicelib.local.pump import EventPump
from chalicelib.local.sandbox import SandboxServer
from chalicelib.settings import get_settings
from tests.integration.conftest import Api, token_of
from tests.waiting import eventually

WANG_WEI = PEOPLE[1]
WANG_XIAOMIN = PEOPLE[3]
US = "gh_weilinli"


def _sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _wechat_query(**extra: str) -> str:
    timestamp, nonce = str(int(time.time())), "nonce123"
    token = get_settings().wechat_token or ""
    return urlencode({"timestamp": timestamp, "nonce": nonce, "signature": _sign(token, timestamp, nonce), **extra})


def _text_xml(openid: str, text: str, msg_id: str) -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[{US}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    ).encode()


def _post_wechat(api: Api, body: bytes, query: str | None = None) -> Any:
    return api.call(
        "POST", f"/v1/webhooks/wechat?{query or _wechat_query()}", raw=body, headers={"Content-Type": "text/xml"}
    )


def _link_wechat(api: Api, token: str, code: str) -> str:
    assert api.post("/v1/auth/wechat", {"code": code}, token).status == 200
    return "o" + hashlib.sha1(code.encode()).hexdigest()[:27]  # the sandbox's code2session rule


def _dm_with_message(api: Api, token: str, text: str) -> str:
    """The one-to-one that the inbound consumer opened for a channel message, once it holds ``text``.

    Waiting for it (rather than opening the conversation from the test at the same moment) keeps
    two threads from writing one item at once: moto, unlike DynamoDB, does not serialise them.
    """

    def found() -> str | None:
        for c in api.get("/v1/conversations", token).body["items"]:
            if c["kind"] == "dm" and c["last_preview"] == text:
                return str(c["conversation_id"])
        return None

    return str(eventually(found))


def test_the_handshake_answers_echostr_only_when_signed(api: Api) -> None:
    ok = api.get(f"/v1/webhooks/wechat?{_wechat_query(echostr='hello-123')}")
    assert ok.status == 200 and ok.body == "hello-123"
    forged = api.get("/v1/webhooks/wechat?timestamp=1&nonce=2&signature=deadbeef&echostr=x")
    assert forged.status == 403


def test_a_wechat_text_reaches_the_worker_once_however_often_it_is_delivered(
    api: Api, demo: dict[str, Any], pump: EventPump, sandbox: SandboxServer
) -> None:
    wang = token_of(demo, "wangwei")
    openid = _link_wechat(api, wang, "wang-wei-phone")
    body = _text_xml(openid, "楼上漏水了，请帮忙联系房东", "10001")
    for _ in range(3):  # WeChat retries until it hears back in time
        answer = _post_wechat(api, body)
        assert answer.status == 200 and answer.body == "success"
    worker = token_of(demo, "wangxiaomin")
    dm = _dm_with_message(api, worker, "楼上漏水了，请帮忙联系房东")
    time.sleep(1.0)  # give any duplicate the time to arrive
    messages = api.get(f"/v1/conversations/{dm}/messages", worker).body["items"]
    assert [(m["text"], m["channel"], m["sender_id"]) for m in messages] == [
        ("楼上漏水了，请帮忙联系房东", "wechat", WANG_WEI.user_id)
    ]
    # the worker answers in the app; the resident gets it back on WeChat
    api.post(f"/v1/conversations/{dm}/messages", {"text": "已联系房东，马上上门"}, worker)
    sent = eventually(lambda: sandbox.outbox.items(channel="wechat", to=openid))
    assert sent[-1]["kind"] == "custom" and "已联系房东" in json.dumps(sent[-1]["payload"], ensure_ascii=False)


def test_a_bad_wechat_signature_is_403_and_changes_nothing(api: Api, demo: dict[str, Any], pump: EventPump) -> None:
    wang = token_of(demo, "wangwei")
    openid = _link_wechat(api, wang, "wang-wei-phone")
    forged = _post_wechat(api, _text_xml(openid, "伪造", "10002"), "timestamp=1&nonce=2&signature=bad")
    assert forged.status == 403
    time.sleep(0.5)  # had it been queued, the pump would have delivered it by now
    listed = api.get("/v1/conversations", token_of(demo, "wangxiaomin")).body["items"]
    assert all(c["last_preview"] != "伪造" for c in listed)


def test_safe_mode_messages_are_decrypted(api: Api, demo: dict[str, Any], pump: EventPump) -> None:
    wang = token_of(demo, "wangwei")
    openid = _link_wechat(api, wang, "wang-wei-phone")
    settings = get_settings()
    crypto = WeChatCrypto(settings.wechat_token or "", settings.wechat_aes_key or "", settings.wechat_app_id)
    timestamp, nonce = str(int(time.time())), "n1"
    sealed = crypto.encrypt(_text_xml(openid, "加密模式的消息", "10003").decode(), nonce, timestamp)
    body = f"<xml><ToUserName><![CDATA[{US}]]></ToUserName><Encrypt><![CDATA[{sealed['Encrypt']}]]></Encrypt></xml>"
    query = urlencode(
        {
            "timestamp": timestamp,
            "nonce": nonce,
            "encrypt_type": "aes",
            "msg_signature": sealed["MsgSignature"],
            "signature": "unused-in-safe-mode",
        }
    )
    assert _post_wechat(api, body.encode(), query).status == 200
    _dm_with_message(api, wang, "加密模式的消息")
    tampered = urlencode({"timestamp": timestamp, "nonce": nonce, "encrypt_type": "aes", "msg_signature": "0" * 40})
    assert _post_wechat(api, body.encode(), tampered).status == 403


def test_a_wechat_text_starting_with_baoshi_files_a_report(api: Api, demo: dict[str, Any], pump: EventPump) -> None:
    wang = token_of(demo, "wangwei")
    openid = _link_wechat(api, wang, "wang-wei-phone")
    _post_wechat(api, _text_xml(openid, "报事 一宿舍楼道灯坏了", "10004"))
    reports = eventually(lambda: api.get("/v1/me/reports", wang).body["items"])
    assert reports[0]["description"] == "一宿舍楼道灯坏了" and reports[0]["channel"] == "wechat"
    assert reports[0]["grid_id"] == f"{XINMINZHULU}.g01"


def test_an_unknown_wechat_user_is_told_how_to_bind(
    api: Api, demo: dict[str, Any], pump: EventPump, sandbox: SandboxServer
) -> None:
    _post_wechat(api, _text_xml("o-stranger", "你好", "10005"))
    told = eventually(lambda: sandbox.outbox.items(channel="wechat", to="o-stranger"))
    assert "绑定" in json.dumps(told[0]["payload"], ensure_ascii=False)


def _post_sms(api: Api, params: dict[str, str], sign: bool = True) -> Any:
    url = f"{get_settings().public_base_url}/v1/webhooks/sms"
    signature = twilio_signature(url, {k: [v] for k, v in params.items()}, get_settings().sms_auth_token or "")
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature if sign else "forged",
    }
    return api.call("POST", "/v1/webhooks/sms", raw=urlencode(params).encode(), headers=headers)


def _sms(sid: str, sender: str, body: str) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "AccountSid": "AC-local",
        "From": sender,
        "To": "+8610690000",
        "Body": body,
        "NumMedia": "0",
    }


def test_an_sms_starting_with_baoshi_files_a_report_and_bad_signatures_are_refused(
    api: Api, demo: dict[str, Any], pump: EventPump
) -> None:
    assert _post_sms(api, _sms("SM1", WANG_WEI.phone, "报事 4单元8楼漏水"), sign=False).status == 403
    answer = _post_sms(api, _sms("SM2", WANG_WEI.phone, "报事 4单元8楼漏水"))
    assert answer.status == 200 and "<Response" in str(answer.body)
    wang = token_of(demo, "wangwei")
    reports = eventually(lambda: api.get("/v1/me/reports", wang).body["items"])
    assert [(r["description"], r["channel"]) for r in reports] == [("4单元8楼漏水", "sms")]


def test_stop_switches_sms_off_and_nothing_more_is_sent_by_sms(
    api: Api, demo: dict[str, Any], pump: EventPump, sandbox: SandboxServer
) -> None:
    wang = token_of(demo, "wangwei")
    _post_sms(api, _sms("SM3", WANG_WEI.phone, "请问电梯什么时候修好"))
    dm = _dm_with_message(api, wang, "请问电梯什么时候修好")
    stop = _post_sms(api, _sms("SM4", WANG_WEI.phone, "退订"))
    assert "已退订" in str(stop.body)
    sandbox.outbox.clear()
    worker = token_of(demo, "wangxiaomin")
    api.post(f"/v1/conversations/{dm}/messages", {"text": "明天修好"}, worker)
    eventually(lambda: api.get("/v1/me/notifications", wang).body["items"])  # in-app still arrives
    time.sleep(1.0)
    assert sandbox.outbox.items(channel="sms", to=WANG_WEI.phone) == []
    _post_sms(api, _sms("SM5", WANG_WEI.phone, "START"))
    api.post(f"/v1/conversations/{dm}/messages", {"text": "已修好"}, worker)
    by_sms = eventually(lambda: sandbox.outbox.items(channel="sms", to=WANG_WEI.phone))
    assert "已修好" in by_sms[-1]["body"]


def test_a_failing_record_is_the_only_one_retried(api: Api, demo: dict[str, Any]) -> None:
    from app import app

    good = {
        "notification_id": "01JZZZZZZZZZZZZZZZZZZZZZZZ",
        "user_id": WANG_WEI.user_id,
        "kind": "test",
        "title": "好",
        "body": "好",
        "created_at": "2020-01-25T09:00:00+00:00",
        "data": {},
    }
    with Client(app) as client:
        event = client.events.generate_sqs_event(
            queue_name=get_settings().queue_name("notifications"), message_bodies=[json.dumps(good), "{not json"]
        )
        ids = [record["messageId"] for record in event["Records"]]
        answer = client.lambda_.invoke("deliver_notifications", event).payload
    assert answer == {"batchItemFailures": [{"itemIdentifier": ids[1]}]}
    inbox = api.get("/v1/me/notifications", token_of(demo, "wangwei")).body["items"]
    assert [n["notification_id"] for n in inbox] == [good["notification_id"]]
