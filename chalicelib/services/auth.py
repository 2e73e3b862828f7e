"""Sign-in: SMS one-time codes, WeChat mini-program login, and local development tokens."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass, replace
from datetime import datetime

from chalicelib.domain.auth import Principal, Role, check_role_scope
from chalicelib.domain.errors import Conflict, InvalidInput, RateLimited
from chalicelib.domain.tree import validate_path
from chalicelib.domain.users import User, normalize_phone
from chalicelib.services.ids import new_id
from chalicelib.services.ports import (
    Clock,
    OneTimeCodes,
    RateLimiter,
    SmsSender,
    TokenIssuer,
    UserRepository,
    WeChatLogin,
)

_MINUTE = 60
_DAY = 24 * 3600


@dataclass(frozen=True)
class OtpPolicy:
    ttl_seconds: int = 300
    max_tries: int = 5
    per_minute: int = 1
    per_day: int = 10


@dataclass(frozen=True)
class SignIn:
    token: str
    expires_at: datetime
    user: User
    created: bool


def principal_of(user: User) -> Principal:
    scope = user.scope
    if user.role is Role.RESIDENT:
        scope = user.binding.grid_id if user.binding is not None else ""
    return Principal(user_id=user.user_id, role=user.role, scope=scope, department=user.department)


def phone_identity(phone_key: bytes, phone: str) -> str:
    """The phone's sign-in identity: a keyed hash, so the index holds no phone numbers."""
    return "phone#" + hmac.new(phone_key, phone.encode(), hashlib.sha256).hexdigest()


def wechat_identity(openid: str) -> str:
    return f"wechat#{openid}"


class AuthService:
    def __init__(
        self,
        users: UserRepository,
        codes: OneTimeCodes,
        limiter: RateLimiter,
        sms: SmsSender,
        wechat: WeChatLogin,
        tokens: TokenIssuer,
        clock: Clock,
        phone_key: bytes,
        policy: OtpPolicy,
    ) -> None:
        self._users = users
        self._codes = codes
        self._limiter = limiter
        self._sms = sms
        self._wechat = wechat
        self._tokens = tokens
        self._clock = clock
        self._phone_key = phone_key
        self._policy = policy

    def request_sms_code(self, raw_phone: str) -> int:
        """Send a six-digit code to the phone; returns seconds until another may be asked for.

        The answer is the same whether or not the phone has an account, so it reveals nothing.
        """
        phone = normalize_phone(raw_phone)
        key = phone_identity(self._phone_key, phone)
        # The minute first, so a refused burst does not use up the day's allowance.
        self._limit(f"sms-min#{key}", self._policy.per_minute, _MINUTE, "codes for this phone this minute")
        self._limit(f"sms-day#{key}", self._policy.per_day, _DAY, "codes for this phone today")
        code = f"{secrets.randbelow(1_000_000):06d}"
        self._codes.store(key, self._code_hash(phone, code), self._policy.ttl_seconds)
        minutes = max(1, self._policy.ttl_seconds // 60)
        self._sms.send(phone, f"【微邻里】验证码 {code}，{minutes}分钟内有效。请勿告诉他人。")
        return _MINUTE // max(1, self._policy.per_minute)

    def verify_sms_code(self, raw_phone: str, code: str) -> SignIn:
        """Check the code (at most ``max_tries`` tries); sign in, creating the resident if new."""
        phone = normalize_phone(raw_phone)
        if not (len(code) == 6 and code.isdigit()):
            raise InvalidInput("code", "must be the 6 digits sent by SMS")
        key = phone_identity(self._phone_key, phone)
        stored = self._codes.take_attempt(key, self._policy.max_tries)
        if stored is None or not hmac.compare_digest(stored, self._code_hash(phone, code)):
            raise InvalidInput("code", "is wrong or has expired", code="code_rejected")
        self._codes.discard(key)
        user = self._users.find_by_identity(key)
        created = False
        if user is None:
            user, created = self._create_resident(key, phone=phone)
        return self._sign_in(user, created)

    def sign_in_wechat(self, login_code: str, current: Principal | None) -> SignIn:
        """Exchange a mini-program login code; link the OpenID to the caller when signed in."""
        if not login_code.strip():
            raise InvalidInput("code", "must be the code from wx.login()")
        openid = self._wechat.openid_for(login_code.strip())
        identity = wechat_identity(openid)
        owner = self._users.find_by_identity(identity)
        if current is not None:
            user = self._users.get(current.user_id)
            if user is None or user.erased:
                raise InvalidInput("authorization", "the signed-in account no longer exists")
            if owner is not None and owner.user_id != user.user_id:
                raise Conflict("this WeChat account is linked to another person", code="identity_taken")
            if owner is None:
                self._users.link_identity(user, identity)
                user = self._users.save(replace(user, wechat_openid=openid))
            return self._sign_in(user, created=False)
        if owner is not None:
            return self._sign_in(owner, created=False)
        user, created = self._create_resident(identity, wechat_openid=openid)
        return self._sign_in(user, created)

    def dev_token(self, role: str, scope: str, user_id: str | None, department: str | None = None) -> SignIn:
        """Any token, for the local stage only (the route refuses elsewhere)."""
        try:
            parsed = Role(role)
        except ValueError as exc:
            raise InvalidInput("role", f"must be one of {', '.join(r.value for r in Role)}") from exc
        if scope:
            validate_path(scope, "scope")
        check_role_scope(parsed, scope)
        user = self._users.get(user_id) if user_id else None
        if user is None:
            # Stored, so that /v1/me and everything after sign-in work with this token too.
            user = User(
                user_id=user_id or new_id(),
                role=parsed,
                scope=scope,
                created_at=self._clock.now(),
                department=department,
            )
            self._users.create(user, [])
        principal = Principal(user_id=user.user_id, role=parsed, scope=scope, department=department or user.department)
        token, expires = self._tokens.issue(principal, self._clock.now())
        return SignIn(token=token, expires_at=expires, user=user, created=False)

    def token_for(self, user: User) -> tuple[str, datetime]:
        return self._tokens.issue(principal_of(user), self._clock.now())

    def _sign_in(self, user: User, created: bool) -> SignIn:
        token, expires = self.token_for(user)
        return SignIn(token=token, expires_at=expires, user=user, created=created)

    def _create_resident(self, identity: str, **fields: str) -> tuple[User, bool]:
        user = User(user_id=new_id(), role=Role.RESIDENT, scope="", created_at=self._clock.now(), **fields)  # type: ignore[arg-type]
        try:
            self._users.create(user, [identity])
        except Conflict:
            # Two first sign-ins raced and the other one won: use the account it created.
            existing = self._users.find_by_identity(identity)
            if existing is None:
                raise
            return existing, False
        return user, True

    def _limit(self, key: str, limit: int, window: int, what: str) -> None:
        if not self._limiter.hit(key, limit, window):
            now = self._clock.now().timestamp()
            retry_after = math.ceil((math.floor(now / window) + 1) * window - now)
            raise RateLimited(f"too many {what}; try again in {retry_after} s", retry_after=retry_after)

    def _code_hash(self, phone: str, code: str) -> str:
        return hmac.new(self._phone_key, f"otp|{phone}|{code}".encode(), hashlib.sha256).hexdigest()
