"""WeChat message push (official account and mini-program) and the outbound message API.

Inbound: the handshake and message signatures, safe-mode (AES) decryption, parsing XML or JSON
bodies into ``InboundMessage``, and passive replies (plain or encrypted). Outbound: the access
token, shared by every function through a ``TokenCache``, and subscribe and customer-service
messages.

XML is parsed with defusedxml with DTDs forbidden outright: WeChat never sends a DOCTYPE, so any
body with one is hostile (entity expansion, external entities) and is refused before expansion.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import struct
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypedDict
from urllib.parse import urlencode
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree
import urllib3
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from pynamodb.exceptions import PutError

from chalicelib.adapters.dynamo import get_or_none, is_condition_failure
from chalicelib.adapters.providers import _http
from chalicelib.adapters.records import EphemeralRecord
from chalicelib.domain.channels import InboundMessage, MalformedMessage, MessageKind
from chalicelib.domain.errors import Forbidden, Unavailable
from chalicelib.services.ports import Clock

MAX_BODY_BYTES = 128 * 1024  # WeChat's messages are a few KB; anything far larger is not WeChat
_BLOCK = 32  # WeChat pads to 32 bytes, not AES's 16
_PREFIX = 16  # random bytes before the length
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# --- signatures -----------------------------------------------------------------------------------


def _sha1_of_sorted(*parts: str) -> str:
    # SHA-1 is what WeChat's protocol fixes; the token is the secret in the hashed string.
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()  # noqa: S324


def _same(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode("utf-8"))


def check_signature(token: str, signature: str | None, timestamp: str, nonce: str) -> bool:
    """The handshake (and plain-mode) signature: sha1 of token, timestamp and nonce, sorted and joined."""
    return bool(token) and _same(_sha1_of_sorted(token, timestamp, nonce), signature)


def check_msg_signature(token: str, msg_signature: str | None, timestamp: str, nonce: str, encrypt: str) -> bool:
    """Safe mode's ``msg_signature``: the same, with the ``Encrypt`` field as a fourth part."""
    return bool(token) and _same(_sha1_of_sorted(token, timestamp, nonce, encrypt), msg_signature)


# --- safe mode (AES) --------------------------------------------------------------------------------


class DecryptionFailed(MalformedMessage):
    """The ``Encrypt`` field does not open into a message for this app."""


class BadLength(DecryptionFailed):
    pass


class BadPadding(DecryptionFailed):
    pass


class AppIdMismatch(DecryptionFailed):
    pass


class SignatureMismatch(Forbidden):
    """The ``msg_signature`` does not match: the body was not sent by WeChat for our token."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="bad_signature")


class EncryptedReply(TypedDict):
    Encrypt: str
    MsgSignature: str
    TimeStamp: str
    Nonce: str


class WeChatCrypto:
    """Safe mode: AES-256-CBC keyed by the EncodingAESKey, IV = the key's first 16 bytes.

    Check ``msg_signature`` before decrypting (``decrypt_body`` does): the signature covers the
    ciphertext, so nobody without the token can probe the padding checks below.
    """

    def __init__(self, token: str, encoding_aes_key: str, app_id: str) -> None:
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error as exc:
            raise ValueError("the EncodingAESKey is not base64") from exc
        if len(encoding_aes_key) != 43 or len(key) != 32:
            raise ValueError("the EncodingAESKey must be 43 characters (32 bytes)")
        self._token = token
        self._key = key
        self._app_id = app_id.encode("utf-8")

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def decrypt(self, encrypt_b64: str) -> str:
        """The message inside ``Encrypt``; a DecryptionFailed subclass says what is wrong with it."""
        try:
            data = base64.b64decode(encrypt_b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DecryptionFailed("Encrypt is not base64") from exc
        if not data or len(data) % 16:
            raise BadLength("Encrypt is not a whole number of AES blocks")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= _BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise BadPadding("Encrypt has no valid padding")
        plain = plain[:-pad]
        if len(plain) < _PREFIX + 4:
            raise BadLength("Encrypt is too short to hold a message")
        (length,) = struct.unpack(">I", plain[_PREFIX : _PREFIX + 4])
        end = _PREFIX + 4 + length
        if end > len(plain):
            raise BadLength("Encrypt's message length runs past its end")
        if not hmac.compare_digest(plain[end:], self._app_id):
            raise AppIdMismatch("Encrypt was made for another app")
        try:
            return plain[_PREFIX + 4 : end].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecryptionFailed("Encrypt's message is not UTF-8") from exc

    def encrypt(self, message: str, nonce: str, timestamp: str) -> EncryptedReply:
        """The fields of an encrypted reply (render them with ``render_encrypted_reply``)."""
        body = message.encode("utf-8")
        plain = secrets.token_bytes(_PREFIX) + struct.pack(">I", len(body)) + body + self._app_id
        pad = _BLOCK - len(plain) % _BLOCK
        plain += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        encrypted = base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")
        return EncryptedReply(
            Encrypt=encrypted,
            MsgSignature=_sha1_of_sorted(self._token, timestamp, nonce, encrypted),
            TimeStamp=timestamp,
            Nonce=nonce,
        )

    def decrypt_body(self, body: bytes, msg_signature: str | None, timestamp: str, nonce: str) -> bytes:
        """The plain body inside a safe-mode POST, after checking its ``msg_signature``."""
        encrypt = encrypted_payload(body)
        if not check_msg_signature(self._token, msg_signature, timestamp, nonce, encrypt):
            raise SignatureMismatch("msg_signature does not match")
        return self.decrypt(encrypt).encode("utf-8")


def render_encrypted_reply(reply: EncryptedReply) -> str:
    return (
        f"<xml><Encrypt>{_cdata(reply['Encrypt'])}</Encrypt>"
        f"<MsgSignature>{_cdata(reply['MsgSignature'])}</MsgSignature>"
        f"<TimeStamp>{int(reply['TimeStamp'])}</TimeStamp>"
        f"<Nonce>{_cdata(reply['Nonce'])}</Nonce></xml>"
    )


# --- inbound messages -----------------------------------------------------------------------------


def _fields(body: bytes, content_type: str) -> dict[str, str]:
    """The top-level fields of a message body, XML or (mini-program JSON mode) JSON."""
    if len(body) > MAX_BODY_BYTES:
        raise MalformedMessage("the body is too large for a WeChat message")
    if "json" in content_type.lower() or ("xml" not in content_type.lower() and body.lstrip()[:1] == b"{"):
        return _json_fields(body)
    return _xml_fields(body)


def _json_fields(body: bytes) -> dict[str, str]:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedMessage("the body is not JSON") from exc
    if not isinstance(document, dict):
        raise MalformedMessage("the body is not a JSON object")
    return {
        str(name): str(value)
        for name, value in document.items()
        if isinstance(value, str | int | float) and not isinstance(value, bool)
    }


def _xml_fields(body: bytes) -> dict[str, str]:
    try:
        root: Element = defusedxml.ElementTree.fromstring(
            body, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except defusedxml.DefusedXmlException as exc:
        raise MalformedMessage("the body declares a DTD or entities, which WeChat never sends") from exc
    except ParseError as exc:
        raise MalformedMessage("the body is not well-formed XML") from exc
    if root.tag != "xml":
        raise MalformedMessage("the body is not a WeChat <xml> message")
    return {child.tag: child.text or "" for child in root if len(child) == 0}


def encrypted_payload(body: bytes, content_type: str = "") -> str:
    """The ``Encrypt`` field of a safe-mode body (``<xml><ToUserName/><Encrypt>…</Encrypt></xml>``)."""
    encrypt = _fields(body, content_type).get("Encrypt", "").strip()
    if not encrypt:
        raise MalformedMessage("the body has no Encrypt field")
    return encrypt


_KINDS: dict[str, MessageKind] = {
    "text": "text",
    "image": "image",
    "voice": "voice",
    "location": "location",
    "event": "event",
}


def parse_message(body: bytes, content_type: str) -> InboundMessage:
    """A pushed message or event (plain body: decrypt a safe-mode one first)."""
    raw = _fields(body, content_type)
    fields = {name: value if name == "Content" else value.strip() for name, value in raw.items()}
    missing = [name for name in ("ToUserName", "FromUserName", "CreateTime", "MsgType") if not fields.get(name)]
    if missing:
        raise MalformedMessage(f"the message lacks {', '.join(missing)}")
    msg_type = fields["MsgType"].lower()
    kind = _KINDS.get(msg_type, "other")
    try:
        created_at = datetime.fromtimestamp(int(fields["CreateTime"]), tz=UTC)
        lat, long = _position(kind, fields)
    except (ValueError, OverflowError, OSError) as exc:
        raise MalformedMessage("the message has a malformed time or position") from exc
    text = {"text": fields.get("Content"), "voice": fields.get("Recognition"), "location": fields.get("Label")}
    return InboundMessage(
        channel="wechat",
        sender=fields["FromUserName"],
        to=fields["ToUserName"],
        kind=kind,
        created_at=created_at,
        text=text.get(kind) or None,
        media_urls=(fields["PicUrl"],) if fields.get("PicUrl") else (),
        media_id=fields.get("MediaId") or None,
        lat=lat,
        long=long,
        event=fields.get("Event") or None,
        event_key=fields.get("EventKey") or None,
        message_id=fields.get("MsgId") or None,
    )


def _position(kind: MessageKind, fields: Mapping[str, str]) -> tuple[float | None, float | None]:
    # A location message says Location_X/Y; the LOCATION event (reported position) Latitude/Longitude.
    lat = fields.get("Location_X") if kind == "location" else fields.get("Latitude")
    long = fields.get("Location_Y") if kind == "location" else fields.get("Longitude")
    if not lat or not long:
        return None, None
    return float(lat), float(long)


# --- passive replies ------------------------------------------------------------------------------


def _cdata(text: str) -> str:
    # "]]>" cannot appear inside CDATA: close the section after "]]" and open a new one for ">".
    safe = _XML_INVALID.sub("", text)
    return "<![CDATA[" + safe.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def passive_reply(to_user: str, from_user: str, text: str, now: datetime) -> str:
    """A text reply in the HTTP answer: ``to_user`` is the sender's OpenID, ``from_user`` our account."""
    return (
        f"<xml><ToUserName>{_cdata(to_user)}</ToUserName>"
        f"<FromUserName>{_cdata(from_user)}</FromUserName>"
        f"<CreateTime>{int(now.timestamp())}</CreateTime>"
        f"<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{_cdata(text)}</Content></xml>"
    )


def reply_to(message: InboundMessage, text: str, now: datetime) -> str:
    """``passive_reply`` to ``message``, To and From swapped."""
    return passive_reply(message.sender, message.to, text, now)


# --- outbound: access token and messages ---------------------------------------------------------------


class TokenCache(Protocol):
    """Where the access token lives between calls and functions: WeChat limits how often it is issued."""

    def get(self, name: str) -> tuple[str, datetime] | None: ...

    def put(self, name: str, token: str, expires_at: datetime) -> None: ...


class DeliveryFailed(Unavailable):
    """WeChat did not take the call; ``errcode`` is WeChat's code (None when it could not be reached)."""

    def __init__(self, message: str, *, errcode: int | None = None) -> None:
        super().__init__(message, code="wechat_delivery_failed", details={"errcode": errcode})
        self.errcode = errcode

    @property
    def retryable(self) -> bool:
        """Worth trying again later: network trouble or "system busy" (-1). A refused OpenID or
        an unused subscription (43101) will fail the same way next time."""
        return self.errcode is None or self.errcode == -1


TOKEN_MARGIN = timedelta(minutes=5)
_STALE_TOKEN_CODES = frozenset({40001, 40014, 42001})  # invalid, malformed, expired access_token


class WeChatApi:
    """The message API of one app (official account or mini-program: each has its own AppID)."""

    def __init__(self, api_base: str, app_id: str, app_secret: str, token_cache: TokenCache, clock: Clock) -> None:
        self._base = api_base.rstrip("/")
        self._app_id = app_id
        self._app_secret = app_secret
        self._cache = token_cache
        self._clock = clock
        self._cache_name = f"wechat-access-token#{app_id}"
        self._held: tuple[str, datetime] | None = None  # saves a cache read per call in a warm function

    def access_token(self) -> str:
        """A token valid for at least five more minutes: from memory, the shared cache, or WeChat."""
        if self._held is not None and self._fresh(self._held):
            return self._held[0]
        cached = self._cache.get(self._cache_name)
        if cached is not None and self._fresh(cached):
            self._held = cached
            return cached[0]
        return self._issue()

    def send_subscribe_message(self, openid: str, template_id: str, page: str | None, data: Mapping[str, str]) -> None:
        """A subscribe message; ``data`` maps the template's keys (``thing1``…) to their values."""
        payload: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {key: {"value": value} for key, value in data.items()},
        }
        if page:
            payload["page"] = page
        self._send("/cgi-bin/message/subscribe/send", payload)

    def send_text(self, openid: str, text: str) -> None:
        """A customer-service text message (allowed within 48 hours of the person's last message)."""
        self._send("/cgi-bin/message/custom/send", {"touser": openid, "msgtype": "text", "text": {"content": text}})

    def _fresh(self, held: tuple[str, datetime]) -> bool:
        return bool(held[0]) and held[1] - TOKEN_MARGIN > self._clock.now()

    def _issue(self) -> str:
        query = urlencode({"grant_type": "client_credential", "appid": self._app_id, "secret": self._app_secret})
        answer = self._call("GET", f"{self._base}/cgi-bin/token?{query}")
        token, expires_in = answer.get("access_token"), answer.get("expires_in")
        if _errcode(answer) or not isinstance(token, str) or not token or not isinstance(expires_in, int):
            raise DeliveryFailed(
                f"WeChat issued no access token ({answer.get('errmsg', 'no token')})", errcode=_errcode(answer)
            )
        expires_at = self._clock.now() + timedelta(seconds=expires_in)
        self._cache.put(self._cache_name, token, expires_at)
        self._held = (token, expires_at)
        return token

    def _replace(self, stale: str) -> str:
        """A token other than ``stale``: another function may have fetched one already."""
        self._held = None
        cached = self._cache.get(self._cache_name)
        if cached is not None and cached[0] != stale and self._fresh(cached):
            self._held = cached
            return cached[0]
        return self._issue()

    def _send(self, path: str, payload: Mapping[str, Any]) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        token = self.access_token()
        answer = self._call("POST", f"{self._base}{path}?{urlencode({'access_token': token})}", body)
        if _errcode(answer) in _STALE_TOKEN_CODES:
            token = self._replace(token)
            answer = self._call("POST", f"{self._base}{path}?{urlencode({'access_token': token})}", body)
        code = _errcode(answer)
        if code:
            raise DeliveryFailed(f"WeChat refused the message ({code}: {answer.get('errmsg', '')})", errcode=code)

    def _call(self, method: str, url: str, body: bytes | None = None) -> dict[str, Any]:
        headers = {"Content-Type": "application/json; charset=utf-8"} if body is not None else None
        # "from None": urllib3's errors quote the URL, and the URL carries the secret or the token.
        try:
            response = _http().request(method, url, body=body, headers=headers)
        except urllib3.exceptions.HTTPError as exc:
            raise DeliveryFailed(f"WeChat cannot be reached ({type(exc).__name__})") from None
        if response.status >= 300:
            raise DeliveryFailed(f"WeChat answered HTTP {response.status}")
        try:
            answer = json.loads(response.data or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise DeliveryFailed("WeChat answered something that is not JSON") from None
        if not isinstance(answer, dict):
            raise DeliveryFailed("WeChat answered something that is not a JSON object")
        return answer


def _errcode(answer: Mapping[str, Any]) -> int:
    code = answer.get("errcode", 0)
    return code if isinstance(code, int) else -1


class DynamoTokenCache:
    """The access tokens in the ``ephemeral`` table, shared by every function; TTL removes old ones."""

    def get(self, name: str) -> tuple[str, datetime] | None:
        record = get_or_none(EphemeralRecord, f"token#{name}", consistent=True)
        if record is None or not record.value:
            return None
        return record.value, record.expires

    def put(self, name: str, token: str, expires_at: datetime) -> None:
        # Keep the token that lives longest: a slower function must not put back an older one.
        record = EphemeralRecord(pk=f"token#{name}", value=token, expires=expires_at)
        try:
            record.save(condition=EphemeralRecord.pk.does_not_exist() | (EphemeralRecord.expires < expires_at))
        except PutError as exc:
            if not is_condition_failure(exc):
                raise
