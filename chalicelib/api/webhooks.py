"""WeChat message push and SMS webhooks: check the provider's signature before anything else,
acknowledge at once (WeChat waits 5 seconds, SMS providers about 15), queue the work."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import bootstrap
from chalicelib.adapters.sms_webhook import check_twilio_signature, parse_sms, twiml
from chalicelib.adapters.wechat import check_signature, parse_message
from chalicelib.api.http import Call, endpoint, raw_body
from chalicelib.domain.errors import Forbidden
from chalicelib.services.inbound import STARTED, STOPPED
from chalicelib.settings import get_settings

bp = Blueprint(__name__)
TAG = "webhooks"
XML_TYPES = ["text/xml", "application/xml", "application/json", "text/plain"]
FORM = "application/x-www-form-urlencoded"


def _query(request: Request) -> dict[str, str]:
    return dict(request.query_params or {})


@endpoint(
    bp,
    "/v1/webhooks/wechat",
    summary="WeChat server verification (echostr)",
    tag=TAG,
    public=True,
    errors=[403],
    raw_response="text/plain",
)
def wechat_handshake(call: Call) -> Response:
    q = _query(call.request)
    token = bootstrap.wechat_token()
    if not check_signature(token, q.get("signature"), q.get("timestamp", ""), q.get("nonce", "")):
        raise Forbidden("the WeChat signature does not match", code="bad_signature")
    return Response(body=q.get("echostr", ""), status_code=200, headers={"Content-Type": "text/plain"})


@endpoint(
    bp,
    "/v1/webhooks/wechat",
    "POST",
    summary="WeChat message push (plaintext or safe mode)",
    tag=TAG,
    public=True,
    content_types=XML_TYPES,
    errors=[400, 403, 422],
    raw_response="text/plain",
    description="The signature is checked first (403, nothing done). A message is acknowledged with "
    "'success' at once and handled from a queue; a retried MsgId is handled once.",
)
def wechat_message(call: Call) -> Response:
    request = call.request
    q = _query(request)
    body = raw_body(request)
    timestamp, nonce = q.get("timestamp", ""), q.get("nonce", "")
    if q.get("encrypt_type") == "aes":
        body = bootstrap.wechat_crypto().decrypt_body(body, q.get("msg_signature"), timestamp, nonce)
        content_type = "text/xml"
    else:
        if not check_signature(bootstrap.wechat_token(), q.get("signature"), timestamp, nonce):
            raise Forbidden("the WeChat signature does not match", code="bad_signature")
        content_type = request.headers.get("content-type", "text/xml")
    message = parse_message(body, content_type)
    bootstrap.intake().accept(message)
    return Response(body="success", status_code=200, headers={"Content-Type": "text/plain"})


def public_url(request: Request) -> str:
    """The URL the provider called (signatures cover it): PUBLIC_BASE_URL, or the request's own host."""
    settings = get_settings()
    context = request.context or {}
    if settings.public_base_url:
        base = settings.public_base_url.rstrip("/")
        path = request.path
    else:
        proto = request.headers.get("x-forwarded-proto", "http")
        base = f"{proto}://{request.headers.get('host', '')}"
        path = str(context.get("path") or request.path)
    query = urlencode(_query(request))
    return f"{base}{path}{'?' + query if query else ''}"


@endpoint(
    bp,
    "/v1/webhooks/sms",
    "POST",
    summary="Inbound SMS (Twilio-style form)",
    tag=TAG,
    public=True,
    content_types=[FORM],
    errors=[400, 403],
    raw_response="text/xml",
    description="X-Twilio-Signature is checked first. STOP/退订 and START switch SMS off and on for "
    "the number; anything else is queued and answered with an empty TwiML response.",
)
def sms_message(call: Call) -> Response:
    request = call.request
    form = parse_qs(raw_body(request).decode("utf-8"), keep_blank_values=True)
    signature = request.headers.get("x-twilio-signature")
    if not check_twilio_signature(public_url(request), form, bootstrap.sms_auth_token(), signature):
        raise Forbidden("the SMS signature does not match", code="bad_signature")
    message = parse_sms(form, received_at=datetime.now(UTC))
    answer: str | None = None
    opted = bootstrap.sms_opt_outs().apply(message)
    if opted is not None:
        answer = STOPPED if opted.action == "sms_stop" else STARTED
    else:
        bootstrap.intake().accept(message)
    return Response(body=twiml(answer), status_code=200, headers={"Content-Type": "text/xml; charset=utf-8"})
