"""The event pump: what Lambda's event-source mappings and EventBridge do in AWS, in threads."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from chalice.app import Chalice

from chalicelib.local.journal import Journal
from chalicelib.local.moto_internals import ShardIteratorJanitor, stream_change_marker
from chalicelib.local.resources import TableStream
from chalicelib.local.schedules import Scheduler
from chalicelib.local.sources import EventSources, discover
from chalicelib.local.sqs_pump import InFlightMessages, SqsPoller
from chalicelib.local.stream_pump import RetryPolicy, StreamDispatcher, StreamReader

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PumpOptions:
    schedule_speedup: float = 1.0
    stream_retry: RetryPolicy = field(default_factory=RetryPolicy)
    # How long a stop waits for stream handlers to work through what is already queued.
    drain_timeout: float = 5.0
    # True when moto runs in this process: the reader may then peek instead of polling.
    in_process_moto: bool = True


@dataclass(frozen=True)
class PumpClients:
    sqs: Any
    dynamodb: Any
    streams: Any
    region: str


class EventPump:
    """Feeds the app's handlers from the queues, the streams and the clock; journals every change."""

    def __init__(
        self,
        *,
        app: Chalice,
        clients: PumpClients,
        tables: dict[str, TableStream],
        queue_urls: dict[str, str],
        journal: Journal | None,
        options: PumpOptions | None = None,
    ) -> None:
        self._app = app
        self._clients = clients
        self._tables = tables
        self._queue_urls = queue_urls
        self._journal = journal
        self._options = options or PumpOptions()
        self._stop_event = threading.Event()
        self._in_flight = InFlightMessages()
        self._pollers: list[SqsPoller] = []
        self._dispatchers: list[StreamDispatcher] = []
        self._reader: StreamReader | None = None
        self._scheduler: Scheduler | None = None
        self.sources = EventSources()
        self._stopped = False

    def start(self) -> None:
        """Take every stream's current end as the starting point, then start all threads."""
        self.sources = discover(self._app)
        self._dispatchers = self._stream_dispatchers()
        in_process = self._options.in_process_moto
        self._reader = StreamReader(
            streams=self._clients.streams,
            dynamodb=self._clients.dynamodb,
            tables=list(self._tables.values()),
            dispatchers=self._dispatchers,
            journal=self._journal,
            region=self._clients.region,
            change_marker=stream_change_marker if in_process else None,
            janitor=ShardIteratorJanitor() if in_process else None,
        )
        self._reader.prime()
        self._pollers = self._sqs_pollers()
        self._scheduler = Scheduler(
            self.sources.schedules,
            app_name=self._app.app_name,
            region=self._clients.region,
            speedup=self._options.schedule_speedup,
        )
        for thread in [self._reader, *self._dispatchers, *self._pollers, self._scheduler]:
            thread.start()
        logger.info(
            "event pump: %d queue, %d stream and %d schedule handlers; journaling %d tables",
            len(self._pollers),
            len(self._dispatchers),
            len(self.sources.schedules),
            len(self._tables),
        )

    def stop(self) -> None:
        """Stop taking work, let stream handlers finish what is queued, journal the last changes."""
        if self._stopped:
            return
        self._stopped = True
        if self._scheduler is not None:
            self._scheduler.stop()
        self._stop_event.set()
        for poller in self._pollers:
            poller.join(30.0)
        if self._reader is not None:
            self._reader.stop()
            self._reader.poll(force=True)
        for dispatcher in self._dispatchers:
            dispatcher.close(self._options.drain_timeout)
        if self._reader is not None:
            # The handlers' own last writes belong in the journal too.
            self._reader.poll(force=True)
        released = self._in_flight.release_all(self._clients.sqs)
        if released:
            logger.info("made %d failed messages visible again", released)

    def _function_name(self, handler_name: str) -> str:
        return f"{self._app.app_name}-local-{handler_name}"

    def _stream_dispatchers(self) -> list[StreamDispatcher]:
        dispatchers = []
        for source in self.sources.streams:
            table = self._tables.get(source.table_name)
            if table is None:
                logger.warning("%s: table %s is not defined; handler not fed", source.name, source.table_name)
                continue
            if not table.declared:
                logger.warning(
                    "%s: table %s has no stream in its definition (AWS would not feed it)",
                    source.name,
                    source.table_name,
                )
            retry = self._options.stream_retry
            dispatchers.append(StreamDispatcher(source, self._function_name(source.name), retry))
        return dispatchers

    def _sqs_pollers(self) -> list[SqsPoller]:
        pollers = []
        for source in self.sources.sqs:
            url = self._queue_urls.get(source.queue_name)
            if url is None:
                logger.warning("%s: queue %s is not defined; handler not fed", source.name, source.queue_name)
                continue
            arn = self._clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            pollers.append(
                SqsPoller(
                    source=source,
                    sqs=self._clients.sqs,
                    queue_url=url,
                    queue_arn=arn["Attributes"]["QueueArn"],
                    region=self._clients.region,
                    function_name=self._function_name(source.name),
                    stop_event=self._stop_event,
                    in_flight=self._in_flight,
                )
            )
        return pollers
