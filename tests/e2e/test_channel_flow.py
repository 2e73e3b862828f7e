"""The original system's example over HTTP on the local stack: in 新民主路社区 water leaks from the
flat above; the resident says so in the grid group, the grid worker answers there and one to one;
a WeChat text reaches the worker and the reply goes back through WeChat; an SMS starting with 报事
files a report that escalates like any other."""

from __future__ import annotations

import hashlib
import json
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from chalicelib.adapters.sms_webhook import twilio_signature
from tests.e2e.client import Http
from tests.e2e.conftest import PROJECT, LocalStackProcess
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
GROUP = "grid~wuhan.wuchang.zhongnanlu.xinminzhulu.g01"
LOCAL = json.loads(Path(PROJECT, ".chalice", "config.json").read_text())["stages"]["local"]["environment_variables"]


def _raw_post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    with urllib.request.urlopen(request, timeout=15) as response:
        return response.status, response.read().decode()


def _outbox(stack: LocalStackProcess, **filters: str) -> list[dict[str, Any]]:
    query = urllib.parse.urlencode(filters)
    with urllib.request.urlopen(f"{stack.sandbox}/_sandbox/outbox?{query}", timeout=10) as response:
        return list(json.loads(response.read())["items"])


def test_the_leak_is_solved_by_talking(local_stack: LocalStackProcess) -> None:
    http = Http(local_stack)
    wang = http.sign_in("+8613800000002")["token"]  # 王伟, 7th floor
    worker = http.sign_in("+8613900000002")["token"]  # 王晓敏, grid worker

    asked = http.post(f"/v1/conversations/{GROUP}/messages", {"text": "4单元8楼漏水到7楼，联系不到楼上租户"}, wang, 201)
    http.post(f"/v1/conversations/{GROUP}/messages", {"text": "收到，我来联系房东"}, worker, 201)
    group = http.get(f"/v1/conversations/{GROUP}/messages", wang)["items"]
    assert [m["text"] for m in group] == ["收到，我来联系房东", asked["text"]]
    dm = http.post("/v1/conversations/direct", {"with_user": asked["sender_id"]}, worker, 201)
    http.post(f"/v1/conversations/{dm['conversation_id']}/messages", {"text": "房东电话已找到，3分钟到"}, worker, 201)
    unread = {c["conversation_id"]: c["unread"] for c in http.get("/v1/conversations", wang)["items"]}
    assert unread[dm["conversation_id"]] == 1

    # 王伟 links WeChat and writes from there; the worker sees it and answers in the app.
    http.post("/v1/auth/wechat", {"code": "wangwei-wechat"}, wang)
    openid = "o" + hashlib.sha1(b"wangwei-wechat", usedforsecurity=False).hexdigest()[:27]
    timestamp, nonce = str(int(time.time())), "e2e"
    signature = hashlib.sha1(
        "".join(sorted([LOCAL["WECHAT_TOKEN"], timestamp, nonce])).encode(), usedforsecurity=False
    ).hexdigest()
    xml = (
        f"<xml><ToUserName><![CDATA[gh_weilinli]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[门开了，水龙头没关]]></Content><MsgId>900001</MsgId></xml>"
    )
    query = urllib.parse.urlencode({"timestamp": timestamp, "nonce": nonce, "signature": signature})
    status, answer = _raw_post(
        f"{local_stack.api}/v1/webhooks/wechat?{query}", xml.encode(), {"Content-Type": "text/xml"}
    )
    assert (status, answer) == (200, "success")
    dm_id = dm["conversation_id"]
    eventually(
        lambda: any(m["channel"] == "wechat" for m in http.get(f"/v1/conversations/{dm_id}/messages", worker)["items"]),
        timeout=30,
    )
    http.post(f"/v1/conversations/{dm_id}/messages", {"text": "好的，已处理"}, worker, 201)

    def replies() -> list[dict[str, Any]]:
        sent = _outbox(local_stack, channel="wechat", to=openid)
        return [m for m in sent if "已处理" in json.dumps(m["payload"], ensure_ascii=False)]

    back = eventually(replies, timeout=30)
    assert back[0]["kind"] == "custom"  # a reply on the channel he wrote from, within WeChat's 48 hours

    # An SMS starting with 报事 files a report that climbs like any other.
    params = {
        "MessageSid": "SMe2e1",
        "AccountSid": "AC-local",
        "From": "+8613800000002",
        "To": "+8610690000",
        "Body": "报事 楼道消防通道被杂物堵住",
        "NumMedia": "0",
    }
    url = f"{local_stack.api}/v1/webhooks/sms"
    sig = twilio_signature(url, {k: [v] for k, v in params.items()}, LOCAL["SMS_AUTH_TOKEN"])
    status, twiml = _raw_post(
        url,
        urllib.parse.urlencode(params).encode(),
        {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sig},
    )
    assert status == 200 and "<Response" in twiml
    report = eventually(
        lambda: next((r for r in http.get("/v1/me/reports", wang)["items"] if r["channel"] == "sms"), None), timeout=30
    )
    climbed = eventually(
        lambda: http.get(f"/v1/reports/{report['report_id']}", wang)["level"] != "grid", timeout=60, every=0.5
    )
    assert climbed
