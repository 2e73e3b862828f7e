"""Sign-in routes: SMS code, WeChat mini-program login, and local development tokens."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.http import Call, endpoint
from chalicelib.api.schemas import (
    DevTokenRequest,
    MeOut,
    SignedIn,
    SmsCodeRequest,
    SmsCodeSent,
    SmsVerifyRequest,
    WeChatSignInRequest,
)
from chalicelib.domain.errors import NotFound
from chalicelib.services.auth import SignIn
from chalicelib.settings import get_settings

bp = Blueprint(__name__)
TAG = "sign-in"


def _signed_in(result: SignIn) -> SignedIn:
    return SignedIn(
        token=result.token, expires_at=result.expires_at, created=result.created, user=MeOut.of(result.user)
    )


@endpoint(
    bp,
    "/v1/auth/sms/code",
    "POST",
    summary="Send a one-time code by SMS",
    tag=TAG,
    public=True,
    body=SmsCodeRequest,
    response=SmsCodeSent,
    status=202,
    errors=[422, 429, 503],
    description="Answered the same whether or not the phone has an account. "
    "Limited per phone (one a minute, ten a day by default).",
)
def send_sms_code(call: Call) -> SmsCodeSent:
    retry_after = bootstrap.auth_service().request_sms_code(call.body.phone)
    return SmsCodeSent(retry_after=retry_after)


@endpoint(
    bp,
    "/v1/auth/sms/verify",
    "POST",
    summary="Sign in with the SMS code",
    tag=TAG,
    public=True,
    body=SmsVerifyRequest,
    response=SignedIn,
    errors=[410, 422],
    description="Creates the resident on first sign-in. After five wrong codes the code is "
    "dead (410) even if the sixth is right.",
)
def verify_sms_code(call: Call) -> SignedIn:
    return _signed_in(bootstrap.auth_service().verify_sms_code(call.body.phone, call.body.code))


@endpoint(
    bp,
    "/v1/auth/wechat",
    "POST",
    summary="Sign in with a WeChat mini-program login code",
    tag=TAG,
    public=True,
    body=WeChatSignInRequest,
    response=SignedIn,
    errors=[409, 422, 503],
    description="With a bearer token, links the WeChat account to the signed-in person instead.",
)
def wechat_sign_in(call: Call) -> SignedIn:
    return _signed_in(bootstrap.auth_service().sign_in_wechat(call.body.code, call.principal))


@endpoint(
    bp,
    "/v1/auth/dev-token",
    "POST",
    summary="Issue any token (local stage only)",
    tag=TAG,
    public=True,
    body=DevTokenRequest,
    response=SignedIn,
    errors=[404, 422],
    description="Exists only on the local stage; everywhere else it answers 404.",
)
def dev_token(call: Call) -> SignedIn:
    if not get_settings().is_local:
        raise NotFound("no such route", code="not_found")
    body: DevTokenRequest = call.body
    return _signed_in(bootstrap.auth_service().dev_token(body.role.value, body.scope, body.user_id, body.department))
