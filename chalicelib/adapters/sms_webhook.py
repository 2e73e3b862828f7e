"""The inbound SMS webhook in Twilio's form: its signature, its fields, and TwiML replies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit
from xml.sax.saxutils import escape

from chalicelib.domain.channels import InboundMessage, MalformedMessage, MessageKind

MAX_MEDIA = 10  # Twilio's limit per message
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_DEFAULT_PORTS = {"https": 443, "http": 80}
_MEDIA_KINDS: dict[str, MessageKind] = {"image": "image", "audio": "voice"}

TwilioParams = Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]]


def _pairs(params: TwilioParams) -> list[tuple[str, str]]:
    if not isinstance(params, Mapping):
        return list(params)
    pairs: list[tuple[str, str]] = []
    for name, values in params.items():
        # A bare string is one value, not a sequence of characters.
        pairs.extend((name, value) for value in ([values] if isinstance(values, str) else values))
    return pairs


def twilio_signature(url: str, params: TwilioParams, auth_token: str) -> str:
    """Base64 HMAC-SHA1, keyed by the auth token, of the full URL followed by every name+value,
    names sorted and each name's values sorted."""
    data = url + "".join(name + value for name, value in sorted(_pairs(params)))
    digest = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def check_twilio_signature(url: str, params: TwilioParams, auth_token: str, signature: str | None) -> bool:
    """Whether ``X-Twilio-Signature`` matches the URL as given, without its port, or with the default port.

    Whether Twilio's signature includes a port differs between its products; its own validators
    accept these forms, and so does this one (the port is not what the signature protects).
    """
    if not auth_token or not signature:
        return False  # an unset token would make every signature computable by anyone
    given = signature.strip().encode("utf-8")
    pairs = _pairs(params)
    matched = False
    for candidate in _url_forms(url):
        matched |= hmac.compare_digest(twilio_signature(candidate, pairs, auth_token).encode("ascii"), given)
    return matched


def _url_forms(url: str) -> list[str]:
    """The URL as given, without its port, and (when it has none) with the scheme's default port."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return [url]
    userinfo, at, hostport = parts.netloc.rpartition("@")
    host = hostport[: hostport.rfind(":")] if port is not None else hostport
    forms = [url, urlunsplit(parts._replace(netloc=f"{userinfo}{at}{host}"))]
    default = _DEFAULT_PORTS.get(parts.scheme)
    if port is None and default is not None:
        forms.append(urlunsplit(parts._replace(netloc=f"{userinfo}{at}{host}:{default}")))
    return list(dict.fromkeys(forms))


def parse_sms(form: Mapping[str, Sequence[str]], *, received_at: datetime) -> InboundMessage:
    """An inbound SMS or MMS. Twilio's form carries no time: ``received_at`` is when it reached us."""

    def one(name: str) -> str | None:
        values = form.get(name)
        return values[0] if values else None

    sid, sender, to = one("MessageSid") or one("SmsMessageSid"), one("From"), one("To")
    if not sid or not sender or not to:
        raise MalformedMessage("the SMS lacks MessageSid, From or To")
    try:
        num_media = min(int(one("NumMedia") or 0), MAX_MEDIA)
    except ValueError as exc:
        raise MalformedMessage("NumMedia is not a number") from exc
    media = tuple(url for index in range(num_media) if (url := one(f"MediaUrl{index}")))
    return InboundMessage(
        channel="sms",
        sender=sender.strip(),
        to=to.strip(),
        kind=_kind(media, one("MediaContentType0")),
        created_at=received_at,
        text=one("Body") or None,
        media_urls=media,
        message_id=sid,
    )


def _kind(media: tuple[str, ...], content_type: str | None) -> MessageKind:
    if not media:
        return "text"
    return _MEDIA_KINDS.get((content_type or "").partition("/")[0].lower(), "other")


def twiml(message: str | None) -> str:
    """The webhook's answer: one reply SMS, or none (an empty ``<Response/>``)."""
    head = '<?xml version="1.0" encoding="UTF-8"?>'
    if not message:
        return f"{head}<Response/>"
    return f"{head}<Response><Message>{escape(_XML_INVALID.sub('', message))}</Message></Response>"
