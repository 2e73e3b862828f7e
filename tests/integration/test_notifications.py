"""The outbox path: a write's stream record → the notifications queue → the person's inbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.adapters.inbox import DynamoInbox
from chalicelib.domain.notifications import Notification
from chalicelib.local.demo import DONGTING, PEOPLE
from chalicelib.local.pump import EventPump
from tests.integration.conftest import Api, token_of
from tests.waiting import eventually

G1 = f"{DONGTING}.g01"


def test_binding_and_verification_reach_the_inboxes(api: Api, demo: dict[str, Any], pump: EventPump) -> None:
    worker = token_of(demo, "zhangxinxin")
    code = api.post(f"/v1/grids/{G1}/join-codes", {}, worker).body["code"]
    resident = api.post("/v1/auth/dev-token", {"role": "resident"}).body["token"]
    bound = api.post("/v1/me/binding", {"code": code, "building": "15", "unit": "2", "room": "301"}, resident)
    token, user_id = bound.body["token"], bound.body["user"]["user_id"]

    pending = eventually(lambda: api.get("/v1/me/notifications", worker).body["items"])
    assert pending[0]["kind"] == "resident_pending" and pending[0]["data"]["user_id"] == user_id
    api.post(f"/v1/grids/{G1}/residents/{user_id}/verification", {"decision": "verify"}, worker)
    inbox = eventually(lambda: (body := api.get("/v1/me/notifications", token).body)["items"] and body)
    assert inbox["unread"] == 1 and inbox["items"][0]["title"] == "网格认证通过"
    read = api.post("/v1/me/notifications/read", {"up_to": inbox["items"][0]["notification_id"]}, token)
    assert read.status == 204
    after = api.get("/v1/me/notifications", token).body
    assert after["unread"] == 0 and after["items"][0]["read"] is True


def test_a_notification_delivered_twice_lands_once(moto_world: object) -> None:
    inbox = DynamoInbox()
    note = Notification("01JZZZZZZZZZZZZZZZZZZZZZZZ", PEOPLE[0].user_id, "test", "标题", "内容", datetime.now(UTC))
    assert inbox.deliver(note) is True
    assert inbox.deliver(note) is False
    page, unread, _ = inbox.page(PEOPLE[0].user_id, 10, None)
    assert unread == 1 and [n.notification_id for n in page.items] == [note.notification_id]
