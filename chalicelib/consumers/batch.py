"""Lambda's partial batch answer for SQS and stream handlers (Powertools' batch processing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, process_partial_response


def partial_batch(
    event: dict[str, Any], handler: Callable[[Any], None], processor: BatchProcessor, context: Any
) -> dict[str, Any]:
    """Run ``handler`` per record; only the records that failed are reported back for retry."""
    return dict(process_partial_response(event=event, record_handler=handler, processor=processor, context=context))
