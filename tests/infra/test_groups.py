"""The prefix → endpoint group mapping, and the declarations in infra/groups.py."""

from __future__ import annotations

import pytest

from chalicelib.adapters.definitions import QUEUES, STATE_MACHINES, tables
from infra.groups import GROUPS, HANDLERS, EndpointGroup, UnmappedRoute, access, group_for, prefix_matches


def test_every_route_of_the_app_maps_to_a_group() -> None:
    from app import app

    unmapped = []
    for path in app.routes:
        try:
            group_for(path)
        except UnmappedRoute:
            unmapped.append(path)
    assert not unmapped, f"routes in no endpoint group (add a prefix in infra/groups.py): {unmapped}"


@pytest.mark.parametrize(
    ("path", "group"),
    [
        ("/health", "community"),
        ("/openapi.json", "community"),
        ("/v1/auth/sms/code", "signin"),
        ("/v1/units/{unit_id}", "community"),
        ("/v1/units/{unit_id}/children", "community"),
        ("/v1/grids/{grid_id}/join-codes", "community"),
        ("/v1/me", "community"),
        ("/v1/me/notifications", "community"),
        ("/v1/report-categories", "reports"),
        ("/v1/reports/{report_id}/transitions", "reports"),
        ("/v1/units/{unit_id}/reports", "reports"),
        ("/v1/units/{id}/reports", "reports"),  # parameter names do not matter
        ("/v1/me/reports", "reports"),
        ("/v1/conversations/{conversation_id}/messages", "chat"),
        ("/v1/messages/{message_id}/hide", "chat"),
        ("/v1/webhooks/wechat", "webhooks"),
        ("/v1/health-reports", "selfreports"),
        ("/v1/me/health-reports", "selfreports"),
        ("/v1/units/{unit_id}/health-summary", "selfreports"),
        ("/v1/units/{unit_id}/health-non-reporters", "selfreports"),
        ("/v1/proposals/{proposal_id}/votes", "deliberation"),
        ("/v1/units/{unit_id}/proposals", "deliberation"),
        ("/v1/services/{service_id}", "deliberation"),
        ("/v1/activities/{activity_id}/signups", "deliberation"),
        ("/v1/units/{unit_id}/notices", "deliberation"),
        ("/v1/notices", "deliberation"),
        ("/v1/counseling/bookings/{booking_id}", "counselling"),
        ("/v1/me/counseling/bookings", "counselling"),
        ("/v1/consultations/queue", "counselling"),
        ("/v1/units/{unit_id}/stats", "statistics"),
        ("/v1/units/{unit_id}/stats.csv", "statistics"),
        ("/open311/v2/services/{document}", "open311"),
        ("/open311/v2/requests", "open311"),
    ],
)
def test_the_longest_prefix_decides_the_group(path: str, group: str) -> None:
    assert group_for(path).key == group


@pytest.mark.parametrize("path", ["/v2/reports", "/v1/mentions", "/healthz", "/v1/units-archive", "/", "/v1"])
def test_a_route_under_no_prefix_is_refused(path: str) -> None:
    with pytest.raises(UnmappedRoute) as raised:
        group_for(path)
    assert "infra/groups.py" in str(raised.value)


def test_prefixes_match_at_segment_boundaries_only() -> None:
    assert prefix_matches("/v1/me", "/v1/me/reports")
    assert not prefix_matches("/v1/me", "/v1/memo")
    assert prefix_matches("/v1/units/{}/stats", "/v1/units/{unit_id}/stats.csv")
    assert prefix_matches("/v1/units/{}/health-", "/v1/units/{x}/health-summary")
    assert not prefix_matches("/v1/reports", "/v1/report-categories")


def test_a_fake_group_set_without_the_route_fails() -> None:
    only_auth = (EndpointGroup(key="signin", title="sign-in", prefixes=("/v1/auth",), access=access()),)
    assert group_for("/v1/auth/wechat", only_auth).key == "signin"
    with pytest.raises(UnmappedRoute):
        group_for("/v1/reports", only_auth)


def test_no_prefix_belongs_to_two_groups() -> None:
    seen: dict[str, str] = {}
    for group in GROUPS:
        for prefix in group.prefixes:
            assert prefix not in seen, f"{prefix} is in {seen.get(prefix)} and {group.key}"
            seen[prefix] = group.key
    assert len({g.key for g in GROUPS}) == len(GROUPS)


def test_declared_access_names_only_real_tables_queues_and_workflows() -> None:
    table_names = {spec.logical for spec in tables()}
    queue_names = {spec.logical for spec in QUEUES}
    machines = {spec.logical for spec in STATE_MACHINES}
    declared = [(g.key, g.access) for g in GROUPS] + [(name, h.access) for name, h in HANDLERS.items()]
    for who, grant in declared:
        assert grant.tables <= table_names, f"{who}: unknown tables {grant.tables - table_names}"
        assert grant.sends <= queue_names, f"{who}: unknown queues {grant.sends - queue_names}"
        assert grant.starts <= machines, f"{who}: unknown state machines {grant.starts - machines}"
        assert not grant.reads & grant.writes


def test_every_table_is_used_by_some_function() -> None:
    used: set[str] = set()
    for grant in [g.access for g in GROUPS] + [h.access for h in HANDLERS.values()]:
        used |= grant.tables
    unused = {spec.logical for spec in tables()} - used
    assert not unused, f"no function may touch {unused}: declare who uses it in infra/groups.py"


def test_the_escalation_workflow_is_started_by_someone() -> None:
    starters = {name for name, h in HANDLERS.items() if "escalation" in h.access.starts}
    # the reports stream starts each arm's execution; the hourly re-arm catches any that never started
    assert starters == {"on_report_changed", "rearm_escalations"}


def test_functions_fit_the_limits_of_what_calls_them() -> None:
    for group in GROUPS:
        assert group.timeout_s <= 29, f"{group.key}: API Gateway gives up after 29 s"
        assert 128 <= group.memory_mb <= 10240
        assert group.concurrency_weight > 0
    for name, handler in HANDLERS.items():
        assert 1 <= handler.max_concurrency <= 1000 and handler.max_concurrency >= 2, name
        assert 1 <= handler.parallelization <= 10, name
