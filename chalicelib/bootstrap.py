"""The composition root: use cases wired to their AWS adapters, built on first use and kept warm.

Entry points call these getters; nothing is built (and nothing calls AWS) at import time.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from chalicelib.adapters import secrets
from chalicelib.adapters.chat import DynamoChannelPrefs, DynamoChat
from chalicelib.adapters.definitions import ESCALATION, INBOUND, NOTIFICATIONS, PHOTOS
from chalicelib.adapters.ephemeral import DynamoOneTimeCodes, DynamoRateLimiter
from chalicelib.adapters.inbox import DynamoAccessLog, DynamoInbox, SqsNotificationPublisher
from chalicelib.adapters.intake import DynamoOnce, DynamoTokenCache, SqsInboundQueue
from chalicelib.adapters.people import (
    DynamoJoinCodeRepository,
    DynamoUnitRepository,
    DynamoUserRepository,
    user_from_image,
)
from chalicelib.adapters.providers import HttpSmsSender, HttpWeChatLogin
from chalicelib.adapters.reports import (
    DynamoCategories,
    DynamoCounters,
    DynamoReportRepository,
    S3Photos,
    StepFunctionsEscalation,
    report_from_image,
)
from chalicelib.adapters.tokens import JwtTokens
from chalicelib.adapters.wechat import WeChatApi, WeChatCrypto
from chalicelib.domain.users import User
from chalicelib.services.auth import AuthService, OtpPolicy, principal_of
from chalicelib.services.categories import CategoryService
from chalicelib.services.chat import ChatPolicy, ChatService
from chalicelib.services.delivery import ChannelDelivery
from chalicelib.services.inbound import InboundService, Intake, SmsOptOuts
from chalicelib.services.membership import JoinPolicy, MembershipService
from chalicelib.services.notifications import BindingEvents, NotificationService
from chalicelib.services.report_events import ReportEvents
from chalicelib.services.reports import ReportPolicy, ReportService
from chalicelib.services.units import UnitService
from chalicelib.settings import Settings, get_settings


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


CLOCK = SystemClock()


def _derived_key(settings: Settings, purpose: str) -> bytes:
    """A key for one purpose, derived from the JWT secret so each purpose's key differs."""
    return hmac.new(secrets.jwt_secret(settings).encode(), purpose.encode(), hashlib.sha256).digest()


@lru_cache(maxsize=1)
def tokens() -> JwtTokens:
    settings = get_settings()
    return JwtTokens(secrets.jwt_secret(settings), settings.token_ttl_seconds)


def token_for(user: User) -> tuple[str, datetime]:
    """A fresh token for ``user`` (after binding changes their scope); needs only the JWT key."""
    return tokens().issue(principal_of(user), CLOCK.now())


@lru_cache(maxsize=1)
def phone_key() -> bytes:
    return secrets.phone_hash_key(get_settings()).encode()


@lru_cache(maxsize=1)
def join_code_key() -> bytes:
    return _derived_key(get_settings(), "join-codes")


@lru_cache(maxsize=1)
def users() -> DynamoUserRepository:
    return DynamoUserRepository()


@lru_cache(maxsize=1)
def auth_service() -> AuthService:
    settings = get_settings()
    return AuthService(
        users=users(),
        codes=DynamoOneTimeCodes(CLOCK),
        limiter=DynamoRateLimiter(CLOCK),
        sms=sms_sender(),
        wechat=HttpWeChatLogin(settings.wechat_api_base, settings.wechat_app_id, secrets.wechat_app_secret(settings)),
        tokens=tokens(),
        clock=CLOCK,
        phone_key=phone_key(),
        policy=OtpPolicy(
            ttl_seconds=settings.otp_ttl_seconds,
            max_tries=settings.otp_max_tries,
            per_minute=settings.otp_per_minute,
            per_day=settings.otp_per_day,
        ),
    )


@lru_cache(maxsize=1)
def unit_service() -> UnitService:
    return UnitService(DynamoUnitRepository(), users(), CLOCK, phone_key())


@lru_cache(maxsize=1)
def membership_service() -> MembershipService:
    settings = get_settings()
    return MembershipService(
        units=DynamoUnitRepository(),
        users=users(),
        join_codes=DynamoJoinCodeRepository(),
        access_log=DynamoAccessLog(),
        clock=CLOCK,
        code_key=join_code_key(),
        phone_key=phone_key(),
        policy=JoinPolicy(ttl_seconds=settings.join_code_ttl_seconds, max_uses=settings.join_code_max_uses),
    )


@lru_cache(maxsize=1)
def notification_service() -> NotificationService:
    return NotificationService(DynamoInbox())


@lru_cache(maxsize=1)
def binding_events() -> BindingEvents:
    publisher = SqsNotificationPublisher(get_settings().queue_name(NOTIFICATIONS.logical))
    return BindingEvents(users(), publisher, user_from_image)


@lru_cache(maxsize=1)
def category_service() -> CategoryService:
    return CategoryService(DynamoCategories())


@lru_cache(maxsize=1)
def report_service() -> ReportService:
    settings = get_settings()
    return ReportService(
        reports=DynamoReportRepository(),
        categories=category_service(),
        units=DynamoUnitRepository(),
        users=users(),
        photos=S3Photos(PHOTOS.name(settings)),
        clock=CLOCK,
        policy=ReportPolicy(
            deadline_scale=settings.deadline_scale,
            autoclose_days=settings.autoclose_days,
            photo_max_bytes=settings.photo_max_bytes,
        ),
    )


@lru_cache(maxsize=1)
def report_events() -> ReportEvents:
    settings = get_settings()
    return ReportEvents(
        reports=DynamoReportRepository(),
        units=DynamoUnitRepository(),
        users=users(),
        workflow=StepFunctionsEscalation(settings.state_machine_arn(ESCALATION.logical)),
        counters=DynamoCounters(),
        publisher=SqsNotificationPublisher(settings.queue_name(NOTIFICATIONS.logical)),
        decode=report_from_image,
    )


@lru_cache(maxsize=1)
def chat_service() -> ChatService:
    settings = get_settings()
    return ChatService(
        chat=DynamoChat(),
        users=users(),
        units=DynamoUnitRepository(),
        reports=DynamoReportRepository(),
        photos=S3Photos(PHOTOS.name(settings)),
        clock=CLOCK,
        policy=ChatPolicy(photo_max_bytes=settings.photo_max_bytes),
    )


@lru_cache(maxsize=1)
def channel_prefs() -> DynamoChannelPrefs:
    return DynamoChannelPrefs()


@lru_cache(maxsize=1)
def wechat_token() -> str:
    return secrets.wechat_token(get_settings())


@lru_cache(maxsize=1)
def sms_auth_token() -> str:
    return secrets.sms_auth_token(get_settings())


@lru_cache(maxsize=1)
def wechat_crypto() -> WeChatCrypto:
    settings = get_settings()
    aes_key = secrets.wechat_aes_key(settings)
    if aes_key is None:
        raise RuntimeError("WeChat safe mode is not configured (WECHAT_AES_KEY or WECHAT_AES_KEY_PARAM)")
    return WeChatCrypto(wechat_token(), aes_key, settings.wechat_app_id)


@lru_cache(maxsize=1)
def sms_sender() -> HttpSmsSender:
    settings = get_settings()
    return HttpSmsSender(settings.sms_api_base, settings.sms_account_sid, sms_auth_token(), settings.sms_from)


@lru_cache(maxsize=1)
def wechat_api() -> WeChatApi:
    settings = get_settings()
    return WeChatApi(
        settings.wechat_api_base, settings.wechat_app_id, secrets.wechat_app_secret(settings), DynamoTokenCache(), CLOCK
    )


@lru_cache(maxsize=1)
def intake() -> Intake:
    marks = DynamoOnce(CLOCK, "inbound", timedelta(days=2))
    return Intake(marks, SqsInboundQueue(get_settings().queue_name(INBOUND.logical)))


@lru_cache(maxsize=1)
def sms_opt_outs() -> SmsOptOuts:
    return SmsOptOuts(channel_prefs(), CLOCK, phone_key())


@lru_cache(maxsize=1)
def inbound_service() -> InboundService:
    return InboundService(
        users=users(),
        chat=chat_service(),
        reports=report_service(),
        prefs=channel_prefs(),
        sms=sms_sender(),
        wechat=wechat_api(),
        clock=CLOCK,
        phone_key=phone_key(),
    )


@lru_cache(maxsize=1)
def channel_delivery() -> ChannelDelivery:
    return ChannelDelivery(
        users=users(),
        prefs=channel_prefs(),
        sms=sms_sender(),
        wechat=wechat_api(),
        sent=DynamoOnce(CLOCK, "sent", timedelta(days=2)),
        phone_key=phone_key(),
        template_id=get_settings().wechat_template_id,
    )


def reset() -> None:
    """Forget every built service (tests build a fresh world per test)."""
    for getter in (
        tokens,
        phone_key,
        join_code_key,
        users,
        auth_service,
        unit_service,
        membership_service,
        notification_service,
        binding_events,
        category_service,
        report_service,
        report_events,
        chat_service,
        channel_prefs,
        wechat_token,
        sms_auth_token,
        wechat_crypto,
        sms_sender,
        wechat_api,
        intake,
        sms_opt_outs,
        inbound_service,
        channel_delivery,
    ):
        getter.cache_clear()
