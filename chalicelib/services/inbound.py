"""What a resident's WeChat or SMS message does: a chat message to their grid worker, a report
when it starts with 报事, STOP/START for SMS, and a hint to bind for people we do not know yet.

Runs from the inbound queue (the webhook only checks, acknowledges and queues). Every effect is
keyed on the message's dedupe key, so a provider's retry changes nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chalicelib.domain.channels import InboundMessage, opt_out_command, report_text
from chalicelib.domain.chat import MessageContent, MessageKind
from chalicelib.domain.errors import DomainError
from chalicelib.domain.reports import Channel, Location, Urgency
from chalicelib.domain.users import User
from chalicelib.services.auth import phone_identity, principal_of, wechat_identity
from chalicelib.services.chat import ChatService
from chalicelib.services.ids import derived_id
from chalicelib.services.ports import ChannelPrefs, Clock, SmsSender, UserRepository
from chalicelib.services.reports import NewReport, ReportService

BIND_HINT = "您好，您还没有绑定网格。请扫描所在网格的二维码，在“微邻里”中填写楼栋和房号完成绑定。"
WELCOME = "欢迎关注微邻里！扫描网格二维码即可加入网格群，直接发消息就能联系网格员；发送“报事+问题描述”即可上报。"
REPORT_HINT = "请直接回复“报事”加问题描述，例如：报事 15号楼墙角有建筑垃圾。"
STOPPED = "您已退订微邻里短信通知。回复 START 可重新订阅。"
STARTED = "您已重新订阅微邻里短信通知。"
REPORT_MENU_KEY = "REPORT"


class WeChatTexter(Protocol):
    def send_text(self, openid: str, text: str) -> None: ...


@dataclass(frozen=True)
class Outcome:
    action: str  # chat | report | bind_hint | welcome | report_hint | sms_stop | sms_start | ignored
    reference: str | None = None  # the message or report it made


class SmsOptOuts:
    """STOP / 退订 and START by SMS: handled at once by the webhook (which answers with the
    confirmation), and again harmlessly if such a message reaches the queue."""

    def __init__(self, prefs: ChannelPrefs, clock: Clock, phone_key: bytes) -> None:
        self._prefs = prefs
        self._clock = clock
        self._phone_key = phone_key

    def apply(self, message: InboundMessage) -> Outcome | None:
        if message.channel != "sms":
            return None
        command = opt_out_command(message.text)
        if command is None:
            return None
        key = phone_identity(self._phone_key, message.sender)
        self._prefs.set_sms_opt_out(key, command == "stop", self._clock.now())
        return Outcome("sms_stop" if command == "stop" else "sms_start")


class InboundService:
    def __init__(
        self,
        users: UserRepository,
        chat: ChatService,
        reports: ReportService,
        prefs: ChannelPrefs,
        sms: SmsSender,
        wechat: WeChatTexter,
        clock: Clock,
        phone_key: bytes,
    ) -> None:
        self._users = users
        self._chat = chat
        self._reports = reports
        self._prefs = prefs
        self._sms = sms
        self._wechat = wechat
        self._clock = clock
        self._phone_key = phone_key

    def handle(self, message: InboundMessage) -> Outcome:
        """Do what the message asks; reply on its channel where the person needs an answer."""
        if message.kind == "event":
            return self._event(message)
        if (opted := SmsOptOuts(self._prefs, self._clock, self._phone_key).apply(message)) is not None:
            return opted
        user = self._sender(message)
        if user is None or user.binding is None:
            self.reply(message, BIND_HINT)
            return Outcome("bind_hint")
        principal = principal_of(user)
        cause = derived_id(message.dedupe_key, message.created_at)
        description = report_text(message.text)
        if description is not None:
            if not description:
                self.reply(message, REPORT_HINT)
                return Outcome("report_hint")
            binding = user.binding
            new = NewReport(
                category="other",
                description=description,
                urgency=Urgency.NORMAL,
                location=Location(building=binding.building, unit=binding.unit, address=binding.address),
                channel=Channel.WECHAT if message.channel == "wechat" else Channel.SMS,
                ignore_duplicates=True,
                report_id=cause,
            )
            report = self._reports.file(principal, new)
            self.reply(message, f"已收到您的报事（编号 {report.report_id[-6:]}），网格员会尽快处理。")
            return Outcome("report", report.report_id)
        conversation, _ = self._chat.ensure_direct(principal, None)  # no need to read it back
        posted = self._chat.send(
            principal, conversation.conversation_id, self._content(message), channel=message.channel, key=cause
        )
        return Outcome("chat", posted.message_id)

    def reply(self, message: InboundMessage, text: str) -> None:
        """Answer on the channel the message came from (never by SMS to an opted-out number)."""
        if message.channel == "wechat":
            self._wechat.send_text(message.sender, text)
        elif not self._prefs.sms_opted_out(phone_identity(self._phone_key, message.sender)):
            self._sms.send(message.sender, text)

    def _event(self, message: InboundMessage) -> Outcome:
        event = (message.event or "").lower()
        if event == "subscribe":
            known = self._sender(message)
            self.reply(message, WELCOME if known and known.binding else f"{WELCOME}\n{BIND_HINT}")
            return Outcome("welcome")
        if event == "click" and message.event_key == REPORT_MENU_KEY:
            self.reply(message, REPORT_HINT)
            return Outcome("report_hint")
        return Outcome("ignored")

    def _sender(self, message: InboundMessage) -> User | None:
        if message.channel == "wechat":
            identity = wechat_identity(message.sender)
        else:
            identity = phone_identity(self._phone_key, message.sender)
        user = self._users.find_by_identity(identity)
        return None if user is None or user.erased else user

    @staticmethod
    def _content(message: InboundMessage) -> MessageContent:
        if message.kind == "location" and message.lat is not None and message.long is not None:
            return MessageContent(MessageKind.LOCATION, lat=message.lat, long=message.long)
        if message.kind == "image":
            return MessageContent(MessageKind.TEXT, text=f"[图片] {message.media_url or ''}".strip())
        if message.kind == "voice":
            return MessageContent(MessageKind.TEXT, text="[语音消息]")
        return MessageContent(MessageKind.TEXT, text=(message.text or "").strip()[:2000] or "[空消息]")


def failure_reply(error: DomainError) -> str:
    """What the person is told when their message could not be acted on."""
    return f"抱歉，消息未能处理：{error.message}"


class Marks(Protocol):
    def first_time(self, key: str) -> bool: ...

    def forget(self, key: str) -> None: ...


class InboundQueue(Protocol):
    def put(self, message: InboundMessage) -> None: ...


class Intake:
    """What a webhook does after the signature check: queue each message once."""

    def __init__(self, marks: Marks, queue: InboundQueue) -> None:
        self._marks = marks
        self._queue = queue

    def accept(self, message: InboundMessage) -> bool:
        """Queue a first delivery (True); a provider's retry of it is acknowledged and dropped."""
        if not self._marks.first_time(message.dedupe_key):
            return False
        try:
            self._queue.put(message)
        except Exception:
            # Not queued: forget the mark so the provider's retry gets another chance.
            self._marks.forget(message.dedupe_key)
            raise
        return True
