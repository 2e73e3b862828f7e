"""The grid group and one-to-one conversations through the API, from the original system's
example: in 新民主路社区, water leaks from the flat above and the grid worker reaches the landlord."""

from __future__ import annotations

from typing import Any

from chalicelib.local.demo import PEOPLE, XINMINZHULU
from tests.integration.conftest import Api, token_of

G1 = f"{XINMINZHULU}.g01"
GROUP = f"grid~{G1}"


def _send(api: Api, token: str, conversation: str, text: str, expect: int = 201, key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key} if key else None
    answer = api.post(f"/v1/conversations/{conversation}/messages", {"text": text}, token, headers=headers)
    assert answer.status == expect, answer.body
    return answer.body


def test_the_grid_group_belongs_to_its_residents_and_workers(api: Api, demo: dict[str, Any]) -> None:
    wang, worker = token_of(demo, "wangwei"), token_of(demo, "wangxiaomin")
    sent = _send(api, wang, GROUP, "4单元8楼漏水到7楼，联系不到楼上租户！")
    assert sent["sender_id"] == PEOPLE[1].user_id and sent["message_id"].startswith(GROUP)
    reply = _send(api, worker, GROUP, "收到，我马上联系房东。")
    page = api.get(f"/v1/conversations/{GROUP}/messages", worker).body
    assert [m["text"] for m in page["items"]] == [reply["text"], sent["text"]]  # newest first
    assert [m["sender_name"] for m in page["items"]] == ["王晓敏", "王伟"]
    newer = api.get(f"/v1/conversations/{GROUP}/messages?after={sent['key']}", wang).body
    assert [m["message_id"] for m in newer["items"]] == [reply["message_id"]]
    outsider = token_of(demo, "chenwen")  # 东亭社区: not in this grid
    assert api.get(f"/v1/conversations/{GROUP}/messages", outsider).status == 403
    assert _send(api, outsider, GROUP, "hello", expect=403)


def test_unread_counts_come_from_pointers(api: Api, demo: dict[str, Any]) -> None:
    wang, worker = token_of(demo, "wangwei"), token_of(demo, "wangxiaomin")
    _send(api, wang, GROUP, "第一条")
    api.post(f"/v1/conversations/{GROUP}/read", token=worker)
    _send(api, wang, GROUP, "第二条")
    _send(api, wang, GROUP, "第三条")
    mine = {c["conversation_id"]: c for c in api.get("/v1/conversations", worker).body["items"]}
    assert mine[GROUP]["unread"] == 2 and mine[GROUP]["last_preview"] == "第三条"
    assert {c["conversation_id"]: c for c in api.get("/v1/conversations", wang).body["items"]}[GROUP]["unread"] == 0
    assert api.post(f"/v1/conversations/{GROUP}/read", token=worker).status == 204
    assert {c["conversation_id"]: c for c in api.get("/v1/conversations", worker).body["items"]}[GROUP]["unread"] == 0


def test_a_resident_opens_one_conversation_with_their_grid_worker(api: Api, demo: dict[str, Any]) -> None:
    wang = token_of(demo, "wangwei")
    first = api.post("/v1/conversations/direct", {}, wang)
    again = api.post("/v1/conversations/direct", {}, wang)
    assert first.status == again.status == 201
    assert first.body["conversation_id"] == again.body["conversation_id"]
    assert first.body["peer_id"] == PEOPLE[3].user_id  # 王晓敏
    dm = first.body["conversation_id"]
    _send(api, wang, dm, "王网格员，楼上房东电话是多少？")
    worker_view = {
        c["conversation_id"]: c for c in api.get("/v1/conversations", token_of(demo, "wangxiaomin")).body["items"]
    }
    assert worker_view[dm]["unread"] == 1
    assert api.get(f"/v1/conversations/{dm}/messages", token_of(demo, "chenwen")).status == 404


def test_a_retried_send_with_the_same_key_posts_once(api: Api, demo: dict[str, Any]) -> None:
    wang = token_of(demo, "wangwei")
    first = _send(api, wang, GROUP, "只发一次", key="msg-1")
    again = _send(api, wang, GROUP, "只发一次", key="msg-1")
    assert first["message_id"] == again["message_id"]
    assert len(api.get(f"/v1/conversations/{GROUP}/messages", wang).body["items"]) == 1


def test_staff_hide_a_message_and_residents_see_a_placeholder(api: Api, demo: dict[str, Any]) -> None:
    wang, worker = token_of(demo, "wangwei"), token_of(demo, "wangxiaomin")
    sent = _send(api, wang, GROUP, "广告：低价装修")
    assert api.post(f"/v1/messages/{sent['message_id']}/hide", {"reason": "广告"}, wang).status == 403
    hidden = api.post(f"/v1/messages/{sent['message_id']}/hide", {"reason": "广告"}, worker)
    assert hidden.status == 200 and hidden.body["hidden"] is True
    seen_by_resident = api.get(f"/v1/conversations/{GROUP}/messages", wang).body["items"][0]
    assert seen_by_resident["text"] == "该消息已被隐藏" and seen_by_resident["hidden"] is True
    seen_by_staff = api.get(f"/v1/conversations/{GROUP}/messages", worker).body["items"][0]
    assert seen_by_staff["text"] == "广告：低价装修" and seen_by_staff["hidden_reason"] == "广告"


def test_bad_messages_are_refused_and_change_nothing(api: Api, demo: dict[str, Any]) -> None:
    wang = token_of(demo, "wangwei")
    empty = api.post(f"/v1/conversations/{GROUP}/messages", {"text": "  "}, wang)
    assert empty.status == 422 and empty.body["error"]["details"][0]["field"] == "text"
    forged = api.post(f"/v1/conversations/{GROUP}/messages", {"kind": "image", "image_key": "chat/other/x.jpg"}, wang)
    assert forged.status == 422
    assert api.get(f"/v1/conversations/{GROUP}/messages", wang).body["items"] == []
    assert api.get("/v1/conversations/nonsense/messages", wang).status == 404


def test_sending_too_fast_is_limited(api: Api, demo: dict[str, Any]) -> None:
    wang = token_of(demo, "wangwei")
    # 30 a minute: 61 sends overflow a window even if a minute boundary falls in the middle.
    statuses = [api.post(f"/v1/conversations/{GROUP}/messages", {"text": f"#{i}"}, wang).status for i in range(61)]
    assert set(statuses) == {201, 429} and statuses.count(201) <= 60
    stored = api.get(f"/v1/conversations/{GROUP}/messages?limit=100", wang).body["items"]
    assert len(stored) == statuses.count(201)  # a refused message leaves nothing behind


def test_a_newcomer_starts_with_the_groups_history_read(api: Api, demo: dict[str, Any]) -> None:
    wang = token_of(demo, "wangwei")
    for text in ("旧消息一", "旧消息二"):
        _send(api, wang, GROUP, text)
    newcomer = api.post("/v1/auth/dev-token", {"role": "resident", "scope": G1}).body["token"]
    first_look = {c["conversation_id"]: c for c in api.get("/v1/conversations", newcomer).body["items"]}
    assert first_look[GROUP]["unread"] == 0
    _send(api, wang, GROUP, "欢迎新邻居")
    later = {c["conversation_id"]: c for c in api.get("/v1/conversations", newcomer).body["items"]}
    assert later[GROUP]["unread"] == 1
