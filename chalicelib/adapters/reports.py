"""Reports on DynamoDB (report, timeline and followers in one partition), the escalation
workflow on Step Functions, photos on S3, counters, and categories."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.expressions.condition import Condition

from chalicelib.adapters.aws import client
from chalicelib.adapters.dynamo import (
    cancellation_codes,
    decode_cursor,
    encode_cursor,
    get_or_none,
    is_condition_failure,
    lost_update,
    page_of,
    transaction,
)
from chalicelib.adapters.records import (
    REPORT_SK,
    CategoryRecord,
    CounterRecord,
    FollowerRecord,
    RatingAttribute,
    ReportRecord,
    SupervisionAttribute,
    TimelineRecord,
)
from chalicelib.domain.auth import Role
from chalicelib.domain.reports import (
    LADDER,
    OPEN,
    Category,
    Channel,
    Deadlines,
    Location,
    Rating,
    Report,
    Status,
    Supervision,
    TimelineEntry,
    Urgency,
    duplicate_key,
)
from chalicelib.domain.tree import LEVELS, Level, ancestor_at
from chalicelib.domain.units import Page
from chalicelib.services.ports import ReportFilter, ReportView

_FAR = datetime(9999, 12, 31, tzinfo=UTC)
_KEEP_COUNTER_MARKERS = timedelta(days=3)


def iso_z(at: datetime) -> str:
    """RFC 3339 in UTC with a Z, the form a Step Functions Wait state reads."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _parse_z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- mapping --------------------------------------------------------------------------------


def report_record(report: Report) -> ReportRecord:
    deadlines = list(report.deadlines) + [_FAR] * (4 - len(report.deadlines))
    loc = report.location
    record = ReportRecord(
        report_id=report.report_id,
        sk=REPORT_SK,
        category=report.category,
        department=report.department,
        description=report.description,
        urgency=report.urgency.value,
        grid_id=report.grid_id,
        building=loc.building,
        unit_no=loc.unit,
        lat=loc.lat,
        long=loc.long,
        address=loc.address,
        reporter_id=report.reporter_id,
        filed_by=report.filed_by,
        channel=report.channel.value,
        status=report.status.value,
        step=report.step,
        arm=report.arm,
        deadline_0=iso_z(deadlines[0]),
        deadline_1=iso_z(deadlines[1]),
        deadline_2=iso_z(deadlines[2]),
        deadline_3=iso_z(deadlines[3]),
        red_card=report.red_card,
        photos=list(report.photos) or None,
        duplicate_of=report.duplicate_of,
        supervision=_supervision_attr(report.supervision),
        rating=RatingAttribute(stars=report.rating.stars, comment=report.rating.comment, at=report.rating.at)
        if report.rating
        else None,
        created_at=report.created_at,
        updated_at=report.updated_at,
        resolved_at=report.resolved_at,
        closed_at=report.closed_at,
        last_actor=report.last_actor,
    )
    is_open = report.status in OPEN
    for level in LEVELS:
        unit = ancestor_at(report.grid_id, level)
        setattr(record, f"u_{level.value}", unit)
        setattr(record, f"o_{level.value}", unit if is_open else None)
    record.dup_key = duplicate_key(report.category, report.grid_id, loc) if is_open else None
    record.autoclose_day = (
        report.resolved_at.strftime("%Y-%m-%d") if report.status is Status.RESOLVED and report.resolved_at else None
    )
    if report.version:
        record.version = report.version
    return record


def _supervision_attr(order: Supervision | None) -> SupervisionAttribute | None:
    if order is None:
        return None
    return SupervisionAttribute(
        by=order.by, role=order.role.value, deadline=order.deadline, note=order.note, at=order.at
    )


def report_from_record(record: ReportRecord) -> Report:
    supervision = None
    if record.supervision is not None:
        s = record.supervision
        supervision = Supervision(by=s.by, role=Role(s.role), deadline=s.deadline, note=s.note, at=s.at)
    rating = None
    if record.rating is not None:
        rating = Rating(stars=int(record.rating.stars), comment=record.rating.comment, at=record.rating.at)
    return Report(
        report_id=record.report_id,
        category=record.category,
        department=record.department,
        description=record.description,
        urgency=Urgency(record.urgency),
        grid_id=record.grid_id,
        location=Location(
            building=record.building,
            unit=record.unit_no,
            lat=float(record.lat) if record.lat is not None else None,
            long=float(record.long) if record.long is not None else None,
            address=record.address,
        ),
        reporter_id=record.reporter_id,
        filed_by=record.filed_by,
        channel=Channel(record.channel),
        status=Status(record.status),
        created_at=record.created_at,
        updated_at=record.updated_at,
        step=int(record.step or 0),
        arm=int(record.arm or 0),
        deadlines=tuple(
            _parse_z(d) for d in (record.deadline_0, record.deadline_1, record.deadline_2, record.deadline_3)
        ),
        red_card=bool(record.red_card),
        photos=tuple(str(p) for p in record.photos or ()),
        duplicate_of=record.duplicate_of,
        supervision=supervision,
        rating=rating,
        resolved_at=record.resolved_at,
        closed_at=record.closed_at,
        last_actor=record.last_actor,
        version=int(record.version or 0),
    )


def report_from_image(image: dict[str, Any]) -> Report | None:
    """A report from a stream image; None for the partition's other items (timeline, followers)."""
    if image.get("sk", {}).get("S") != REPORT_SK:
        return None
    return report_from_record(ReportRecord.from_raw_data(image))


def _timeline_record(report_id: str, entry: TimelineEntry) -> TimelineRecord:
    return TimelineRecord(
        report_id=report_id,
        sk=f"t#{entry.entry_id}",
        at=entry.at,
        actor_id=entry.actor_id,
        actor_role=entry.actor_role,
        action=entry.action,
        from_status=entry.from_status,
        to_status=entry.to_status,
        note=entry.note,
        data=entry.data or None,
    )


def _entry(record: TimelineRecord) -> TimelineEntry:
    return TimelineEntry(
        entry_id=record.sk[2:],
        at=record.at,
        actor_id=record.actor_id,
        actor_role=record.actor_role,
        action=record.action,
        from_status=record.from_status,
        to_status=record.to_status,
        note=record.note,
        data=record.data.as_dict() if record.data is not None else {},
    )


# --- the repository ---------------------------------------------------------------------------


class DynamoReportRepository:
    def get(self, report_id: str) -> Report | None:
        record = get_or_none(ReportRecord, report_id, REPORT_SK, consistent=True)
        return report_from_record(record) if record else None

    def view(self, report_id: str, timeline_limit: int) -> ReportView | None:
        # One Query over the partition: "#report" sorts first, then "f#..." followers, then "t#..." entries.
        raw = client("dynamodb").query(
            TableName=ReportRecord.Meta.table_name,
            KeyConditionExpression="report_id = :id",
            ExpressionAttributeValues={":id": {"S": report_id}},
            ConsistentRead=True,
            Limit=1 + 500 + timeline_limit,
        )
        report: Report | None = None
        timeline: list[TimelineEntry] = []
        followers: list[str] = []
        for item in raw.get("Items", []):
            sk = item["sk"]["S"]
            if sk == REPORT_SK:
                report = report_from_record(ReportRecord.from_raw_data(item))
            elif sk.startswith("f#"):
                followers.append(sk[2:])
            elif sk.startswith("t#") and len(timeline) < timeline_limit:
                timeline.append(_entry(TimelineRecord.from_raw_data(item)))
        if report is None:
            return None
        return ReportView(report=report, timeline=timeline, followers=followers)

    def create(self, report: Report, entry: TimelineEntry) -> None:
        with transaction() as tw:
            tw.save(report_record(report), condition=ReportRecord.report_id.does_not_exist())
            tw.save(_timeline_record(report.report_id, entry))

    def save(self, report: Report, entry: TimelineEntry | None) -> Report:
        if entry is not None:
            report = replace(report, last_actor=entry.actor_id)
        record = report_record(report)
        try:
            if entry is None:
                record.save()
            else:
                with transaction() as tw:
                    tw.save(record)
                    tw.save(_timeline_record(report.report_id, entry))
        except (PutError, TransactWriteError) as exc:
            failed = (
                is_condition_failure(exc)
                if isinstance(exc, PutError)
                else "ConditionalCheckFailed" in cancellation_codes(exc)
            )
            if failed:
                raise lost_update("this report") from exc
            raise
        return report_from_record(record)

    def add_timeline(self, report_id: str, entry: TimelineEntry) -> bool:
        try:
            _timeline_record(report_id, entry).save(condition=TimelineRecord.sk.does_not_exist())
        except PutError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def follow(self, report_id: str, user_id: str, at: datetime) -> None:
        FollowerRecord(report_id=report_id, sk=f"f#{user_id}", user_id=user_id, at=at).save()

    def open_nearby(self, dup_key: str, limit: int) -> list[Report]:
        results = ReportRecord.by_dup.query(dup_key, scan_index_forward=False, limit=limit)
        return [report_from_record(r) for r in results]

    def for_reporter(self, user_id: str, limit: int, cursor: str | None) -> Page[Report]:
        results = ReportRecord.by_reporter.query(
            user_id, scan_index_forward=False, limit=limit, last_evaluated_key=decode_cursor(cursor)
        )
        return page_of(results, report_from_record)

    def for_unit(
        self, unit_id: str, level: Level, report_filter: ReportFilter, now: datetime, limit: int, cursor: str | None
    ) -> Page[Report]:
        open_only = (
            report_filter.open_only
            or report_filter.overdue
            or (report_filter.status is not None and report_filter.status in OPEN)
        )
        index = getattr(ReportRecord, f"{'open' if open_only else 'by'}_{level.value}")
        results = index.query(
            unit_id,
            filter_condition=_filter(report_filter, now),
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=decode_cursor(cursor),
        )
        items = [report_from_record(r) for r in results]
        return Page(items, encode_cursor(results.last_evaluated_key))

    def resolved_on(self, day: str, limit: int, cursor: str | None) -> Page[Report]:
        results = ReportRecord.by_autoclose.query(day, limit=limit, last_evaluated_key=decode_cursor(cursor))
        return page_of(results, report_from_record)


def _filter(report_filter: ReportFilter, now: datetime) -> Condition | None:
    conditions: list[Condition] = []
    if report_filter.status is not None:
        conditions.append(ReportRecord.status == report_filter.status.value)
    if report_filter.category:
        conditions.append(ReportRecord.category == report_filter.category)
    if report_filter.level is not None:
        conditions.append(ReportRecord.step == LADDER.index(report_filter.level))
    if report_filter.overdue:
        now_z = iso_z(now)
        conditions.append(
            (ReportRecord.red_card == True)  # noqa: E712  (a PynamoDB condition)
            | ((ReportRecord.step == 0) & (ReportRecord.deadline_0 <= now_z))
            | ((ReportRecord.step == 1) & (ReportRecord.deadline_1 <= now_z))
            | ((ReportRecord.step == 2) & (ReportRecord.deadline_2 <= now_z))
            | ((ReportRecord.step == 3) & (ReportRecord.deadline_3 <= now_z))
        )
    if not conditions:
        return None
    combined = conditions[0]
    for condition in conditions[1:]:
        combined &= condition
    return combined


# --- the escalation workflow ------------------------------------------------------------------


class StepFunctionsEscalation:
    """One execution per report and arm, named after them, so a retried start is harmless."""

    def __init__(self, state_machine_arn: str) -> None:
        self._arn = state_machine_arn

    def start(self, report_id: str, arm: int) -> None:
        try:
            client("stepfunctions").start_execution(
                stateMachineArn=self._arn,
                name=f"{report_id}-{arm}",
                input=json.dumps({"report_id": report_id, "arm": str(arm)}),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
                raise


# --- photos ---------------------------------------------------------------------------------------


class S3Photos:
    def __init__(self, bucket: str) -> None:
        self._bucket = bucket

    def upload_form(self, key: str, content_type: str, max_bytes: int, expires_in: int) -> dict[str, Any]:
        form: dict[str, Any] = client("s3").generate_presigned_post(
            Bucket=self._bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=expires_in,
        )
        return form

    def view_url(self, key: str, expires_in: int) -> str:
        return str(
            client("s3").generate_presigned_url(
                "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=expires_in
            )
        )


# --- counters ---------------------------------------------------------------------------------------


class DynamoCounters:
    """Per-unit, per-day counters; a marker item written in the same transaction makes a
    redelivered stream record count nothing the second time."""

    def add(self, event_id: str, increments: dict[str, dict[str, int]], shards: dict[str, int]) -> bool:
        table = CounterRecord.Meta.table_name
        expires = int((datetime.now(UTC) + _KEEP_COUNTER_MARKERS).timestamp())
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": table,
                    "Item": {"pk": {"S": f"evt#{event_id}"}, "expires": {"N": str(expires)}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        for key, fields in increments.items():
            names = {f"#f{i}": name for i, name in enumerate(fields)}
            values = {f":v{i}": {"N": str(n)} for i, n in enumerate(fields.values())}
            items.append(
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": {"S": key}},
                        "UpdateExpression": "ADD " + ", ".join(f"#f{i} :v{i}" for i in range(len(fields))),
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                }
            )
        try:
            client("dynamodb").transact_write_items(TransactItems=items)
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or []
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return False  # this stream record was counted before
            raise
        return True

    def read(self, key: str, shards: int) -> dict[str, int]:
        """The counts of one unit and day (summing its shards), in one round trip."""
        table = CounterRecord.Meta.table_name
        keys = [key] if shards <= 1 else [f"{key}#{i}" for i in range(shards)]
        raw = client("dynamodb").batch_get_item(RequestItems={table: {"Keys": [{"pk": {"S": k}} for k in keys]}})
        totals: dict[str, int] = {}
        for item in raw.get("Responses", {}).get(table, []):
            for name, value in item.items():
                if "N" in value and name != "expires":
                    totals[name] = totals.get(name, 0) + int(value["N"])
        return totals


# --- categories -----------------------------------------------------------------------------------


class DynamoCategories:
    def for_city(self, city: str) -> list[Category]:
        return [_category(r) for r in CategoryRecord.query(city)]

    def save_all(self, city: str, categories: list[Category]) -> None:
        with CategoryRecord.batch_write() as batch:
            for c in categories:
                batch.save(
                    CategoryRecord(
                        city=city,
                        code=c.code,
                        name=c.name,
                        department=c.department,
                        group=c.group,
                        description=c.description,
                        keywords=list(c.keywords),
                        accept_minutes={u.value: n for u, n in c.deadlines.accept_minutes.items()},
                        resolve_hours={u.value: n for u, n in c.deadlines.resolve_hours.items()},
                        active=c.active,
                    )
                )


def _category(record: CategoryRecord) -> Category:
    accept = record.accept_minutes.as_dict() if hasattr(record.accept_minutes, "as_dict") else record.accept_minutes
    resolve = record.resolve_hours.as_dict() if hasattr(record.resolve_hours, "as_dict") else record.resolve_hours
    return Category(
        code=record.code,
        name=record.name,
        department=record.department,
        group=record.group,
        description=record.description,
        keywords=tuple(str(k) for k in record.keywords or ()),
        deadlines=Deadlines(
            {Urgency(k): int(v) for k, v in accept.items()}, {Urgency(k): int(v) for k, v in resolve.items()}
        ),
        active=bool(record.active),
    )
