"""The local stage's environment, the ports, and the command line's refusal of taken ports."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from chalicelib.local.environment import Ports, load_chalice_config, stage_environment
from tests.unit.local.conftest import free_port

PROJECT = Path(__file__).resolve().parents[3]


def test_the_stage_environment_follows_the_chosen_ports() -> None:
    env = stage_environment(load_chalice_config(PROJECT), Ports(host="0.0.0.0", api=1, aws=2, sandbox=3))

    assert env["STAGE"] == "local"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:2"
    assert env["SMS_API_BASE"] == "http://127.0.0.1:3/sms"
    assert env["WECHAT_API_BASE"] == "http://127.0.0.1:3/wechat"
    assert env["MOTO_PORT"] == "2"
    assert env["POWERTOOLS_SERVICE_NAME"] == "weilinli"  # top-level variables are merged in


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chalicelib.local", "run", *args],
        cwd=PROJECT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_taken_port_is_named_and_exits_with_2() -> None:
    api, sandbox = free_port(), free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        result = _run("--api-port", str(api), "--aws-port", str(taken), "--sandbox-port", str(sandbox))

    assert result.returncode == 2
    assert f"port {taken} (aws)" in result.stderr
    assert "--aws-port" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_two_servers_on_one_port_are_refused() -> None:
    port = free_port()
    result = _run("--api-port", str(port), "--aws-port", str(free_port()), "--sandbox-port", str(port))

    assert result.returncode == 2
    assert "--sandbox-port and --api-port are both" in result.stderr
