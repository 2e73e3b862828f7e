"""Which function serves what, and what each function may touch: declared once, here.

- An **endpoint group** owns the API routes under its path prefixes and becomes one Lambda
  function in production (all groups share the one deployment package). A new route needs no edit
  here as long as it lies under a known prefix; a route under no prefix fails the build and the
  tests.
- A **handler** is any other function Chalice makes (the authorizer, queue, stream and schedule
  consumers), keyed by its Python name. Each must be declared: a new consumer without a line here
  fails the build, so nobody ships a function whose permissions were never thought about.
- ``Access`` lists the tables (logical names from ``chalicelib.adapters.definitions``) a function
  reads and writes, the queues it sends to, the state machines it starts, whether it signs photo
  URLs, and the secrets (by the ``*_PARAM`` environment variable naming the SSM parameter) it reads.
  The queue or stream a consumer is triggered by is granted from its event source, not declared.

Sizes are production's; ``infra/stages.py`` caps log retention per stage and sizes the
reservations from the account's concurrency quota.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Secrets, by the environment variable that names their SSM parameter (see .chalice/config.json).
# (S105: these are variable names, not secrets.)
JWT_SECRET = "JWT_SECRET_PARAM"  # noqa: S105
PHONE_HASH_KEY = "PHONE_HASH_KEY_PARAM"
SMS_AUTH_TOKEN = "SMS_AUTH_TOKEN_PARAM"  # noqa: S105
WECHAT_APP_SECRET = "WECHAT_APP_SECRET_PARAM"  # noqa: S105
WECHAT_TOKEN = "WECHAT_TOKEN_PARAM"  # noqa: S105  (signs WeChat's webhook calls)
WECHAT_AES_KEY = "WECHAT_AES_KEY_PARAM"  # decrypts WeChat's webhook messages (EncodingAESKey)

# Every API function verifies optional tokens on public routes and hashes phone numbers.
API_SECRETS = frozenset({JWT_SECRET, PHONE_HASH_KEY})


@dataclass(frozen=True)
class Access:
    """What one function may touch. ``writes`` implies read."""

    reads: frozenset[str] = frozenset()
    writes: frozenset[str] = frozenset()
    sends: frozenset[str] = frozenset()
    starts: frozenset[str] = frozenset()
    photos: bool = False
    secrets: frozenset[str] = frozenset()

    @property
    def tables(self) -> frozenset[str]:
        return self.reads | self.writes


def access(
    *,
    reads: set[str] | frozenset[str] = frozenset(),
    writes: set[str] | frozenset[str] = frozenset(),
    sends: set[str] | frozenset[str] = frozenset(),
    starts: set[str] | frozenset[str] = frozenset(),
    photos: bool = False,
    secrets: set[str] | frozenset[str] = frozenset(),
) -> Access:
    return Access(
        reads=frozenset(reads) - frozenset(writes),
        writes=frozenset(writes),
        sends=frozenset(sends),
        starts=frozenset(starts),
        photos=photos,
        secrets=frozenset(secrets),
    )


@dataclass(frozen=True)
class Throttle:
    rate: float  # steady requests per second
    burst: int


@dataclass(frozen=True)
class EndpointGroup:
    key: str
    title: str
    prefixes: tuple[str, ...]
    access: Access
    memory_mb: int = 512
    timeout_s: int = 10
    # Share of the API's reserved concurrency (see BuildContext.reserved_concurrency).
    concurrency_weight: int = 10
    log_retention_days: int = 30


@dataclass(frozen=True)
class HandlerSpec:
    """A function Chalice makes besides the API handler: authorizer or consumer."""

    access: Access
    memory_mb: int = 256
    timeout_s: int = 10
    log_retention_days: int = 30
    # SQS sources: at most this many concurrent invocations (the ESM's MaximumConcurrency).
    max_concurrency: int = 10
    # Stream sources: batches per shard processed at once (order per item key is kept).
    parallelization: int = 1


GROUPS: tuple[EndpointGroup, ...] = (
    EndpointGroup(
        key="signin",
        title="sign-in",
        prefixes=("/v1/auth",),
        access=access(
            writes={"users", "identities", "ephemeral", "idempotency"},
            secrets=API_SECRETS | {SMS_AUTH_TOKEN, WECHAT_APP_SECRET},
        ),
        memory_mb=512,
        timeout_s=10,
        concurrency_weight=10,
    ),
    EndpointGroup(
        key="community",
        title="the tree, joining and me",
        prefixes=("/v1/units", "/v1/grids", "/v1/me", "/health", "/openapi.json", "/docs"),
        access=access(
            writes={"units", "users", "identities", "join-codes", "access-log", "notifications", "idempotency"},
            secrets=API_SECRETS,
        ),
        concurrency_weight=10,
        log_retention_days=90,
    ),
    EndpointGroup(
        key="reports",
        title="reports",
        prefixes=("/v1/reports", "/v1/report-categories", "/v1/units/{}/reports", "/v1/me/reports"),
        access=access(
            reads={"units", "users"},
            writes={"reports", "categories", "idempotency"},
            photos=True,
            secrets=API_SECRETS,
        ),
        memory_mb=1024,
        timeout_s=15,
        concurrency_weight=20,
        log_retention_days=90,
    ),
    EndpointGroup(
        key="chat",
        title="chat",
        prefixes=("/v1/conversations", "/v1/messages"),
        access=access(
            reads={"units", "users", "reports"},
            writes={"conversations", "messages", "chat-members", "ephemeral", "idempotency"},
            photos=True,
            secrets=API_SECRETS,
        ),
        concurrency_weight=10,
    ),
    EndpointGroup(
        key="webhooks",
        title="WeChat and SMS webhooks",
        prefixes=("/v1/webhooks",),
        access=access(
            writes={"ephemeral", "channel-prefs"},  # first-delivery marks (TTL); STOP/START
            sends={"inbound"},
            secrets=API_SECRETS | {WECHAT_TOKEN, WECHAT_AES_KEY, SMS_AUTH_TOKEN},
        ),
        timeout_s=5,  # WeChat gives a webhook five seconds
        concurrency_weight=5,
    ),
    EndpointGroup(
        key="selfreports",
        title="health self-reports",
        prefixes=("/v1/health-reports", "/v1/me/health-reports", "/v1/units/{}/health-"),
        access=access(reads={"units", "users"}, writes={"access-log", "idempotency"}, secrets=API_SECRETS),
        concurrency_weight=20,  # the surge of an epidemic lands here first
    ),
    EndpointGroup(
        key="deliberation",
        title="deliberation and services",
        prefixes=(
            "/v1/proposals",
            "/v1/units/{}/proposals",
            "/v1/services",
            "/v1/activities",
            "/v1/notices",
            "/v1/units/{}/notices",
        ),
        access=access(reads={"units", "users"}, writes={"idempotency"}, secrets=API_SECRETS),
        concurrency_weight=5,
    ),
    EndpointGroup(
        key="counselling",
        title="counselling and consultations",
        prefixes=("/v1/counseling", "/v1/me/counseling", "/v1/consultations"),
        access=access(reads={"units", "users"}, writes={"access-log", "idempotency"}, secrets=API_SECRETS),
        concurrency_weight=5,
    ),
    EndpointGroup(
        key="statistics",
        title="statistics",
        prefixes=("/v1/units/{}/stats",),
        access=access(reads={"counters", "units"}, secrets=API_SECRETS),
        memory_mb=1024,
        timeout_s=29,  # API Gateway's integration limit
        concurrency_weight=3,
        log_retention_days=90,
    ),
    EndpointGroup(
        key="open311",
        title="Open311 GeoReport v2",
        prefixes=("/open311",),
        access=access(
            reads={"units", "users", "categories"},
            writes={"reports", "idempotency"},
            secrets=API_SECRETS,
        ),
        timeout_s=15,
        concurrency_weight=2,
        log_retention_days=90,
    ),
)

# Routes throttled below the stage's limit (method, path as the app declares it): each accepted
# request here costs money (an SMS), so a script hammering it must be cut off at the edge.
ROUTE_THROTTLES: dict[tuple[str, str], Throttle] = {
    ("POST", "/v1/auth/sms/code"): Throttle(rate=100, burst=200),
}

HANDLERS: dict[str, HandlerSpec] = {
    "jwt_authorizer": HandlerSpec(access=access(secrets={JWT_SECRET}), memory_mb=512, timeout_s=5),
    "deliver_notifications": HandlerSpec(
        access=access(
            reads={"channel-prefs", "users"},
            writes={"notifications", "ephemeral"},  # sent marks and the shared WeChat access token
            secrets={SMS_AUTH_TOKEN, WECHAT_APP_SECRET, PHONE_HASH_KEY},
        ),
        max_concurrency=20,
    ),
    "on_inbound_message": HandlerSpec(
        access=access(
            reads={"users", "identities", "units", "categories", "channel-prefs"},
            writes={"conversations", "messages", "chat-members", "ephemeral", "reports"},
            secrets={SMS_AUTH_TOKEN, WECHAT_APP_SECRET, PHONE_HASH_KEY},
        ),
        memory_mb=512,
        timeout_s=30,
    ),
    "on_message_posted": HandlerSpec(
        access=access(reads={"chat-members", "users"}, sends={"notifications"}),
        timeout_s=30,
    ),
    "on_user_changed": HandlerSpec(access=access(reads={"users"}, sends={"notifications"}), timeout_s=30),
    "on_report_changed": HandlerSpec(
        access=access(
            reads={"units", "users"},
            writes={"reports", "counters"},
            sends={"notifications"},
            starts={"escalation"},
        ),
        memory_mb=512,
        timeout_s=60,
        parallelization=4,
    ),
    "on_escalation_event": HandlerSpec(
        access=access(reads={"reports", "units", "users"}, sends={"notifications"}),
        memory_mb=512,
    ),
    "rearm_escalations": HandlerSpec(
        access=access(reads={"reports"}, starts={"escalation"}),
        memory_mb=512,
        timeout_s=300,
    ),
    "close_unrated_reports": HandlerSpec(
        access=access(reads={"categories", "units", "users"}, writes={"reports"}),
        memory_mb=512,
        timeout_s=300,
    ),
}


class UnmappedRoute(LookupError):
    """An API route lies under no endpoint group's prefix."""

    def __init__(self, path: str) -> None:
        super().__init__(f"route {path} belongs to no endpoint group: add its prefix to one of infra/groups.py GROUPS")
        self.path = path


class UndeclaredHandler(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"Chalice makes a function for {name!r}, which infra/groups.py HANDLERS does not declare: "
            "say what it reads, writes, sends and which secrets it needs"
        )
        self.name = name


_PARAM = re.compile(r"\{[^}]*\}")


def normalise(path: str) -> str:
    """``/v1/units/{unit_id}/reports`` → ``/v1/units/{}/reports``: parameter names do not matter."""
    return _PARAM.sub("{}", path)


def prefix_matches(prefix: str, path: str) -> bool:
    """Whether ``path`` lies under ``prefix``: equal, or continuing at a segment boundary.

    ``/v1/me`` covers ``/v1/me/reports`` but not ``/v1/mentions``; ``/v1/units/{}/stats`` covers
    ``/v1/units/{}/stats.csv``; a prefix ending in ``-`` (``/v1/units/{}/health-``) covers every
    segment that starts with it.
    """
    prefix, path = normalise(prefix), normalise(path)
    if path == prefix:
        return True
    if not path.startswith(prefix):
        return False
    return prefix.endswith(("/", "-")) or path[len(prefix)] in "/."


def group_for(path: str, groups: tuple[EndpointGroup, ...] = GROUPS) -> EndpointGroup:
    """The group whose longest prefix covers ``path``; raises ``UnmappedRoute`` if none does."""
    best: tuple[int, EndpointGroup] | None = None
    for group in groups:
        for prefix in group.prefixes:
            if prefix_matches(prefix, path) and (best is None or len(normalise(prefix)) > best[0]):
                best = (len(normalise(prefix)), group)
    if best is None:
        raise UnmappedRoute(path)
    return best[1]


def handler_spec(name: str) -> HandlerSpec:
    try:
        return HANDLERS[name]
    except KeyError:
        raise UndeclaredHandler(name) from None
