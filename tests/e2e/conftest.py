"""The local stack as a subprocess, on free ports, with a temporary data directory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from tests.conftest import TEST_ENVIRONMENT

PROJECT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
STOP_TIMEOUT = 60.0


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


class LocalStackProcess:
    """``python -m chalicelib.local run`` in a subprocess; the same ports and data across restarts."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.api_port, self.aws_port, self.sandbox_port = _free_ports(3)
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.aws = f"http://127.0.0.1:{self.aws_port}"
        self.sandbox = f"http://127.0.0.1:{self.sandbox_port}"
        self.log_path = data_dir.parent / f"{data_dir.name}-stack.log"
        self._log: IO[bytes] | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the stack and wait until ``GET /health`` answers 200."""
        command = [
            sys.executable,
            "-m",
            "chalicelib.local",
            "run",
            "--data-dir",
            str(self.data_dir),
            "--api-port",
            str(self.api_port),
            "--aws-port",
            str(self.aws_port),
            "--sandbox-port",
            str(self.sandbox_port),
            # Deadlines a thousand times faster: an hour to accept becomes 3.6 s per level.
            "--deadline-scale",
            "0.001",
        ]
        # The stack starts as a developer starts it: without the in-process tests' settings.
        inherited = {k: v for k, v in os.environ.items() if k not in TEST_ENVIRONMENT}
        env = {**inherited, "PYTHONPATH": str(PROJECT), "PYTHONUNBUFFERED": "1"}
        self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_until_healthy()

    def stop(self) -> int | None:
        """SIGTERM and wait for the clean stop; returns the exit code (None if it was not running)."""
        process, self._process = self._process, None
        if process is None:
            return None
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        self._close_log()
        return code

    def kill(self) -> None:
        """SIGKILL: no clean stop, no compaction, as when a laptop crashes."""
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait()
        self._close_log()

    def restart(self) -> None:
        """A clean stop, then a start on the same ports and data directory."""
        code = self.stop()
        assert code == 0, f"the stack stopped with {code}:\n{self.output()}"
        self.start()

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                self._process = None
                self._close_log()
                pytest.fail(f"the local stack exited during start:\n{self.output()}")
            try:
                with urllib.request.urlopen(f"{self.api}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        self.kill()
        pytest.fail(f"/health did not answer within {START_TIMEOUT:.0f} s:\n{self.output()}")

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackProcess]:
    stack = LocalStackProcess(tmp_path_factory.mktemp("local-stack") / "data")
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
