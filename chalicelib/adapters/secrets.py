"""Secrets: straight from settings locally, from SSM Parameter Store in AWS (cached)."""

from __future__ import annotations

from chalicelib.settings import Settings

_LOCAL_DEFAULT = "local-only-secret-not-for-production"
_CACHE_SECONDS = 300


def resolve_secret(settings: Settings, direct: str | None, parameter: str | None) -> str:
    """The secret's value: a direct value wins; else the SSM parameter, read once and cached.

    Powertools caches the parameter for five minutes per warm function, so a rotated key is
    picked up without a redeploy and without an SSM call per request.
    """
    if direct:
        return direct
    if parameter:
        from aws_lambda_powertools.utilities import parameters  # imported only where SSM is used

        from chalicelib.adapters.aws import client

        provider = parameters.SSMProvider(boto3_client=client("ssm"))
        return str(provider.get(parameter, decrypt=True, max_age=_CACHE_SECONDS))
    if settings.is_local:
        return _LOCAL_DEFAULT
    raise RuntimeError("a required secret has neither a value nor an SSM parameter")


def jwt_secret(settings: Settings) -> str:
    return resolve_secret(settings, settings.jwt_secret, settings.jwt_secret_param)


def phone_hash_key(settings: Settings) -> str:
    return resolve_secret(settings, settings.phone_hash_key, settings.phone_hash_key_param)


def sms_auth_token(settings: Settings) -> str:
    return resolve_secret(settings, settings.sms_auth_token, settings.sms_auth_token_param)


def wechat_app_secret(settings: Settings) -> str:
    return resolve_secret(settings, settings.wechat_app_secret, settings.wechat_app_secret_param)


def wechat_token(settings: Settings) -> str:
    return resolve_secret(settings, settings.wechat_token, settings.wechat_token_param)


def wechat_aes_key(settings: Settings) -> str | None:
    """The EncodingAESKey for WeChat's safe mode; None when only plaintext mode is configured."""
    if not settings.wechat_aes_key and not settings.wechat_aes_key_param:
        return None
    return resolve_secret(settings, settings.wechat_aes_key, settings.wechat_aes_key_param)
