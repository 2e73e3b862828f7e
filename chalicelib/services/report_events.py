"""What follows a change of a report: the escalation workflow, counters, timeline, notifications.

Two inputs, both at least once:
- the reports table's stream (every write, by people or by the workflow);
- the report-events queue, where the escalation workflow says it moved a report up.
Every effect is keyed on its cause (report, arm, step, status), so a redelivery repeats nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from chalicelib.domain.auth import Role
from chalicelib.domain.notifications import Notification
from chalicelib.domain.reports import LADDER, Report, Status, TimelineEntry, ladder_units
from chalicelib.domain.tree import LEVELS, Level, ancestor_at, level_of
from chalicelib.services.ids import derived_id
from chalicelib.services.notifications import caused_notification
from chalicelib.services.ports import (
    Counters,
    EscalationWorkflow,
    NotificationPublisher,
    ReportFilter,
    ReportRepository,
    UnitRepository,
    UserRepository,
)

CHINA = timezone(timedelta(hours=8))  # counters are per calendar day where the city is
SHARDED_LEVELS = (Level.CITY, Level.DISTRICT)  # units the whole city's traffic lands on
SHARDS = 8
LEVEL_ADMIN = {
    Level.COMMUNITY: Role.COMMUNITY_ADMIN,
    Level.STREET: Role.STREET_ADMIN,
    Level.DISTRICT: Role.DISTRICT_ADMIN,
    Level.CITY: Role.CITY_ADMIN,
}
STATUS_COUNTER = {
    Status.ACCEPTED: "accepted",
    Status.RESOLVED: "resolved",
    Status.CLOSED: "closed",
    Status.REJECTED: "rejected",
    Status.DUPLICATE: "duplicate",
    Status.REOPENED: "reopened",
}
STATUS_TEXT = {
    Status.SUBMITTED: "已转交新的处理单位",
    Status.REOPENED: "已重新打开",
    Status.ACCEPTED: "已受理",
    Status.IN_PROGRESS: "正在处理",
    Status.RESOLVED: "已处理完毕，请确认并评价",
    Status.CLOSED: "已办结",
    Status.REJECTED: "未予受理",
    Status.DUPLICATE: "与已有报事重复，已合并",
}


def day_of(at: datetime) -> str:
    return at.astimezone(CHINA).strftime("%Y-%m-%d")


def counter_key(unit_id: str, day: str, report_id: str) -> tuple[str, int]:
    """The counter item for a unit and day; the busiest units spread over shards by report."""
    if level_of(unit_id) in SHARDED_LEVELS:
        shard = int(hashlib.sha256(report_id.encode()).hexdigest(), 16) % SHARDS
        return f"{unit_id}#{day}#{shard}", SHARDS
    return f"{unit_id}#{day}", 1


@dataclass
class Outcome:
    """What one change caused (the consumer turns it into metrics)."""

    started: bool = False
    counted: dict[str, int] = field(default_factory=dict)
    notified: int = 0
    timeline: int = 0


class ReportEvents:
    def __init__(
        self,
        reports: ReportRepository,
        units: UnitRepository,
        users: UserRepository,
        workflow: EscalationWorkflow,
        counters: Counters,
        publisher: NotificationPublisher,
        decode: Callable[[dict[str, Any]], Report | None],
    ) -> None:
        self._reports = reports
        self._units = units
        self._users = users
        self._workflow = workflow
        self._counters = counters
        self._publisher = publisher
        self._decode = decode

    # --- the table's stream -------------------------------------------------------------------

    def on_change(
        self, event_id: str, at: datetime, old_image: dict[str, Any] | None, new_image: dict[str, Any] | None
    ) -> Outcome:
        old = self._decode(old_image) if old_image else None
        new = self._decode(new_image) if new_image else None
        outcome = Outcome()
        if new is None:
            return outcome  # a timeline entry, a follower, or a deletion: nothing follows
        if new.status.is_open and (old is None or old.arm != new.arm):
            self._workflow.start(new.report_id, new.arm)
            outcome.started = True
        increments = self._increments(old, new)
        if increments:
            self._count(event_id, new, at, increments)
            outcome.counted = increments
        outcome.timeline = self._system_timeline(old, new, at)
        notifications = self._notifications_for_change(old, new, at)
        if notifications:
            self._publisher.publish(notifications)
            outcome.notified = len(notifications)
        return outcome

    def _increments(self, old: Report | None, new: Report) -> dict[str, int]:
        increments: dict[str, int] = {}
        if old is None:
            increments["created"] = 1
            increments[f"created:{new.category}"] = 1
            return increments
        if new.status is not old.status and new.status in STATUS_COUNTER:
            increments[STATUS_COUNTER[new.status]] = 1
        if new.step > old.step:
            increments["escalated"] = new.step - old.step
            increments["overdue"] = new.step - old.step
        if new.red_card and not old.red_card:
            increments["red_card"] = 1
            increments["overdue"] = increments.get("overdue", 0) + 1
        if new.supervision is not None and (old.supervision is None or old.supervision.at != new.supervision.at):
            increments["supervised"] = 1
        return increments

    def _count(self, event_id: str, report: Report, at: datetime, increments: dict[str, int]) -> None:
        day = day_of(at)
        keyed: dict[str, dict[str, int]] = {}
        shards: dict[str, int] = {}
        units = [ancestor_at(report.grid_id, level) for level in LEVELS]
        for unit_id in units:
            if unit_id is None:
                continue
            key, shard_count = counter_key(unit_id, day, report.report_id)
            keyed[key] = increments
            if shard_count > 1:
                shards[key] = shard_count
        self._counters.add(event_id, keyed, shards)

    def _system_timeline(self, old: Report | None, new: Report, at: datetime) -> int:
        """The workflow changes reports by itself; their timeline entries are written here,
        dated when the missed deadline passed (so they sort in the order they happened)."""
        if old is None:
            return 0
        units = ladder_units(new.grid_id)
        missed: list[tuple[str, str, dict[str, str], datetime]] = []
        for step in range(old.step + 1, new.step + 1):
            before, after = LADDER[step - 1].value, LADDER[step].value
            data = {"from_level": before, "to_level": after, "unit_id": units[step]}
            missed.append(
                (
                    "escalated",
                    f"deadline missed at {before}; now with {after}",
                    data,
                    old.deadlines[step - 1] if old.deadlines else at,
                )
            )
        if new.red_card and not old.red_card:
            missed.append(
                (
                    "red_card",
                    "deadline missed at the district: overdue at the top (红牌)",
                    {"unit_id": units[-1]},
                    new.deadlines[-1] if new.deadlines else at,
                )
            )
        written = 0
        for action, note, data, when in missed:
            entry = TimelineEntry(
                entry_id=derived_id(f"{action}|{new.report_id}|{new.arm}|{data.get('to_level', '')}", when),
                at=when,
                actor_id="system",
                actor_role="system",
                action=action,
                from_status=new.status.value,
                to_status=new.status.value,
                note=note,
                data=data,
            )
            written += int(self._reports.add_timeline(new.report_id, entry))
        return written

    def _notifications_for_change(self, old: Report | None, new: Report, at: datetime) -> list[Notification]:
        if old is None:
            handlers = self._handlers(new)
            return [
                self._note(
                    f"new|{new.report_id}|{uid}", uid, at, "report_new", "新报事", f"{new.description[:60]}", new
                )
                for uid in handlers
            ]
        notes: list[Notification] = []
        if new.status is not old.status:
            text = STATUS_TEXT.get(new.status, new.status.value)
            for uid in self._audience(new):
                if uid != new.last_actor:
                    notes.append(
                        self._note(
                            f"status|{new.report_id}|{new.arm}|{new.status.value}|{uid}",
                            uid,
                            at,
                            "report_status",
                            f"报事{text}",
                            new.description[:60],
                            new,
                        )
                    )
        if (new.grid_id, new.department) != (old.grid_id, old.department):
            for uid in self._handlers(new):
                notes.append(
                    self._note(
                        f"transfer|{new.report_id}|{new.arm}|{uid}",
                        uid,
                        at,
                        "report_new",
                        "转来的报事",
                        new.description[:60],
                        new,
                    )
                )
        if new.supervision is not None and (old.supervision is None or old.supervision.at != new.supervision.at):
            for uid in self._handlers(new):
                notes.append(
                    self._note(
                        f"supervised|{new.report_id}|{new.arm}|{uid}",
                        uid,
                        at,
                        "report_supervised",
                        "督办",
                        f"{new.supervision.note}（期限 {new.supervision.deadline.isoformat()}）",
                        new,
                    )
                )
        return notes

    def rearm(self, city: str, now: datetime) -> int:
        """Start the escalation of every open report again (after a restore, or a lost execution).

        Executions are named by report and arm, so one still running is not started twice.
        """
        started = 0
        cursor: str | None = None
        while True:
            page = self._reports.for_unit(city, Level.CITY, ReportFilter(open_only=True), now, 100, cursor)
            for report in page.items:
                self._workflow.start(report.report_id, report.arm)
                started += 1
            cursor = page.next_cursor
            if cursor is None:
                return started

    # --- the workflow's queue -------------------------------------------------------------------

    def on_workflow_event(self, message: dict[str, Any], at: datetime) -> int:
        """Tell the new level (or city operations, for a red card) and the reporter."""
        report = self._reports.get(str(message["report_id"]))
        if report is None:
            return 0
        kind = str(message.get("type"))
        arm = message.get("arm")
        notes: list[Notification] = []
        if kind == "escalated":
            step = int(message["to_step"])
            level = LADDER[step]
            unit_id = ladder_units(report.grid_id)[step]
            unit = self._units.get(unit_id)
            unit_name = unit.name if unit else unit_id
            for uid in self._staff_ids(unit_id, LEVEL_ADMIN[level]):
                notes.append(
                    self._note(
                        f"esc|{report.report_id}|{arm}|{step}|{uid}",
                        uid,
                        at,
                        "report_escalated",
                        f"超时升级：{unit_name}",
                        report.description[:60],
                        report,
                    )
                )
            for uid in self._audience(report):
                notes.append(
                    self._note(
                        f"esc|{report.report_id}|{arm}|{step}|{uid}",
                        uid,
                        at,
                        "report_escalated",
                        f"您的报事已升级至{unit_name}处理",
                        report.description[:60],
                        report,
                    )
                )
        elif kind == "red_card":
            city = ancestor_at(report.grid_id, Level.CITY) or report.grid_id
            district = ancestor_at(report.grid_id, Level.DISTRICT) or report.grid_id
            recipients = self._staff_ids(city, Role.CITY_ADMIN) + self._staff_ids(district, Role.DISTRICT_ADMIN)
            for uid in recipients:
                notes.append(
                    self._note(
                        f"red|{report.report_id}|{arm}|{uid}",
                        uid,
                        at,
                        "report_red_card",
                        "红牌：报事超期未办",
                        report.description[:60],
                        report,
                    )
                )
        if notes:
            self._publisher.publish(notes)
        return len(notes)

    # --- helpers ------------------------------------------------------------------------------

    def _handlers(self, report: Report) -> list[str]:
        workers = self._staff_ids(report.grid_id, Role.GRID_WORKER)
        dept = [
            u.user_id
            for u in self._users.staff(report.grid_id, Role.DEPT_STAFF, 50, None).items
            if u.department == report.department
        ]
        return workers + dept

    def _audience(self, report: Report) -> list[str]:
        """The reporter and whoever follows the report."""
        view = self._reports.view(report.report_id, 0)
        followers = view.followers if view else []
        return [report.reporter_id, *[f for f in followers if f != report.reporter_id]]

    def _staff_ids(self, unit_id: str, role: Role) -> list[str]:
        return [u.user_id for u in self._users.staff(unit_id, role, 50, None).items]

    @staticmethod
    def _note(cause: str, user_id: str, at: datetime, kind: str, title: str, body: str, report: Report) -> Notification:
        data = {"report_id": report.report_id, "status": report.status.value, "level": report.level.value}
        return caused_notification(cause, user_id, at, kind, title, body, data)
