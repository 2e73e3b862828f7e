"""Delivering a notification beyond the in-app inbox: WeChat or SMS, on the channel the person
uses, never by SMS to a number that sent STOP, and never twice for one notification."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chalicelib.domain.notifications import Notification
from chalicelib.domain.users import User
from chalicelib.services.auth import phone_identity
from chalicelib.services.ports import ChannelPrefs, SmsSender, UserRepository

# Kinds worth a WeChat subscribe message even when the person did not write to us by WeChat.
PUSHED_KINDS = frozenset({"report_status", "report_escalated", "binding_verified", "binding_refused", "chat_message"})


class WeChatSender(Protocol):
    def send_text(self, openid: str, text: str) -> None: ...

    def send_subscribe_message(self, openid: str, template_id: str, page: str | None, data: dict[str, str]) -> None: ...


class Once(Protocol):
    def seen(self, key: str) -> bool: ...

    def first_time(self, key: str) -> bool: ...


@dataclass(frozen=True)
class Sent:
    channel: str  # wechat | sms | none
    skipped: str | None = None  # why nothing went out (opted out, no account on that channel...)


class ChannelDelivery:
    def __init__(
        self,
        users: UserRepository,
        prefs: ChannelPrefs,
        sms: SmsSender,
        wechat: WeChatSender,
        sent: Once,
        phone_key: bytes,
        template_id: str,
    ) -> None:
        self._users = users
        self._prefs = prefs
        self._sms = sms
        self._wechat = wechat
        self._sent = sent
        self._phone_key = phone_key
        self._template_id = template_id

    def deliver(self, notification: Notification) -> Sent:
        """Send on the hinted channel (the one the person last wrote from), else push by WeChat
        for the kinds people want pushed. Provider errors propagate so the queue retries."""
        hint = str(notification.data.get("channel") or "")
        user = self._users.get(notification.user_id)
        if user is None or user.erased:
            return Sent("none", "no such person")
        channel = hint if hint in ("wechat", "sms") else ("wechat" if notification.kind in PUSHED_KINDS else "")
        if not channel:
            return Sent("none", "in-app only")
        marker = f"{notification.notification_id}#{channel}"
        if self._sent.seen(marker):
            return Sent(channel, "sent before")
        text = f"{notification.title}\n{notification.body}".strip()
        skipped = self._wechat_to(user, notification, text, hint) if channel == "wechat" else self._sms_to(user, text)
        if skipped:
            return Sent("none", skipped)
        self._sent.first_time(marker)
        return Sent(channel)

    def _wechat_to(self, user: User, notification: Notification, text: str, hint: str) -> str | None:
        if not user.wechat_openid:
            return "no WeChat account linked"
        if hint == "wechat":
            self._wechat.send_text(user.wechat_openid, text)  # a reply within WeChat's 48-hour window
        else:
            data = {"thing1": notification.title[:20], "thing2": notification.body[:20] or notification.title[:20]}
            self._wechat.send_subscribe_message(user.wechat_openid, self._template_id, "pages/index/index", data)
        return None

    def _sms_to(self, user: User, text: str) -> str | None:
        if not user.phone:
            return "no phone"
        if self._prefs.sms_opted_out(phone_identity(self._phone_key, user.phone)):
            return "opted out of SMS"
        self._sms.send(user.phone, f"【微邻里】{text}")
        return None
