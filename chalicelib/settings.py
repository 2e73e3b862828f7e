"""Typed settings, parsed once from the environment.

This is the only module that reads ``os.environ``. Everything else receives a ``Settings``
object (services get the few values they need through their constructors).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

Stage = Literal["local", "test", "dev", "prod"]
_STAGES: tuple[Stage, ...] = ("local", "test", "dev", "prod")


class SettingsError(ValueError):
    """The environment does not describe a usable configuration."""


@dataclass(frozen=True)
class Settings:
    stage: Stage
    region: str
    account_id: str
    # Where boto3/PynamoDB send AWS calls. Empty in AWS; the moto endpoint locally.
    aws_endpoint_url: str | None
    resource_prefix: str

    # Signing keys. Locally they come straight from the environment; in AWS the *_param fields
    # name SSM parameters (SecureString) that are read at cold start and cached.
    jwt_secret: str | None
    jwt_secret_param: str | None
    phone_hash_key: str | None
    phone_hash_key_param: str | None
    token_ttl_seconds: int

    otp_ttl_seconds: int
    otp_max_tries: int
    otp_per_minute: int
    otp_per_day: int

    join_code_ttl_seconds: int
    join_code_max_uses: int

    sms_api_base: str
    sms_account_sid: str
    sms_auth_token: str | None
    sms_auth_token_param: str | None
    sms_from: str

    wechat_api_base: str
    wechat_app_id: str
    wechat_app_secret: str | None
    wechat_app_secret_param: str | None
    wechat_token: str | None
    wechat_token_param: str | None
    wechat_aes_key: str | None
    wechat_aes_key_param: str | None
    wechat_template_id: str
    public_base_url: str | None

    deadline_scale: float
    cities: tuple[str, ...]
    autoclose_days: int
    photo_max_bytes: int
    photos_bucket: str

    log_level: str
    metrics_namespace: str
    tracing_enabled: bool

    @property
    def is_local(self) -> bool:
        return self.stage in ("local", "test")

    def table_name(self, logical: str) -> str:
        return f"{self.resource_prefix}-{logical}"

    def queue_name(self, logical: str) -> str:
        return f"{self.resource_prefix}-{logical}"

    def state_machine_arn(self, logical: str) -> str:
        return f"arn:aws:states:{self.region}:{self.account_id}:stateMachine:{self.resource_prefix}-{logical}"

    def queue_url(self, logical: str) -> str:
        """The queue's URL as SQS forms it (moto's form on the local endpoint)."""
        name = self.queue_name(logical)
        if self.aws_endpoint_url:
            return f"{self.aws_endpoint_url.rstrip('/')}/{self.account_id}/{name}"
        return f"https://sqs.{self.region}.amazonaws.com/{self.account_id}/{name}"

    def stream_arn(self, logical_table: str) -> str:
        """A stable stand-in for a table's stream ARN, known before the table exists.

        Chalice needs an ARN when the handler is declared; ``infra/`` replaces it with the
        deployed table's real ``StreamArn`` and the local event pump maps it by table name.
        """
        table = self.table_name(logical_table)
        return f"arn:aws:dynamodb:{self.region}:{self.account_id}:table/{table}/stream/latest"


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from exc
    if value < 0:
        raise SettingsError(f"{name} must not be negative, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from exc
    if value <= 0:
        raise SettingsError(f"{name} must be positive, got {value}")
    return value


def _opt(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def parse_settings(env: Mapping[str, str]) -> Settings:
    """Build settings from an environment mapping; raises SettingsError naming the bad variable."""
    stage = env.get("STAGE", "local").strip() or "local"
    if stage not in _STAGES:
        raise SettingsError(f"STAGE must be one of {', '.join(_STAGES)}, got {stage!r}")
    settings = Settings(
        stage=stage,  # type: ignore[arg-type]
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        account_id=env.get("AWS_ACCOUNT_ID", "123456789012"),
        aws_endpoint_url=_opt(env, "AWS_ENDPOINT_URL"),
        resource_prefix=env.get("RESOURCE_PREFIX") or f"weilinli-{stage}",
        jwt_secret=_opt(env, "JWT_SECRET"),
        jwt_secret_param=_opt(env, "JWT_SECRET_PARAM"),
        phone_hash_key=_opt(env, "PHONE_HASH_KEY"),
        phone_hash_key_param=_opt(env, "PHONE_HASH_KEY_PARAM"),
        token_ttl_seconds=_int(env, "TOKEN_TTL_SECONDS", 7 * 24 * 3600),
        otp_ttl_seconds=_int(env, "OTP_TTL_SECONDS", 300),
        otp_max_tries=_int(env, "OTP_MAX_TRIES", 5),
        otp_per_minute=_int(env, "OTP_PER_MINUTE", 1),
        otp_per_day=_int(env, "OTP_PER_DAY", 10),
        join_code_ttl_seconds=_int(env, "JOIN_CODE_TTL_SECONDS", 30 * 24 * 3600),
        join_code_max_uses=_int(env, "JOIN_CODE_MAX_USES", 500),
        sms_api_base=env.get("SMS_API_BASE", "https://api.twilio.com").rstrip("/"),
        sms_account_sid=env.get("SMS_ACCOUNT_SID", "AC-local"),
        sms_auth_token=_opt(env, "SMS_AUTH_TOKEN"),
        sms_auth_token_param=_opt(env, "SMS_AUTH_TOKEN_PARAM"),
        sms_from=env.get("SMS_FROM", "+8610690000"),
        wechat_api_base=env.get("WECHAT_API_BASE", "https://api.weixin.qq.com").rstrip("/"),
        wechat_app_id=env.get("WECHAT_APP_ID", "wx-local"),
        wechat_app_secret=_opt(env, "WECHAT_APP_SECRET"),
        wechat_app_secret_param=_opt(env, "WECHAT_APP_SECRET_PARAM"),
        wechat_token=_opt(env, "WECHAT_TOKEN"),
        wechat_token_param=_opt(env, "WECHAT_TOKEN_PARAM"),
        wechat_aes_key=_opt(env, "WECHAT_AES_KEY"),
        wechat_aes_key_param=_opt(env, "WECHAT_AES_KEY_PARAM"),
        wechat_template_id=env.get("WECHAT_TEMPLATE_ID", "weilinli-notice"),
        public_base_url=_opt(env, "PUBLIC_BASE_URL"),
        deadline_scale=_float(env, "DEADLINE_SCALE", 1.0),
        cities=tuple(c.strip() for c in env.get("CITIES", "wuhan").split(",") if c.strip()),
        autoclose_days=_int(env, "AUTOCLOSE_DAYS", 7),
        photo_max_bytes=_int(env, "PHOTO_MAX_BYTES", 10 * 1024 * 1024),
        photos_bucket=env.get("PHOTOS_BUCKET") or f"{env.get('RESOURCE_PREFIX') or f'weilinli-{stage}'}-photos",
        log_level=env.get("LOG_LEVEL", "INFO"),
        metrics_namespace=env.get("METRICS_NAMESPACE", "Weilinli"),
        tracing_enabled=env.get("TRACING_ENABLED", "").lower() in ("1", "true", "yes"),
    )
    if not settings.is_local:
        for name, direct, param in (
            ("JWT_SECRET", settings.jwt_secret, settings.jwt_secret_param),
            ("PHONE_HASH_KEY", settings.phone_hash_key, settings.phone_hash_key_param),
        ):
            if not direct and not param:
                raise SettingsError(f"{name} or {name}_PARAM must be set on stage {stage}")
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, parsed on first use."""
    return parse_settings(os.environ)
