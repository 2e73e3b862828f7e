"""Powertools Logger (JSON, correlation id = the request id) and Metrics (EMF), made once.

The Tracer pulls in the X-Ray SDK (about 0.4 s of cold start), so it is imported only where
tracing is switched on in settings.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths

from chalicelib.settings import get_settings

_settings = get_settings()

logger = Logger(service="weilinli", level=_settings.log_level)
metrics = Metrics(namespace=_settings.metrics_namespace, service="weilinli")


def register(app: Any) -> None:
    """Wire logging, metrics and (if switched on) tracing into every handler of ``app``."""
    from chalice import ConvertToMiddleware

    app.register_middleware(
        ConvertToMiddleware(logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)),
        "http",
    )
    for event_type in ("sqs", "dynamodb", "scheduled"):
        app.register_middleware(ConvertToMiddleware(logger.inject_lambda_context), event_type)
    app.register_middleware(ConvertToMiddleware(metrics.log_metrics), "all")
    if _settings.tracing_enabled:
        from aws_lambda_powertools import Tracer

        tracer = Tracer(service="weilinli")
        app.register_middleware(ConvertToMiddleware(tracer.capture_lambda_handler), "all")
