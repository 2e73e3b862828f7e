"""What residents type on a channel: 报事 requests, STOP/START, and the message's dedupe key."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.domain.channels import InboundMessage, is_report_request, opt_out_command, report_text

SENT = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("报事 楼道灯坏了", "楼道灯坏了"),
        ("报事：3号楼电梯停了。", "3号楼电梯停了。"),
        ("【报事】东门积水严重", "东门积水严重"),
        ("  #报事# 垃圾没人收  ", "垃圾没人收"),
        ("\ufeff报事,井盖丢了", "井盖丢了"),
        ("报事", ""),
        ("【报事】", ""),
    ],
)
def test_a_message_starting_with_baoshi_is_a_report_and_the_rest_is_its_description(
    text: str, description: str
) -> None:
    assert report_text(text) == description
    assert is_report_request(text)


@pytest.mark.parametrize("text", ["楼道灯坏了，报事", "你好", "", None, "报 事", "【投诉】噪音"])
def test_a_message_not_starting_with_baoshi_is_not_a_report(text: str | None) -> None:
    assert report_text(text) is None
    assert not is_report_request(text)


@pytest.mark.parametrize(
    "text",
    ["STOP", "stop", " Stop \n", "UNSUBSCRIBE", "退订", "取消", "退订。", "ＳＴＯＰ", "TD", "t", "StopAll", "cancel"],
)
def test_stop_words_opt_out(text: str) -> None:
    assert opt_out_command(text) == "stop"


@pytest.mark.parametrize("text", ["START", "start", " Start ", "订阅", "UNSTOP", "ｓｔａｒｔ"])
def test_start_words_opt_back_in(text: str) -> None:
    assert opt_out_command(text) == "start"


@pytest.mark.parametrize(
    "text", ["please stop", "STOP sending", "退订吧谢谢", "yes", "不要取消我的报事", "", None, "stopp", "报事 stop"]
)
def test_only_a_whole_message_of_one_keyword_is_a_command(text: str | None) -> None:
    assert opt_out_command(text) is None


def _message(**changes: object) -> InboundMessage:
    fields: dict[str, object] = {
        "channel": "wechat",
        "sender": "oUser1",
        "to": "gh_account",
        "kind": "text",
        "created_at": SENT,
        "text": "你好",
        "message_id": "6054768590064713728",
    }
    fields.update(changes)
    return InboundMessage(**fields)  # type: ignore[arg-type]


def test_messages_dedupe_by_their_id_and_events_by_sender_and_time() -> None:
    assert _message().dedupe_key == "wechat#msg#6054768590064713728"
    assert _message(kind="event", event="subscribe", message_id=None).dedupe_key == (
        f"wechat#evt#oUser1#{int(SENT.timestamp())}"
    )
    sms = _message(channel="sms", sender="+8613800000001", message_id="SM0123456789abcdef0123456789abcdef")
    assert sms.dedupe_key == "sms#msg#SM0123456789abcdef0123456789abcdef"


def test_two_deliveries_of_one_event_share_a_key_and_two_events_do_not() -> None:
    first = _message(kind="event", event="CLICK", event_key="REPORT", message_id=None)
    again = _message(kind="event", event="CLICK", event_key="REPORT", message_id=None)
    later = _message(kind="event", event="CLICK", message_id=None, created_at=datetime(2024, 5, 1, 8, 31, tzinfo=UTC))
    assert first.dedupe_key == again.dedupe_key
    assert first.dedupe_key != later.dedupe_key


def test_a_message_time_must_carry_a_zone() -> None:
    with pytest.raises(ValueError, match="time zone"):
        _message(created_at=datetime(2024, 5, 1, 8, 30))


def test_media_url_is_the_first_attachment() -> None:
    assert _message(media_urls=("https://a/1.jpg", "https://a/2.jpg")).media_url == "https://a/1.jpg"
    assert _message().media_url is None
