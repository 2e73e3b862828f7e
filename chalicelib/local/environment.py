"""The local stage's environment and the stack's addresses.

The settings module parses ``os.environ`` once, at first use, and the PynamoDB records read it when
they are imported. So the stack must put the ``local`` stage's variables (from
``.chalice/config.json``, the same ones ``chalice local`` would use) into the environment before
anything else from ``chalicelib`` is imported. This module imports nothing from ``chalicelib``.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from chalice.config import Config

LOCAL_STAGE = "local"
CHALICE_CONFIG = Path(".chalice") / "config.json"

# Variables that name one of the stack's own servers: they follow the ports actually chosen.
_SANDBOX_URLS = ("SMS_API_BASE", "WECHAT_API_BASE")
_WILDCARD_HOSTS = ("", "0.0.0.0", "::")


class StackConfigError(Exception):
    """The project or the command line does not describe a stack that can start."""


@dataclass(frozen=True)
class Ports:
    """Where the stack's servers listen."""

    host: str = "127.0.0.1"
    api: int = 8000
    aws: int = 4566
    sandbox: int = 8025

    @property
    def dial_host(self) -> str:
        # A wildcard bind address is not something a client can connect to.
        return "127.0.0.1" if self.host in _WILDCARD_HOSTS else self.host

    @property
    def api_url(self) -> str:
        return f"http://{self.dial_host}:{self.api}"

    @property
    def aws_url(self) -> str:
        return f"http://{self.dial_host}:{self.aws}"

    @property
    def sandbox_url(self) -> str:
        return f"http://{self.dial_host}:{self.sandbox}"

    def named(self) -> list[tuple[str, int]]:
        """(option name, port) for every server, in start order."""
        return [("aws", self.aws), ("sandbox", self.sandbox), ("api", self.api)]


def load_chalice_config(project_dir: Path) -> dict[str, Any]:
    """The project's ``.chalice/config.json``; StackConfigError if it is missing or lacks the local stage."""
    path = project_dir / CHALICE_CONFIG
    try:
        config: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise StackConfigError(f"{path} not found: run the local stack from the project's root") from exc
    except ValueError as exc:
        raise StackConfigError(f"{path} is not valid JSON: {exc}") from exc
    if LOCAL_STAGE not in config.get("stages", {}):
        raise StackConfigError(f"{path} has no '{LOCAL_STAGE}' stage")
    return config


def stage_environment(config_from_disk: dict[str, Any], ports: Ports) -> dict[str, str]:
    """The local stage's environment variables, pointed at the stack's actual ports."""
    # Chalice's own Config merges the top-level and the stage's variables, as `chalice local` does.
    config = Config(chalice_stage=LOCAL_STAGE, config_from_disk=config_from_disk)
    env = {name: str(value) for name, value in config.environment_variables.items()}
    env["AWS_ENDPOINT_URL"] = ports.aws_url
    for name in _SANDBOX_URLS:
        if name in env:
            env[name] = _with_base(env[name], ports.sandbox_url)
    # moto's Step Functions engine calls back into the endpoint on this port.
    env["MOTO_PORT"] = str(ports.aws)
    return env


def apply_environment(env: Mapping[str, str]) -> None:
    """Put the stage's variables into this process's environment (before chalicelib is imported)."""
    os.environ.update(env)


def duplicate_port(ports: Ports) -> tuple[str, str, int] | None:
    """Two servers asked to share one port: (first name, second name, port), or None."""
    seen: dict[int, str] = {}
    for name, port in ports.named():
        if port in seen:
            return seen[port], name, port
        seen[port] = name
    return None


def first_taken_port(ports: Ports) -> tuple[str, int] | None:
    """The first (option name, port) that cannot be bound on the host, or None when all are free."""
    for name, port in ports.named():
        if not port_is_free(ports.host, port):
            return name, port
    return None


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on host:port right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # Like the servers themselves: a port held only by TIME_WAIT connections of a previous
        # run is free; a port with a listener is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _with_base(url: str, base: str) -> str:
    """``url`` with its scheme and host:port replaced by those of ``base`` (its path is kept)."""
    parts = urlsplit(url)
    new = urlsplit(base)
    return urlunsplit((new.scheme, new.netloc, parts.path, parts.query, parts.fragment))
