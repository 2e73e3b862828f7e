"""A stand-in for the outbound providers (Twilio-style SMS, WeChat), so the app's real HTTP client
code runs locally. Everything "sent" lands in an outbox that tests and developers can read at
``GET /_sandbox/outbox`` (filters: ``channel``, ``to``, ``kind``) and clear with ``DELETE``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
import logging
import re
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger(__name__)

OUTBOX_LIMIT = 1000
# Tokens are derived from the app id and secret, so they stay valid across a restart of the
# stack, as a real access token outlives a restart of the app.
_TOKEN_PREFIX = "sandbox-"  # noqa: S105 - a marker, not a secret

Payload = dict[str, Any]
Reply = tuple[int, Payload]


@dataclass(frozen=True)
class SandboxCredentials:
    """What the fake providers accept; None accepts anything."""

    sms_auth_token: str | None = None
    wechat_app_secret: str | None = None


class Outbox:
    """Everything the app sent, oldest first (the newest ``OUTBOX_LIMIT`` entries)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: deque[Payload] = deque(maxlen=OUTBOX_LIMIT)

    def add(self, channel: str, kind: str, to: str, **fields: Any) -> Payload:
        item = {"channel": channel, "kind": kind, "to": to, **fields, "at": _now_iso()}
        with self._lock:
            self._items.append(item)
        return item

    def items(self, channel: str | None = None, to: str | None = None, kind: str | None = None) -> list[Payload]:
        with self._lock:
            items = list(self._items)
        return [
            item
            for item in items
            if (channel is None or item["channel"] == channel)
            and (to is None or item["to"] == to)
            and (kind is None or item["kind"] == kind)
        ]

    def clear(self) -> int:
        with self._lock:
            count = len(self._items)
            self._items.clear()
        return count


@dataclass
class SandboxState:
    credentials: SandboxCredentials = field(default_factory=SandboxCredentials)
    outbox: Outbox = field(default_factory=Outbox)
    message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_000_001))


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes


# --- SMS (Twilio's Messages resource) ------------------------------------------------------------


def send_sms(state: SandboxState, request: Request, match: re.Match[str]) -> Reply:
    account = match["account"]
    user, password = _basic_auth(request.headers.get("authorization", ""))
    expected = state.credentials.sms_auth_token
    if user != account or (expected is not None and password != expected):
        return 401, {"code": 20003, "message": "Authenticate", "status": 401}
    form = {name: values[0] for name, values in parse_qs(request.body.decode("utf-8")).items()}
    to = form.get("To", "").strip()
    if not to:
        return 400, {"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}
    sid = "SM" + uuid.uuid4().hex
    sender, body = form.get("From", ""), form.get("Body", "")
    state.outbox.add("sms", "sms", to, body=body, sid=sid, **{"from": sender})
    return 201, {
        "sid": sid,
        "account_sid": account,
        "status": "queued",
        "to": to,
        "from": sender,
        "body": body,
        "num_segments": "1",
        "date_created": format_datetime(datetime.now(UTC), usegmt=True),
    }


# --- WeChat -----------------------------------------------------------------------------------


def jscode2session(state: SandboxState, request: Request, match: re.Match[str]) -> Reply:
    problem = _app_problem(state, request.query)
    if problem:
        return problem
    if request.query.get("grant_type") != "authorization_code":
        return 200, {"errcode": 40002, "errmsg": "invalid grant_type"}
    code = request.query.get("js_code", "")
    if not code or code.startswith("bad"):
        return 200, {"errcode": 40029, "errmsg": "invalid code"}
    # The openid rule (sha1 of the code) is what tests and demo data rely on; not security.
    digest = hashlib.sha1(code.encode(), usedforsecurity=False).hexdigest()
    session_key = base64.b64encode(hashlib.sha256(f"{code}:session".encode()).digest()[:16]).decode()
    return 200, {"openid": "o" + digest[:27], "session_key": session_key, "unionid": None}


def access_token(state: SandboxState, request: Request, match: re.Match[str]) -> Reply:
    problem = _app_problem(state, request.query)
    if problem:
        return problem
    if request.query.get("grant_type") != "client_credential":
        return 200, {"errcode": 40002, "errmsg": "invalid grant_type"}
    seed = f"{request.query['appid']}:{request.query['secret']}".encode()
    token = _TOKEN_PREFIX + hashlib.sha256(seed).hexdigest()[:40]
    return 200, {"access_token": token, "expires_in": 7200}


def send_wechat_message(state: SandboxState, request: Request, match: re.Match[str]) -> Reply:
    kind = match["kind"]
    if not request.query.get("access_token", "").startswith(_TOKEN_PREFIX):
        return 200, {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
    try:
        payload = json.loads(request.body or b"null")
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return 200, {"errcode": 47001, "errmsg": "data format error"}
    if not payload.get("touser"):
        return 200, {"errcode": 40003, "errmsg": "invalid openid"}
    if kind == "subscribe" and not payload.get("template_id"):
        return 200, {"errcode": 40037, "errmsg": "invalid template_id"}
    msgid = next(state.message_ids)
    state.outbox.add("wechat", kind, str(payload["touser"]), payload=payload, msgid=msgid)
    return 200, {"errcode": 0, "errmsg": "ok", "msgid": msgid}


def _app_problem(state: SandboxState, query: dict[str, str]) -> Reply | None:
    if not query.get("appid"):
        return 200, {"errcode": 41002, "errmsg": "appid missing"}
    if not query.get("secret"):
        return 200, {"errcode": 41004, "errmsg": "appsecret missing"}
    expected = state.credentials.wechat_app_secret
    if expected is not None and query["secret"] != expected:
        return 200, {"errcode": 40125, "errmsg": "invalid appsecret"}
    return None


# --- the outbox ---------------------------------------------------------------------------------


def read_outbox(state: SandboxState, request: Request, match: re.Match[str]) -> Reply:
    query = request.query
    return 200, {"items": state.outbox.items(query.get("channel"), query.get("to"), query.get("kind"))}


def clear_outbox(state: SandboxState, request: Request, match: re.Match[str]) -> Reply:
    return 200, {"cleared": state.outbox.clear()}


Route = tuple[str, re.Pattern[str], Callable[[SandboxState, Request, re.Match[str]], Reply]]
ROUTES: list[Route] = [
    ("POST", re.compile(r"^/sms/2010-04-01/Accounts/(?P<account>[^/]+)/Messages\.json$"), send_sms),
    ("GET", re.compile(r"^/wechat/sns/jscode2session$"), jscode2session),
    ("GET", re.compile(r"^/wechat/cgi-bin/token$"), access_token),
    ("POST", re.compile(r"^/wechat/cgi-bin/message/(?P<kind>subscribe|custom)/send$"), send_wechat_message),
    ("GET", re.compile(r"^/_sandbox/outbox/?$"), read_outbox),
    ("DELETE", re.compile(r"^/_sandbox/outbox/?$"), clear_outbox),
]


def route(state: SandboxState, request: Request) -> Reply:
    """Answer one request the way the provider would."""
    path_known = False
    for method, pattern, handler in ROUTES:
        match = pattern.match(request.path)
        if match:
            path_known = True
            if method == request.method:
                return handler(state, request, match)
    if path_known:
        return 405, {"message": f"{request.method} is not allowed on {request.path}"}
    return 404, {"message": f"the sandbox has nothing at {request.path}"}


class _SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _SandboxHttpServer

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_DELETE(self) -> None:
        self._answer()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("sandbox: " + format, *args)

    def _answer(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            method=self.command,
            path=url.path,
            query={name: values[0] for name, values in parse_qs(url.query, keep_blank_values=True).items()},
            headers={name.lower(): value for name, value in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        try:
            status, payload = route(self.server.state, request)
        except Exception:  # a sandbox bug must show up as a 500, not a dropped connection
            logger.exception("sandbox: %s %s failed", request.method, request.path)
            status, payload = 500, {"message": "sandbox error"}
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _SandboxHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: SandboxState) -> None:
        self.state = state
        super().__init__(address, _SandboxHandler)


class SandboxServer:
    """The sandbox, served from a thread."""

    def __init__(self, host: str, port: int, credentials: SandboxCredentials | None = None) -> None:
        self.state = SandboxState(credentials=credentials or SandboxCredentials())
        self._server = _SandboxHttpServer((host, port), self.state)
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox", daemon=True)

    @property
    def outbox(self) -> Outbox:
        return self.state.outbox

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _basic_auth(header: str) -> tuple[str | None, str | None]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        user, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    return user, password


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
