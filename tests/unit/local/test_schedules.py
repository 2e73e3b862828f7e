"""Schedules: rate() and cron() expressions, and the scheduler firing the app's handlers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice.app import Blueprint, CloudWatchEvent, Cron, Rate

from chalicelib.local.schedules import parse_schedule
from tests.unit.local.conftest import Aws, PumpStarter, app_with, wait_for

SATURDAY_NOON = datetime(2024, 6, 1, 12, 0, 30, tzinfo=UTC)


def test_a_rate_schedule_fires_the_handler_with_a_scheduled_event(aws: Aws, run_pump: PumpStarter) -> None:
    events: list[dict[str, Any]] = []

    def register(bp: Blueprint) -> None:
        @bp.schedule(Rate(1, unit=Rate.MINUTES))
        def tick(event: CloudWatchEvent) -> None:
            events.append(event.to_dict())

    run_pump(app_with(register), schedule_speedup=600)  # a minute every 0.1 s

    wait_for(lambda: len(events) >= 2, timeout=3)
    assert events[0]["detail-type"] == "Scheduled Event"
    assert events[0]["source"] == "aws.events"
    assert events[0]["resources"][0].startswith("arn:aws:events:us-east-1:")
    assert events[0]["id"] != events[1]["id"]


def test_rate_expressions_give_their_period() -> None:
    assert parse_schedule("rate(1 minute)").next_fire(SATURDAY_NOON) == SATURDAY_NOON + timedelta(minutes=1)
    assert parse_schedule("rate(2 hours)").next_fire(SATURDAY_NOON) == SATURDAY_NOON + timedelta(hours=2)
    assert parse_schedule(Rate(3, unit=Rate.DAYS).to_string()).next_fire(SATURDAY_NOON) == SATURDAY_NOON + timedelta(
        days=3
    )


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("cron(*/15 * * * ? *)", datetime(2024, 6, 1, 12, 15, tzinfo=UTC)),
        ("cron(0 9 ? * MON-FRI *)", datetime(2024, 6, 3, 9, 0, tzinfo=UTC)),  # Saturday → Monday
        ("cron(0 8 1 * ? *)", datetime(2024, 7, 1, 8, 0, tzinfo=UTC)),
        ("cron(30 2 ? * 1 *)", datetime(2024, 6, 2, 2, 30, tzinfo=UTC)),  # 1 is Sunday in AWS
        ("cron(0 0 1 JAN ? 2025)", datetime(2025, 1, 1, 0, 0, tzinfo=UTC)),
    ],
)
def test_cron_expressions_fire_at_the_next_matching_minute(expression: str, expected: datetime) -> None:
    assert parse_schedule(expression).next_fire(SATURDAY_NOON) == expected


def test_chalice_cron_objects_are_understood() -> None:
    cron = Cron(0, 18, "?", "*", "MON-FRI", "*").to_string()
    assert parse_schedule(cron).next_fire(SATURDAY_NOON) == datetime(2024, 6, 3, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize("expression", ["cron(0 0 L * ? *)", "cron(0 0 ? * 6#3 *)", "every day", "cron(1 2 3)"])
def test_unsupported_expressions_are_refused(expression: str) -> None:
    with pytest.raises(ValueError, match=r"cron|rate"):
        parse_schedule(expression)
