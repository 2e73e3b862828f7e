"""The API, served by Chalice's own local server (routes, CORS, built-in authorizers)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from chalice.app import Chalice
from chalice.config import Config
from chalice.constants import DEFAULT_APIGATEWAY_STAGE_NAME, DEFAULT_ENDPOINT_TYPE
from chalice.deploy.validate import validate_routes
from chalice.local import LocalChalice, LocalDevServer, create_local_server

from chalicelib.local.environment import LOCAL_STAGE

logger = logging.getLogger(__name__)


def local_stage_config(app: Chalice, config_from_disk: dict[str, Any], project_dir: Path) -> Config:
    """The same Config ``chalice local --stage local`` would build, for an already imported app."""
    return Config(
        chalice_stage=LOCAL_STAGE,
        user_provided_params={"chalice_app": app},
        config_from_disk=config_from_disk,
        default_params={
            "project_dir": str(project_dir),
            "api_gateway_stage": DEFAULT_APIGATEWAY_STAGE_NAME,
            "api_gateway_endpoint_type": DEFAULT_ENDPOINT_TYPE,
            "autogen_policy": True,
        },
    )


class ApiServer:
    """Chalice's local server in a thread; it serves each request in a thread of its own."""

    def __init__(self, app: Chalice, config: Config, host: str, port: int) -> None:
        # `chalice local` refuses routes API Gateway would refuse; so do we.
        validate_routes(app.routes)
        if isinstance(app, LocalChalice):
            # Already made thread-local by an earlier server in this process (tests restart the
            # stack in-process); converting it twice would make its class its own base.
            self._server = LocalDevServer(app, config, host, port)
        else:
            self._server = create_local_server(app, config, host, port)
        self._thread = threading.Thread(target=self._server.server.serve_forever, name="api", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server.server_close()
