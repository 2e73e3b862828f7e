"""WeChat message push: signatures, safe-mode AES, parsing (and refusing hostile XML), replies,
and the outbound API's token handling against a local HTTP server."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml.ElementTree import fromstring
from moto import mock_aws

from chalicelib.adapters.records import EphemeralRecord
from chalicelib.adapters.wechat import (
    AppIdMismatch,
    BadLength,
    BadPadding,
    DecryptionFailed,
    DeliveryFailed,
    DynamoTokenCache,
    SignatureMismatch,
    WeChatApi,
    WeChatCrypto,
    check_msg_signature,
    check_signature,
    encrypted_payload,
    parse_message,
    passive_reply,
    render_encrypted_reply,
    reply_to,
)
from chalicelib.domain.channels import MalformedMessage
from chalicelib.local.sandbox import SandboxCredentials, SandboxServer
from tests.fakes import FakeClock

# The sample of WeChat's official message-crypto SDK (WXBizMsgCrypt, Sample.py).
SAMPLE_TOKEN = "spamtest"
SAMPLE_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
SAMPLE_APP_ID = "wx2c2769f8efd9abc2"
SAMPLE_TIMESTAMP = "1409735669"
SAMPLE_NONCE = "1320562132"
SAMPLE_MSG_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
SAMPLE_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9Fr"
    "XpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WG"
    "zjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIB"
    "YYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)
SAMPLE_BODY = (
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]>"
    "</FromUserName><CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[abcdteT]]>"
    f"</Content><MsgId>6054768590064713728</MsgId><Encrypt><![CDATA[{SAMPLE_ENCRYPT}]]></Encrypt></xml>"
).encode()

TOKEN = "weilinli-token"
KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
APP_ID = "wx49f0ab532d5d035a"
NOW = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)


def _sha1_hex(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def _sha1(*parts: str) -> str:
    return _sha1_hex("".join(sorted(parts)).encode())


def _aes(key_text: str, plain: bytes) -> str:
    """Encrypt exactly ``plain`` (already padded) the way WeChat does, without the code under test."""
    key = base64.b64decode(key_text + "=")
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def _unaes(key_text: str, encrypted: str) -> bytes:
    key = base64.b64decode(key_text + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    return decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()


def _pad32(data: bytes) -> bytes:
    pad = 32 - len(data) % 32
    return data + bytes([pad]) * pad


def _plaintext(message: bytes, app_id: bytes, length: int | None = None) -> bytes:
    prefix = b"0123456789abcdef"
    return prefix + struct.pack(">I", len(message) if length is None else length) + message + app_id


# --- signatures -----------------------------------------------------------------------------------


def test_the_handshake_signature_is_the_sha1_of_the_sorted_parts() -> None:
    # sorted: "1409304348" < "weilinli-token" < "xxxxnonce"
    expected = _sha1_hex(b"1409304348" + b"weilinli-token" + b"xxxxnonce")

    assert check_signature(TOKEN, expected, "1409304348", "xxxxnonce")
    assert not check_signature(TOKEN, expected, "1409304349", "xxxxnonce")
    assert not check_signature("other-token", expected, "1409304348", "xxxxnonce")
    assert not check_signature(TOKEN, expected[:-1] + ("0" if expected[-1] != "0" else "1"), "1409304348", "xxxxnonce")
    assert not check_signature(TOKEN, None, "1409304348", "xxxxnonce")
    assert not check_signature(TOKEN, "签名", "1409304348", "xxxxnonce")
    assert not check_signature("", _sha1_hex(b"1409304348xxxxnonce"), "1409304348", "xxxxnonce")


def test_wechats_sample_msg_signature() -> None:
    args = (SAMPLE_TIMESTAMP, SAMPLE_NONCE, SAMPLE_ENCRYPT)
    assert check_msg_signature(SAMPLE_TOKEN, SAMPLE_MSG_SIGNATURE, *args)
    assert not check_msg_signature(
        SAMPLE_TOKEN, SAMPLE_MSG_SIGNATURE, SAMPLE_TIMESTAMP, SAMPLE_NONCE, "A" + SAMPLE_ENCRYPT
    )
    assert not check_msg_signature("token", SAMPLE_MSG_SIGNATURE, *args)


# --- safe mode ------------------------------------------------------------------------------------


def test_wechats_sample_body_decrypts_to_its_message() -> None:
    crypto = WeChatCrypto(SAMPLE_TOKEN, SAMPLE_KEY, SAMPLE_APP_ID)

    plain = crypto.decrypt_body(SAMPLE_BODY, SAMPLE_MSG_SIGNATURE, SAMPLE_TIMESTAMP, SAMPLE_NONCE)
    message = parse_message(plain, "text/xml")

    assert (message.sender, message.to, message.text) == ("oyORnuP8q7ou2gfYjqLzSIWZf0rs", "gh_10f6c3c3ac5a", "abcdteT")
    assert message.message_id == "6054768590064713728"
    assert message.created_at == datetime.fromtimestamp(1409735668, tz=UTC)


def test_a_sample_body_with_a_wrong_signature_is_not_decrypted() -> None:
    crypto = WeChatCrypto(SAMPLE_TOKEN, SAMPLE_KEY, SAMPLE_APP_ID)
    with pytest.raises(SignatureMismatch):
        crypto.decrypt_body(SAMPLE_BODY, SAMPLE_MSG_SIGNATURE, "1409735670", SAMPLE_NONCE)


def test_the_sample_is_refused_by_another_app() -> None:
    with pytest.raises(AppIdMismatch):
        WeChatCrypto(SAMPLE_TOKEN, SAMPLE_KEY, "wx0000000000000000").decrypt(SAMPLE_ENCRYPT)


def test_a_ciphertext_built_step_by_step_decrypts() -> None:
    message = "<xml><Content><![CDATA[报事 路灯不亮]]></Content></xml>".encode()
    encrypted = _aes(KEY, _pad32(_plaintext(message, APP_ID.encode())))

    assert WeChatCrypto(TOKEN, KEY, APP_ID).decrypt(encrypted) == message.decode()


def test_a_message_that_fills_the_last_block_gets_a_whole_block_of_padding() -> None:
    message = b"x" * (64 - 20 - len(APP_ID))  # prefix + length + message + app id = 64 bytes
    encrypted = _aes(KEY, _plaintext(message, APP_ID.encode()) + bytes([32]) * 32)

    assert WeChatCrypto(TOKEN, KEY, APP_ID).decrypt(encrypted) == message.decode()


def test_an_encrypted_reply_opens_with_plain_aes_and_carries_its_signature() -> None:
    reply = WeChatCrypto(TOKEN, KEY, APP_ID).encrypt("<xml><Content>好的</Content></xml>", "nonce1", "1714552200")

    plain = _unaes(KEY, reply["Encrypt"])
    pad = plain[-1]
    assert 1 <= pad <= 32 and plain[-pad:] == bytes([pad]) * pad and len(plain) % 32 == 0
    body = plain[:-pad]
    (length,) = struct.unpack(">I", body[16:20])
    assert body[20 : 20 + length].decode() == "<xml><Content>好的</Content></xml>"
    assert body[20 + length :] == APP_ID.encode()
    assert reply["MsgSignature"] == _sha1(TOKEN, "1714552200", "nonce1", reply["Encrypt"])
    assert (reply["TimeStamp"], reply["Nonce"]) == ("1714552200", "nonce1")


def test_encryption_round_trips_and_uses_a_fresh_prefix() -> None:
    crypto = WeChatCrypto(TOKEN, KEY, APP_ID)
    first = crypto.encrypt("报事 ]]> <&>", "n", "1")
    second = crypto.encrypt("报事 ]]> <&>", "n", "1")

    assert first["Encrypt"] != second["Encrypt"]
    assert crypto.decrypt(first["Encrypt"]) == crypto.decrypt(second["Encrypt"]) == "报事 ]]> <&>"


def test_the_encrypted_reply_xml_carries_the_four_fields() -> None:
    reply = WeChatCrypto(TOKEN, KEY, APP_ID).encrypt("<xml/>", "nonce1", "1714552200")
    root = fromstring(render_encrypted_reply(reply).encode(), forbid_dtd=True)

    assert {child.tag: child.text for child in root} == {
        "Encrypt": reply["Encrypt"],
        "MsgSignature": reply["MsgSignature"],
        "TimeStamp": "1714552200",
        "Nonce": "nonce1",
    }


def test_a_ciphertext_for_another_app_is_refused() -> None:
    encrypted = _aes(KEY, _pad32(_plaintext(b"<xml/>", b"wx_someone_else")))
    with pytest.raises(AppIdMismatch):
        WeChatCrypto(TOKEN, KEY, APP_ID).decrypt(encrypted)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda plain: plain[:-1] + b"\x00",  # pad value 0
        lambda plain: plain[:-1] + b"\x21",  # pad value 33, larger than a WeChat block
        lambda plain: plain[:-2] + b"\x05\x03",  # the last pad bytes disagree
    ],
)
def test_tampered_padding_is_refused(tamper: Any) -> None:
    plain = _pad32(_plaintext(b"<xml>ok</xml>", APP_ID.encode()))
    assert plain[-1] >= 3
    with pytest.raises(BadPadding):
        WeChatCrypto(TOKEN, KEY, APP_ID).decrypt(_aes(KEY, tamper(plain)))


def test_a_length_running_past_the_end_is_refused() -> None:
    encrypted = _aes(KEY, _pad32(_plaintext(b"<xml/>", APP_ID.encode(), length=10_000)))
    with pytest.raises(BadLength):
        WeChatCrypto(TOKEN, KEY, APP_ID).decrypt(encrypted)


def test_a_plaintext_shorter_than_its_header_is_refused() -> None:
    with pytest.raises(BadLength):
        WeChatCrypto(TOKEN, KEY, APP_ID).decrypt(_aes(KEY, b"0123456789" + bytes([22]) * 22))


@pytest.mark.parametrize("encrypted", ["", "not base64!!", base64.b64encode(b"x" * 20).decode()])
def test_an_encrypt_field_that_is_not_whole_aes_blocks_is_refused(encrypted: str) -> None:
    with pytest.raises(DecryptionFailed):
        WeChatCrypto(TOKEN, KEY, APP_ID).decrypt(encrypted)


def test_decryption_errors_are_malformed_messages() -> None:
    assert issubclass(DecryptionFailed, MalformedMessage)
    assert all(issubclass(error, DecryptionFailed) for error in (BadLength, BadPadding, AppIdMismatch))


@pytest.mark.parametrize("key", ["short", KEY + "A", "!" * 43])
def test_a_malformed_encoding_aes_key_is_a_configuration_error(key: str) -> None:
    with pytest.raises(ValueError, match="EncodingAESKey"):
        WeChatCrypto(TOKEN, key, APP_ID)


# --- parsing --------------------------------------------------------------------------------------


def _xml(fields: str) -> bytes:
    return (
        "<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[oResident1]]></FromUserName>"
        f"<CreateTime>1714552200</CreateTime>{fields}</xml>"
    ).encode()


def test_a_text_message_parses() -> None:
    body = _xml(
        "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[报事 东门积水]]></Content><MsgId>1234567890</MsgId>"
    )
    message = parse_message(body, "text/xml")

    assert (message.channel, message.kind, message.sender, message.to) == ("wechat", "text", "oResident1", "gh_account")
    assert message.text == "报事 东门积水"
    assert message.message_id == "1234567890"
    assert message.created_at == datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
    assert message.dedupe_key == "wechat#msg#1234567890"


def test_image_voice_and_location_messages_parse() -> None:
    image = parse_message(
        _xml(
            "<MsgType>image</MsgType><PicUrl>https://mmbiz.qpic.cn/x.jpg</PicUrl><MediaId>m1</MediaId><MsgId>2</MsgId>"
        ),
        "text/xml",
    )
    voice = parse_message(
        _xml("<MsgType>voice</MsgType><MediaId>v1</MediaId><Recognition>报事 噪音</Recognition><MsgId>3</MsgId>"),
        "text/xml",
    )
    location = parse_message(
        _xml(
            "<MsgType>location</MsgType><Location_X>30.5434</Location_X><Location_Y>114.3568</Location_Y>"
            "<Scale>15</Scale><Label><![CDATA[武昌区东亭路]]></Label><MsgId>4</MsgId>"
        ),
        "text/xml",
    )

    assert (image.kind, image.media_url, image.media_id) == ("image", "https://mmbiz.qpic.cn/x.jpg", "m1")
    assert (voice.kind, voice.media_id, voice.text) == ("voice", "v1", "报事 噪音")
    assert (location.kind, location.lat, location.long, location.text) == (
        "location",
        30.5434,
        114.3568,
        "武昌区东亭路",
    )


def test_events_parse_and_dedupe_by_sender_and_time() -> None:
    subscribe = parse_message(_xml("<MsgType>event</MsgType><Event>subscribe</Event><EventKey></EventKey>"), "text/xml")
    click = parse_message(_xml("<MsgType>event</MsgType><Event>CLICK</Event><EventKey>REPORT</EventKey>"), "")
    located = parse_message(
        _xml("<MsgType>event</MsgType><Event>LOCATION</Event><Latitude>30.5</Latitude><Longitude>114.3</Longitude>"),
        "text/xml",
    )

    assert (subscribe.kind, subscribe.event, subscribe.event_key, subscribe.message_id) == (
        "event",
        "subscribe",
        None,
        None,
    )
    assert subscribe.dedupe_key == "wechat#evt#oResident1#1714552200"
    assert (click.event, click.event_key) == ("CLICK", "REPORT")
    assert (located.lat, located.long) == (30.5, 114.3)


def test_a_type_we_do_not_handle_still_parses() -> None:
    message = parse_message(_xml("<MsgType>video</MsgType><MediaId>vid</MediaId><MsgId>9</MsgId>"), "text/xml")
    assert (message.kind, message.media_id, message.dedupe_key) == ("other", "vid", "wechat#msg#9")


def test_a_mini_program_json_message_parses() -> None:
    body = json.dumps(
        {
            "ToUserName": "gh_miniapp",
            "FromUserName": "oMini1",
            "CreateTime": 1714552200,
            "MsgType": "text",
            "Content": "【报事】电梯坏了",
            "MsgId": 23456789012345678,
        },
        ensure_ascii=False,
    ).encode()
    message = parse_message(body, "application/json; charset=utf-8")

    assert (message.sender, message.to, message.text, message.message_id) == (
        "oMini1",
        "gh_miniapp",
        "【报事】电梯坏了",
        "23456789012345678",
    )
    assert parse_message(body, "") == message


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<xml><ToUserName>a</ToUserName>", "text/xml"),
        (b"not xml at all", "text/xml"),
        (b"<notxml><ToUserName>a</ToUserName></notxml>", "text/xml"),
        (_xml("<Content>no type</Content>"), "text/xml"),
        (_xml("<MsgType>text</MsgType>").replace(b"1714552200", b"yesterday"), "text/xml"),
        (_xml("<MsgType>location</MsgType><Location_X>north</Location_X><Location_Y>1</Location_Y>"), "text/xml"),
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"<xml>" + b"<a>x</a>" * 20_000 + b"</xml>", "text/xml"),
    ],
)
def test_a_malformed_body_is_refused(body: bytes, content_type: str) -> None:
    with pytest.raises(MalformedMessage):
        parse_message(body, content_type)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE xml [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol9;</Content></xml>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&secret;</Content></xml>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE xml SYSTEM "http://127.0.0.1:9/evil.dtd">
<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>hi</Content></xml>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote;]>
<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>hi</Content></xml>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, PARAMETER_ENTITY])
def test_xml_with_a_dtd_is_refused_before_any_expansion(body: bytes) -> None:
    with pytest.raises(MalformedMessage, match="DTD") as raised:
        parse_message(body, "text/xml")
    assert type(raised.value.__cause__).__name__ == "DTDForbidden"
    with pytest.raises(MalformedMessage, match="DTD"):
        encrypted_payload(body)


def test_the_encrypt_field_is_found_in_xml_and_json_envelopes() -> None:
    xml = b"<xml><ToUserName><![CDATA[gh_account]]></ToUserName><Encrypt><![CDATA[abc+/=]]></Encrypt></xml>"
    assert encrypted_payload(xml) == "abc+/="
    assert encrypted_payload(b'{"ToUserName": "gh_miniapp", "Encrypt": "abc+/="}', "application/json") == "abc+/="
    with pytest.raises(MalformedMessage, match="Encrypt"):
        encrypted_payload(b"<xml><ToUserName>gh</ToUserName></xml>")


# --- passive replies ------------------------------------------------------------------------------


def test_a_passive_reply_swaps_to_and_from() -> None:
    inbound = parse_message(_xml("<MsgType>text</MsgType><Content>你好</Content><MsgId>1</MsgId>"), "text/xml")
    root = fromstring(reply_to(inbound, "已收到", NOW).encode(), forbid_dtd=True)

    assert {child.tag: child.text for child in root} == {
        "ToUserName": "oResident1",
        "FromUserName": "gh_account",
        "CreateTime": str(int(NOW.timestamp())),
        "MsgType": "text",
        "Content": "已收到",
    }


@pytest.mark.parametrize("text", ["a]]>b", "]]>", "]]]]>>", "<xml>&amp;</xml>", "x]]><MsgType>news</MsgType>"])
def test_reply_text_survives_cdata_terminators(text: str) -> None:
    reply = passive_reply("oResident1", "gh_account", text, NOW)
    root = fromstring(reply.encode(), forbid_dtd=True)

    assert root.findtext("Content") == text
    assert root.findtext("MsgType") == "text"
    assert len(root) == 5


def test_characters_xml_cannot_carry_are_dropped_from_a_reply() -> None:
    root = fromstring(passive_reply("o", "gh", "a\x00b\x1bc\n", NOW).encode(), forbid_dtd=True)
    assert root.findtext("Content") == "abc\n"


# --- the outbound API -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class MemoryTokenCache:
    def __init__(self) -> None:
        self.entries: dict[str, tuple[str, datetime]] = {}

    def get(self, name: str) -> tuple[str, datetime] | None:
        return self.entries.get(name)

    def put(self, name: str, token: str, expires_at: datetime) -> None:
        self.entries[name] = (token, expires_at)


@dataclass
class ScriptedWeChat:
    """A WeChat stand-in whose answers a test can steer, counting what it is asked."""

    token_requests: int = 0
    sends: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    revoked_code: int = 42001
    refusals: dict[str, int] = field(default_factory=dict)  # openid → errcode
    token_errcode: int | None = None

    def answer(self, method: str, path: str, query: dict[str, str], body: bytes) -> dict[str, Any]:
        if method == "GET" and path == "/cgi-bin/token":
            self.token_requests += 1
            if self.token_errcode is not None:
                return {"errcode": self.token_errcode, "errmsg": "invalid appsecret"}
            assert (query["grant_type"], query["appid"], query["secret"]) == ("client_credential", APP_ID, "s3cret")
            return {"access_token": f"token-{self.token_requests}", "expires_in": 7200}
        token = query.get("access_token", "")
        payload = json.loads(body)
        self.sends.append((path, token, payload))
        if token in self.revoked:
            return {"errcode": self.revoked_code, "errmsg": "access_token expired"}
        if payload["touser"] in self.refusals:
            return {"errcode": self.refusals[payload["touser"]], "errmsg": "refused"}
        return {"errcode": 0, "errmsg": "ok"}


class _ScriptedHandler(BaseHTTPRequestHandler):
    server: _ScriptedServer

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        query = {name: values[0] for name, values in parse_qs(url.query).items()}
        payload = json.dumps(self.server.wechat.answer(self.command, url.path, query, body)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _ScriptedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, wechat: ScriptedWeChat) -> None:
        self.wechat = wechat
        super().__init__(("127.0.0.1", 0), _ScriptedHandler)


@pytest.fixture
def scripted() -> Iterator[tuple[ScriptedWeChat, str]]:
    wechat = ScriptedWeChat()
    server = _ScriptedServer(wechat)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield wechat, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _api(base: str, cache: MemoryTokenCache | None = None, clock: FakeClock | None = None) -> WeChatApi:
    return WeChatApi(base, APP_ID, "s3cret", cache or MemoryTokenCache(), clock or FakeClock(NOW))


def test_two_sends_need_one_token(scripted: tuple[ScriptedWeChat, str]) -> None:
    wechat, base = scripted
    api = _api(base)

    api.send_text("oResident1", "已受理")
    api.send_subscribe_message("oResident1", "TPL1", "pages/report/detail?id=1", {"thing1": "路灯不亮"})

    assert wechat.token_requests == 1
    assert [(path, token) for path, token, _ in wechat.sends] == [
        ("/cgi-bin/message/custom/send", "token-1"),
        ("/cgi-bin/message/subscribe/send", "token-1"),
    ]
    assert wechat.sends[0][2] == {"touser": "oResident1", "msgtype": "text", "text": {"content": "已受理"}}
    assert wechat.sends[1][2] == {
        "touser": "oResident1",
        "template_id": "TPL1",
        "page": "pages/report/detail?id=1",
        "data": {"thing1": {"value": "路灯不亮"}},
    }


def test_functions_share_the_token_through_the_cache(scripted: tuple[ScriptedWeChat, str]) -> None:
    wechat, base = scripted
    cache = MemoryTokenCache()

    _api(base, cache).send_text("oResident1", "one")
    _api(base, cache).send_text("oResident1", "two")

    assert wechat.token_requests == 1
    assert cache.entries[f"wechat-access-token#{APP_ID}"] == ("token-1", NOW + timedelta(seconds=7200))


def test_a_token_is_renewed_five_minutes_before_it_expires(scripted: tuple[ScriptedWeChat, str]) -> None:
    wechat, base = scripted
    clock = FakeClock(NOW)
    api = _api(base, clock=clock)

    api.send_text("oResident1", "one")
    clock.advance(7200 - 301)
    api.send_text("oResident1", "two")
    clock.advance(2)
    api.send_text("oResident1", "three")

    assert [token for _, token, _ in wechat.sends] == ["token-1", "token-1", "token-2"]


@pytest.mark.parametrize("code", [42001, 40001])
def test_an_expired_or_invalid_token_is_replaced_once_and_the_send_retried(
    scripted: tuple[ScriptedWeChat, str], code: int
) -> None:
    wechat, base = scripted
    wechat.revoked_code = code
    api = _api(base)
    api.send_text("oResident1", "one")
    wechat.revoked.add("token-1")

    api.send_text("oResident1", "two")
    api.send_text("oResident1", "three")

    assert wechat.token_requests == 2
    assert [token for _, token, _ in wechat.sends] == ["token-1", "token-1", "token-2", "token-2"]


def test_a_token_another_function_already_replaced_is_taken_from_the_cache(
    scripted: tuple[ScriptedWeChat, str],
) -> None:
    wechat, base = scripted
    cache = MemoryTokenCache()
    mine, theirs = _api(base, cache), _api(base, cache)
    mine.send_text("oResident1", "one")
    wechat.revoked.add("token-1")
    theirs.send_text("oResident1", "two")  # replaces token-1 with token-2 in the cache

    mine.send_text("oResident1", "three")

    assert wechat.token_requests == 2
    assert [token for _, token, _ in wechat.sends] == ["token-1", "token-1", "token-2", "token-1", "token-2"]


def test_a_token_still_refused_after_one_renewal_fails(scripted: tuple[ScriptedWeChat, str]) -> None:
    wechat, base = scripted
    wechat.revoked.update({"token-1", "token-2", "token-3"})

    with pytest.raises(DeliveryFailed) as raised:
        _api(base).send_text("oResident1", "one")

    assert raised.value.errcode == 42001
    assert wechat.token_requests == 2
    assert len(wechat.sends) == 2


@pytest.mark.parametrize(("code", "retryable"), [(43004, False), (43101, False), (40003, False), (-1, True)])
def test_other_error_codes_fail_the_delivery_with_the_code(
    scripted: tuple[ScriptedWeChat, str], code: int, retryable: bool
) -> None:
    wechat, base = scripted
    wechat.refusals["oUnsubscribed"] = code

    with pytest.raises(DeliveryFailed) as raised:
        _api(base).send_subscribe_message("oUnsubscribed", "TPL1", None, {"thing1": "x"})

    assert (raised.value.errcode, raised.value.retryable) == (code, retryable)
    assert wechat.token_requests == 1
    assert len(wechat.sends) == 1
    assert "page" not in wechat.sends[0][2]


def test_a_refused_token_request_fails_the_delivery(scripted: tuple[ScriptedWeChat, str]) -> None:
    wechat, base = scripted
    wechat.token_errcode = 40125

    with pytest.raises(DeliveryFailed) as raised:
        _api(base).send_text("oResident1", "one")

    assert raised.value.errcode == 40125
    assert wechat.sends == []


def test_an_unreachable_wechat_fails_the_delivery_without_quoting_the_secret() -> None:
    with pytest.raises(DeliveryFailed) as raised:
        _api(f"http://127.0.0.1:{_free_port()}").send_text("oResident1", "one")

    assert raised.value.errcode is None
    assert raised.value.retryable
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__
    assert "s3cret" not in str(raised.value)


def test_the_client_works_against_the_local_sandbox() -> None:
    port = _free_port()
    sandbox = SandboxServer("127.0.0.1", port, SandboxCredentials(wechat_app_secret="s3cret"))
    sandbox.start()
    try:
        cache = MemoryTokenCache()
        api = _api(f"http://127.0.0.1:{port}/wechat", cache)
        api.send_text("oResident1", "已受理")
        api.send_subscribe_message("oResident1", "TPL1", "pages/index", {"thing1": "路灯"})
        items = sandbox.outbox.items(channel="wechat", to="oResident1")
        wrong_secret = WeChatApi(f"http://127.0.0.1:{port}/wechat", APP_ID, "wrong", MemoryTokenCache(), FakeClock())
        with pytest.raises(DeliveryFailed) as raised:
            wrong_secret.send_text("oResident1", "x")
    finally:
        sandbox.stop()

    assert [(item["kind"], item["payload"]) for item in items] == [
        ("custom", {"touser": "oResident1", "msgtype": "text", "text": {"content": "已受理"}}),
        (
            "subscribe",
            {
                "touser": "oResident1",
                "template_id": "TPL1",
                "page": "pages/index",
                "data": {"thing1": {"value": "路灯"}},
            },
        ),
    ]
    assert cache.entries[f"wechat-access-token#{APP_ID}"][0].startswith("sandbox-")
    assert raised.value.errcode == 40125


# --- the token cache in DynamoDB ------------------------------------------------------------------------


@pytest.fixture
def ephemeral_table() -> Iterator[None]:
    with mock_aws():
        EphemeralRecord.create_table(wait=True)
        yield


@pytest.mark.usefixtures("ephemeral_table")
def test_the_dynamo_cache_keeps_the_token_that_lives_longest() -> None:
    cache = DynamoTokenCache()
    later, earlier = NOW + timedelta(hours=2), NOW + timedelta(hours=1)
    assert cache.get("wechat-access-token#wx1") is None

    cache.put("wechat-access-token#wx1", "newer", later)
    cache.put("wechat-access-token#wx1", "older", earlier)  # a slower function finishing late

    assert cache.get("wechat-access-token#wx1") == ("newer", later)
    assert cache.get("wechat-access-token#wx2") is None
    cache.put("wechat-access-token#wx1", "newest", later + timedelta(hours=1))
    assert cache.get("wechat-access-token#wx1") == ("newest", later + timedelta(hours=1))
