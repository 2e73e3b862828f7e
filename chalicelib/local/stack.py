"""The local stack, start to stop.

Import this module only after ``environment.apply_environment``: it imports the app's settings and
definitions, which read the environment once.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from chalice.app import Chalice

from chalicelib.adapters import definitions
from chalicelib.local.api_server import ApiServer, local_stage_config
from chalicelib.local.awsclients import aws_client
from chalicelib.local.environment import Ports
from chalicelib.local.journal import DataDir, Journal, compact
from chalicelib.local.moto_server import MotoEndpoint
from chalicelib.local.persistence import (
    replay_tables,
    restore_buckets,
    restore_queue_messages,
    save_buckets,
    save_queue_messages,
)
from chalicelib.local.pump import EventPump, PumpClients, PumpOptions
from chalicelib.local.resources import BucketPlan, CreatedResources, QueuePlan, StateMachinePlan, create_all
from chalicelib.local.sandbox import SandboxCredentials, SandboxServer
from chalicelib.settings import Settings, get_settings

logger = logging.getLogger(__name__)

DEMO_MODULE = "chalicelib.local.demo"
# Makes Chalice's local gateway answer a refused token with 401 as API Gateway does.
GATEWAY_MODULE = "chalicelib.local.gateway"


@dataclass(frozen=True)
class StackOptions:
    ports: Ports
    data_dir: Path
    project_dir: Path
    config_from_disk: dict[str, Any]
    app_module: str = "app"
    schedule_speedup: float = 1.0
    # The demo module's hooks (restore hook, demo data); off for tests that bring their own app.
    use_demo: bool = True


@dataclass
class _Running:
    """What has been started, so a stop (or a failed start) undoes exactly that."""

    moto: MotoEndpoint | None = None
    sandbox: SandboxServer | None = None
    journal: Journal | None = None
    pump: EventPump | None = None
    api: ApiServer | None = None
    resources: CreatedResources = field(default_factory=CreatedResources)


def optional_function(module_name: str, name: str) -> Callable[..., Any] | None:
    """``module_name.name`` if both exist (the app's side of the stack may not have it yet), else None."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise  # the module exists but is broken: say so
        return None
    function = getattr(module, name, None)
    return function if callable(function) else None


def demo_function(name: str) -> Callable[..., Any] | None:
    """A function of the demo module, or None while that module or function does not exist."""
    return optional_function(DEMO_MODULE, name)


def queue_plans(settings: Settings) -> list[QueuePlan]:
    """The app's queues (from the definitions) with this stage's names."""
    plans = []
    for spec in definitions.QUEUES:
        name, dlq_name = definitions.queue_names(settings, spec)
        plans.append(QueuePlan(name, dlq_name, spec.visibility_timeout, spec.max_receive_count, spec.retention_seconds))
    return plans


def state_machine_plans(settings: Settings) -> list[StateMachinePlan]:
    """The app's state machines, once the definitions declare any."""
    machines = getattr(definitions, "STATE_MACHINES", ())
    return [StateMachinePlan(machine.name(settings), machine.definition(settings)) for machine in machines]


def bucket_plans(settings: Settings) -> list[BucketPlan]:
    """The app's buckets, once the definitions declare any."""
    buckets = getattr(definitions, "BUCKETS", ())
    return [BucketPlan(bucket.name(settings), tuple(getattr(bucket, "cors_origins", ("*",)))) for bucket in buckets]


class LocalStack:
    """moto, the sandbox, the event pump and the API in one process."""

    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.settings = get_settings()
        self.data = DataDir(options.data_dir)
        # Called after the data is back and the pump runs (e.g. to re-arm open reports' escalations).
        self.on_restored: list[Callable[[], Any]] = []
        self._running = _Running()
        self._clients: dict[str, Any] = {}

    @property
    def resources(self) -> CreatedResources:
        """The tables' streams, queue URLs and state machine ARNs created on the local endpoint."""
        return self._running.resources

    def client(self, service: str) -> Any:
        """The stack's own boto3 client for ``service`` (dynamodb, dynamodbstreams, sqs, stepfunctions)."""
        return self._clients[service]

    def start(self) -> dict[str, Any]:
        """Bring everything up; returns what the demo loader reported (tokens, notes)."""
        try:
            return self._start()
        except BaseException:
            logger.error("the stack did not start; stopping what did")
            self.stop()
            raise

    def stop(self) -> None:
        """Stop in reverse order, keeping every byte of data; safe to call more than once."""
        running = self._running
        if running.api is not None:
            _attempt("stop the API", running.api.stop)
        if running.pump is not None:
            _attempt("stop the event pump", running.pump.stop)
        if running.journal is not None:
            _attempt("close the journal", running.journal.close)
        if running.moto is not None and running.resources.queue_urls:
            _attempt("save queued messages", self._save_queues)
        if running.moto is not None and running.resources.buckets:
            _attempt("save the buckets' objects", self._save_buckets)
        if running.journal is not None:
            _attempt("compact the journal", self._compact)
        if running.sandbox is not None:
            _attempt("stop the sandbox", running.sandbox.stop)
        if running.moto is not None:
            _attempt("stop the AWS endpoint", running.moto.stop)
        self._running = _Running()

    def run_until_signalled(self) -> int:
        """Start, wait for SIGINT or SIGTERM, stop cleanly; returns the exit code."""
        stop_requested = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            if stop_requested.is_set():
                # A second Ctrl-C while stopping: quit now. The journal already holds the data.
                logger.warning("second signal: quitting without a clean stop")
                os._exit(1)
            stop_requested.set()

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        demo = self.start()
        print(self.banner(demo), flush=True)
        stop_requested.wait()
        logger.info("stopping")
        self.stop()
        logger.info("stopped; data kept in %s", self.data.root)
        return 0

    def banner(self, demo: dict[str, Any]) -> str:
        """What a developer needs to start poking at the stack."""
        ports = self.options.ports
        tokens: dict[str, str] = demo.get("tokens") or {}
        lines = [
            "",
            "Weilinli local stack is up",
            f"  API            {ports.api_url}   (stage local)",
            f"  AWS endpoint   {ports.aws_url}   (AWS_ENDPOINT_URL for boto3 / the aws CLI)",
            f"  Sandbox outbox {ports.sandbox_url}/_sandbox/outbox",
            f"  Data           {self.data.root}",
        ]
        width = max((len(name) for name in tokens), default=0)
        for name, token in tokens.items():
            lines.append(f"  token {name:<{width}}  {token}")
        # The demo may key tokens by role ("resident") or by person ("chenwen (陈雯, resident)").
        resident = next((token for name, token in tokens.items() if "resident" in name), None)
        if resident:
            lines.append(f'  Try: curl -H "Authorization: Bearer {resident}" {ports.api_url}/v1/me')
        else:
            lines.append(f"  Try: curl {ports.api_url}/health")
        lines.extend(f"  {note}" for note in demo.get("notes") or [])
        lines.append("Ctrl-C stops cleanly and keeps the data.")
        return "\n".join(lines)

    def _start(self) -> dict[str, Any]:
        options, running = self.options, self._running
        self.data.ensure()
        # Import the app before any server starts: a broken app.py should fail fast.
        app = _import_app(options.app_module)
        running.moto = MotoEndpoint(options.ports.host, options.ports.aws, options.ports.dial_host)
        running.moto.start()
        self._clients = {
            service: aws_client(service, running.moto.url, self.settings.region)
            for service in ("dynamodb", "dynamodbstreams", "sqs", "stepfunctions", "s3")
        }
        running.resources = create_all(
            self._clients,
            definitions.tables(),
            queue_plans(self.settings),
            state_machine_plans(self.settings),
            bucket_plans(self.settings),
        )
        self._restore()
        running.sandbox = SandboxServer(options.ports.host, options.ports.sandbox, _sandbox_credentials())
        running.sandbox.start()
        # The journal and the pump start only now, so the replay is neither journalled again nor
        # handed to the app's stream handlers.
        running.journal = Journal(self.data.journal)
        clients = self._clients
        running.pump = EventPump(
            app=app,
            clients=PumpClients(clients["sqs"], clients["dynamodb"], clients["dynamodbstreams"], self.settings.region),
            tables=running.resources.streams,
            queue_urls=running.resources.queue_urls,
            journal=running.journal,
            options=PumpOptions(schedule_speedup=options.schedule_speedup),
        )
        running.pump.start()
        self._after_restore()
        demo = self._load_demo_data()
        install_gateway = optional_function(GATEWAY_MODULE, "install")
        if install_gateway is not None:
            install_gateway()
        config = local_stage_config(app, options.config_from_disk, options.project_dir)
        running.api = ApiServer(app, config, options.ports.host, options.ports.api)
        running.api.start()
        return demo

    def _restore(self) -> None:
        # Fold a crashed run's journal into the snapshot first: the journal then starts empty.
        state = compact(self.data)
        written = replay_tables(self._clients["dynamodb"], state, self._running.resources.streams)
        queue_urls = self._running.resources.queue_urls
        sent = restore_queue_messages(self._clients["sqs"], queue_urls, self.data.queues)
        objects = restore_buckets(self._clients["s3"], self._running.resources.buckets, self.data.s3)
        logger.info(
            "restored %d items, %d queued messages and %d objects from %s", written, sent, objects, self.data.root
        )

    def _after_restore(self) -> None:
        hooks = list(self.on_restored)
        after_restore = demo_function("after_restore") if self.options.use_demo else None
        if after_restore is not None:
            hooks.append(after_restore)
        for hook in hooks:
            _attempt(f"run the restore hook {getattr(hook, '__qualname__', hook)}", hook)

    def _load_demo_data(self) -> dict[str, Any]:
        if not self.options.use_demo:
            return {}
        load = demo_function("load_demo_data")
        if load is None:
            logger.info("no %s.load_demo_data yet: starting without demo data", DEMO_MODULE)
            return {}
        result = load()
        return result if isinstance(result, dict) else {}

    def _save_queues(self) -> None:
        urls = self._running.resources.queue_urls
        dlq_names = {plan.dlq_name for plan in queue_plans(self.settings)}
        # Source queues first: draining them may move messages into their DLQs.
        ordered = {name: url for name, url in urls.items() if name not in dlq_names}
        ordered.update({name: url for name, url in urls.items() if name in dlq_names})
        saved = save_queue_messages(self._clients["sqs"], ordered, self.data.queues)
        logger.info("saved %d queued messages", saved)

    def _save_buckets(self) -> None:
        saved = save_buckets(self._clients["s3"], self._running.resources.buckets, self.data.s3)
        logger.info("saved %d objects", saved)

    def _compact(self) -> None:
        state = compact(self.data)
        logger.info("snapshot written: %d items", state.count())


def _import_app(module_name: str) -> Chalice:
    module = importlib.import_module(module_name)
    app = getattr(module, "app", None)
    if not isinstance(app, Chalice):
        raise TypeError(f"{module_name}.app is not a Chalice app")
    return app


def _sandbox_credentials() -> SandboxCredentials:
    # The sandbox checks the same secrets the app sends, so a misconfigured client fails locally.
    return SandboxCredentials(
        sms_auth_token=os.environ.get("SMS_AUTH_TOKEN") or None,
        wechat_app_secret=os.environ.get("WECHAT_APP_SECRET") or None,
    )


def _attempt(what: str, step: Callable[[], Any]) -> None:
    """Run one stop step; a failure is logged and the next steps still run."""
    try:
        step()
    except Exception:
        logger.exception("could not %s", what)
