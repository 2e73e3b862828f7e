"""moto in server mode, in a thread of the stack's process."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request

from moto.server import ThreadedMotoServer

logger = logging.getLogger(__name__)


class MotoEndpoint:
    """The local AWS endpoint: DynamoDB (with streams), SQS, Step Functions (executing) and S3."""

    def __init__(self, host: str, port: int, dial_host: str = "127.0.0.1") -> None:
        self._host = host
        self._port = port
        self.url = f"http://{dial_host}:{port}"
        self._server: ThreadedMotoServer | None = None

    def start(self) -> None:
        """Serve, then switch on real execution of state machines."""
        # werkzeug logs every request at INFO; the pump alone makes several a second.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        # moto's Step Functions engine calls DynamoDB/SQS back through this port.
        os.environ["MOTO_PORT"] = str(self._port)
        self._server = ThreadedMotoServer(ip_address=self._host, port=self._port, verbose=False)
        # ThreadedMotoServer.start() waits forever if its server cannot bind (a port taken since
        # the stack checked it); wait on it from the side instead.
        starter = threading.Thread(target=self._server.start, name="moto-start", daemon=True)
        starter.start()
        starter.join(10.0)
        if starter.is_alive():
            raise OSError(f"the local AWS endpoint could not listen on {self._host}:{self._port}")
        self._wait_until_up(timeout=10.0)
        # moto's state lives in module globals: a second start in one process (tests) must still
        # begin from nothing, exactly like a fresh process.
        self._post("/moto-api/reset", {})
        self._post("/moto-api/config", {"stepfunctions": {"execute_state_machine": True}})
        logger.info("local AWS endpoint on %s", self.url)

    def stop(self) -> None:
        """Stop serving; everything moto held in memory is gone afterwards."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def _wait_until_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # any HTTP answer means the server is listening
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _post(self, path: str, payload: dict[str, object]) -> None:
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5):
            pass
