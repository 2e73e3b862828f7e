from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.auth import Principal, Role
from chalicelib.domain.channels import InboundMessage
from chalicelib.domain.chat import (
    ConversationKind,
    MessageContent,
    MessageKind,
    check_member,
    direct_conversation_id,
    grid_conversation_id,
    my_grid_group,
    parse_conversation_id,
    split_message_id,
)
from chalicelib.domain.errors import Forbidden, InvalidInput, NotFound
from chalicelib.domain.notifications import Notification
from chalicelib.services.auth import phone_identity
from chalicelib.services.delivery import ChannelDelivery
from chalicelib.services.inbound import Intake, SmsOptOuts
from tests.fakes import T0
from tests.unit.conftest import G1, G2, PHONE_KEY, World

GROUP = grid_conversation_id(G1)


def test_conversation_ids_say_who_belongs() -> None:
    assert direct_conversation_id("b", "a") == direct_conversation_id("a", "b") == "dm~a~b"
    assert parse_conversation_id(GROUP).grid_id == G1
    assert parse_conversation_id("dm~a~b").members == ("a", "b")
    assert parse_conversation_id("report~01J").kind is ConversationKind.REPORT
    with pytest.raises(NotFound):
        parse_conversation_id("dm~a~a")
    assert split_message_id(f"{GROUP}~01JZZZZZZZZZZZZZZZZZZZZZZZ") == (GROUP, "01JZZZZZZZZZZZZZZZZZZZZZZZ")


@pytest.mark.parametrize(
    ("principal", "allowed"),
    [
        (Principal("r", Role.RESIDENT, G1), True),
        (Principal("r", Role.RESIDENT, G2), False),
        (Principal("w", Role.GRID_WORKER, G1), True),
        (Principal("d", Role.DEPT_STAFF, G1, department="城管"), True),
        (Principal("c", Role.COMMUNITY_ADMIN, "wuhan.wuchang.shuiguohu.dongting"), True),
        (Principal("s", Role.STREET_ADMIN, "wuhan.wuchang.zhongnanlu"), False),
    ],
)
def test_the_grid_group_follows_binding_and_scope(principal: Principal, allowed: bool) -> None:
    ref = parse_conversation_id(GROUP)
    if allowed:
        check_member(principal, ref)
    else:
        with pytest.raises(Forbidden):
            check_member(principal, ref)


def test_a_one_to_one_is_private_and_listed_groups_are_the_own_grid() -> None:
    with pytest.raises(NotFound):
        check_member(Principal("c", Role.RESIDENT, G1), parse_conversation_id("dm~a~b"))
    assert my_grid_group(Principal("r", Role.RESIDENT, G1)) == GROUP
    assert my_grid_group(Principal("c", Role.COMMUNITY_ADMIN, "wuhan.wuchang.shuiguohu.dongting")) is None


def test_message_content_is_checked() -> None:
    MessageContent(MessageKind.TEXT, text="你好").check(GROUP)
    with pytest.raises(InvalidInput):
        MessageContent(MessageKind.TEXT, text="x" * 2001).check(GROUP)
    with pytest.raises(InvalidInput):
        MessageContent(MessageKind.IMAGE, image_key="chat/elsewhere/1.jpg").check(GROUP)
    with pytest.raises(InvalidInput):
        MessageContent(MessageKind.LOCATION, lat=120.0, long=30.0).check(GROUP)


class _Sent:
    def __init__(self) -> None:
        self.marks: set[str] = set()

    def seen(self, key: str) -> bool:
        return key in self.marks

    def first_time(self, key: str) -> bool:
        if key in self.marks:
            return False
        self.marks.add(key)
        return True

    def forget(self, key: str) -> None:
        self.marks.discard(key)


class _WeChat:
    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []
        self.pushed: list[str] = []

    def send_text(self, openid: str, text: str) -> None:
        self.texts.append((openid, text))

    def send_subscribe_message(self, openid: str, template_id: str, page: str | None, data: dict[str, str]) -> None:
        self.pushed.append(openid)


class _Prefs:
    def __init__(self) -> None:
        self.opted_out: set[str] = set()

    def sms_opted_out(self, key: str) -> bool:
        return key in self.opted_out

    def set_sms_opt_out(self, key: str, opted_out: bool, at: object) -> None:
        (self.opted_out.add if opted_out else self.opted_out.discard)(key)


def _delivery(world: World) -> tuple[ChannelDelivery, _WeChat, _Prefs]:
    wechat, prefs = _WeChat(), _Prefs()
    return ChannelDelivery(world.users, prefs, world.sms, wechat, _Sent(), PHONE_KEY, "tpl"), wechat, prefs


def _note(user_id: str, channel: str, kind: str = "chat_message") -> Notification:
    return Notification("01JZZZZZZZZZZZZZZZZZZZZZZZ", user_id, kind, "王晓敏", "明天修好", T0, {"channel": channel})


def test_a_reply_goes_back_on_the_channel_the_resident_wrote_from_and_only_once(world: World) -> None:
    delivery, wechat, _ = _delivery(world)
    resident = world.resident()
    world.auth.sign_in_wechat("abc", resident)  # links the OpenID o-abc
    assert delivery.deliver(_note(resident.user_id, "wechat")).channel == "wechat"
    assert delivery.deliver(_note(resident.user_id, "wechat")).skipped == "sent before"
    assert wechat.texts == [("o-abc", "王晓敏\n明天修好")]


def test_no_sms_to_an_opted_out_number(world: World) -> None:
    delivery, _, prefs = _delivery(world)
    resident = world.resident()
    world.sms.sent.clear()
    prefs.opted_out.add(phone_identity(PHONE_KEY, "+8613800000001"))
    assert delivery.deliver(_note(resident.user_id, "sms")).skipped == "opted out of SMS"
    assert world.sms.sent == []
    prefs.opted_out.clear()
    assert delivery.deliver(_note(resident.user_id, "sms")).channel == "sms"
    assert world.sms.sent[-1][0] == "+8613800000001"


def test_stop_and_start_by_sms(world: World) -> None:
    prefs = _Prefs()
    opt = SmsOptOuts(prefs, world.clock, PHONE_KEY)
    sms = InboundMessage("sms", "+8613800000001", "+8610690000", "text", T0, text="退订", message_id="SM1")
    assert opt.apply(sms) is not None and prefs.opted_out
    assert opt.apply(InboundMessage("sms", "+8613800000001", "x", "text", T0, text="START")) is not None
    assert not prefs.opted_out
    assert opt.apply(InboundMessage("sms", "+8613800000001", "x", "text", T0, text="你好")) is None


def test_intake_queues_a_message_once_and_forgets_it_when_queueing_fails(world: World) -> None:
    queued: list[InboundMessage] = []

    class Queue:
        def __init__(self) -> None:
            self.down = False

        def put(self, message: InboundMessage) -> None:
            if self.down:
                raise ConnectionError("queue unavailable")
            queued.append(message)

    queue, marks = Queue(), _Sent()
    intake = Intake(marks, queue)
    message = InboundMessage("wechat", "o-abc", "gh", "text", T0, text="hi", message_id="1")
    assert intake.accept(message) and not intake.accept(message)
    assert len(queued) == 1
    queue.down = True
    other = InboundMessage("wechat", "o-abc", "gh", "text", T0 + timedelta(seconds=1), text="hi", message_id="2")
    with pytest.raises(ConnectionError):
        intake.accept(other)
    queue.down = False
    assert intake.accept(other)  # the provider's retry gets through
