"""Messages residents send us on a chat channel (WeChat, SMS), and the commands they type in them.

Pure Python: the adapters turn each provider's webhook into an ``InboundMessage``; the use cases
read only this.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from .errors import InvalidInput

Channel = Literal["wechat", "sms"]
# "other" is a message type we do not act on (video, link, a mini-program card...): it must still
# parse, so the webhook can answer "success" and the provider stops retrying it.
MessageKind = Literal["text", "image", "voice", "location", "event", "other"]
OptCommand = Literal["stop", "start"]

REPORT_KEYWORD = "报事"

# Twilio's default opt-out and opt-in keywords (its own layer blocks on them, so we must agree),
# and the Chinese replies residents know from carriers' "回T退订". "YES" is left out on purpose:
# in a chat it is an answer, not a subscription.
STOP_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "退订", "取消", "t", "td"})
START_WORDS = frozenset({"start", "unstop", "订阅"})


class MalformedMessage(InvalidInput):
    """A webhook body that is not a message of the channel's protocol (a 400; never retried)."""

    def __init__(self, message: str) -> None:
        super().__init__("body", message, code="malformed_message")


@dataclass(frozen=True)
class InboundMessage:
    """One message or event, as every channel delivers it.

    ``sender`` is the WeChat OpenID or the E.164 phone; ``to`` is our account or number.
    """

    channel: Channel
    sender: str
    to: str
    kind: MessageKind
    created_at: datetime
    text: str | None = None
    media_urls: tuple[str, ...] = ()
    media_id: str | None = None  # WeChat voice and images: fetched with the media API
    lat: float | None = None
    long: float | None = None
    event: str | None = None  # "subscribe", "CLICK", ...
    event_key: str | None = None
    message_id: str | None = None  # WeChat MsgId, Twilio MessageSid

    def __post_init__(self) -> None:
        if self.created_at.tzinfo is None:
            raise ValueError("created_at must carry a time zone")

    @property
    def media_url(self) -> str | None:
        return self.media_urls[0] if self.media_urls else None

    @property
    def dedupe_key(self) -> str:
        """The same for every delivery of one message: providers retry until we answer in time.

        WeChat events carry no MsgId; its documentation keys them by sender and CreateTime.
        """
        if self.kind != "event" and self.message_id:
            return f"{self.channel}#msg#{self.message_id}"
        return f"{self.channel}#evt#{self.sender}#{int(self.created_at.timestamp())}"


def report_text(text: str | None) -> str | None:
    """The description of a report when ``text`` asks to file one ("报事 楼道灯坏了", "【报事】…"), else None.

    An empty string means the resident asked to report but said nothing yet.
    """
    if not text:
        return None
    body = _strip_leading_separators(text)
    if not body.startswith(REPORT_KEYWORD):
        return None
    return _strip_leading_separators(body[len(REPORT_KEYWORD) :]).rstrip()


def is_report_request(text: str | None) -> bool:
    return report_text(text) is not None


def opt_out_command(text: str | None) -> OptCommand | None:
    """Return "stop" or "start" when the whole message is one of the opt-out or opt-in words."""
    if not text:
        return None
    # NFKC folds full-width letters (ＳＴＯＰ) from Chinese keyboards into ASCII.
    word = _strip_separators(unicodedata.normalize("NFKC", text)).casefold()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    return None


def _is_separator(char: str) -> bool:
    # Whitespace, punctuation (【】：#…), symbols (★) and invisible format characters (BOM, ZWSP).
    return char.isspace() or unicodedata.category(char)[0] in "PSZ" or unicodedata.category(char) in ("Cc", "Cf")


def _strip_leading_separators(text: str) -> str:
    index = 0
    while index < len(text) and _is_separator(text[index]):
        index += 1
    return text[index:]


def _strip_separators(text: str) -> str:
    end = len(text)
    while end > 0 and _is_separator(text[end - 1]):
        end -= 1
    return _strip_leading_separators(text[:end])
