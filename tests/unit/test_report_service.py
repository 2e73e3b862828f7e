from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.auth import Principal, Role
from chalicelib.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from chalicelib.domain.reports import Action, Location, Report, Status, Urgency
from chalicelib.services.ports import ReportFilter
from chalicelib.services.reports import ActionRequest, NewReport
from tests.unit.conftest import G1, G2, World

WASTE = NewReport("construction-waste", "15号楼墙角建筑垃圾，请帮忙处理。", Urgency.NORMAL, Location(building="15"))


def _file(world: World, new: NewReport = WASTE, phone: str = "13800000001") -> tuple[Principal, Report]:
    resident = world.resident(phone, grid=G1)
    return resident, world.reports.file(resident, new)


def test_a_bound_resident_files_in_their_grid_with_deadlines(world: World) -> None:
    resident, report = _file(world)
    assert (report.status, report.grid_id, report.reporter_id, report.department) == (
        Status.SUBMITTED,
        G1,
        resident.user_id,
        "城管",
    )
    assert report.deadline == world.clock.now() + timedelta(minutes=60)  # normal urgency: an hour to accept
    view = world.reports_repo.view(report.report_id, 10)
    assert view is not None and [e.action for e in view.timeline] == ["filed"]


def test_an_unbound_resident_cannot_file(world: World) -> None:
    with pytest.raises(Forbidden) as err:
        world.reports.file(world.resident(), WASTE)
    assert err.value.code == "not_bound"


def test_unknown_category_and_missing_location_name_the_field(world: World) -> None:
    resident = world.resident(grid=G1)
    with pytest.raises(InvalidInput) as err:
        world.reports.file(resident, NewReport("ufo", "x", Urgency.NORMAL, Location(building="1")))
    assert err.value.field == "category"
    with pytest.raises(InvalidInput) as err:
        world.reports.file(resident, NewReport("other", "x", Urgency.NORMAL, Location()))
    assert err.value.field == "location"
    assert world.reports_repo.items == {}


def test_an_open_report_of_the_same_kind_nearby_is_offered_back(world: World) -> None:
    _, first = _file(world)
    world.clock.advance(61)
    with pytest.raises(Conflict) as err:
        _file(world, phone="13800000002")
    assert err.value.code == "possible_duplicate"
    assert err.value.details["candidates"][0]["report_id"] == first.report_id
    neighbour = next(u for u in world.users.items.values() if u.phone == "+8613800000002")
    anyway = NewReport(**{**WASTE.__dict__, "ignore_duplicates": True})
    second = world.reports.file(Principal(neighbour.user_id, Role.RESIDENT, G1), anyway)
    assert second.report_id != first.report_id


def test_far_away_reports_are_not_duplicates(world: World) -> None:
    here = NewReport("water-leak", "漏水", Urgency.NORMAL, Location(lat=30.5447, long=114.3416))
    _file(world, here)
    world.clock.advance(61)
    there = NewReport("water-leak", "漏水", Urgency.NORMAL, Location(lat=30.5447, long=114.3476))  # ~570 m east
    _, second = _file(world, there, phone="13800000002")
    assert second.status is Status.SUBMITTED


def test_staff_file_on_a_residents_behalf(world: World) -> None:
    worker = world.staff(Role.GRID_WORKER, G1)
    resident = world.resident(grid=G1)
    new = NewReport(
        "water-leak", "电话报告漏水", Urgency.URGENT, Location(building="3"), grid_id=G1, on_behalf_of=resident.user_id
    )
    report = world.reports.file(worker, new)
    assert (report.reporter_id, report.filed_by) == (resident.user_id, worker.user_id)
    with pytest.raises(Forbidden):
        world.reports.file(worker, NewReport("water-leak", "x", Urgency.URGENT, Location(building="3"), grid_id=G2))


def test_the_grid_worker_accepts_and_resolves_and_the_resident_rates(world: World) -> None:
    resident, report = _file(world)
    worker = world.staff(Role.GRID_WORKER, G1)
    world.reports.act(worker, report.report_id, ActionRequest(Action.ACCEPT))
    world.reports.act(worker, report.report_id, ActionRequest(Action.RESOLVE, note="已清运"))
    closed = world.reports.rate(resident, report.report_id, 5, "很快")
    assert closed.status is Status.CLOSED and closed.rating is not None and closed.rating.stars == 5
    view = world.reports.view(resident, report.report_id)
    assert [e.action for e in view.timeline] == ["filed", "accept", "resolve", "rated"]
    assert view.timeline[1].actor_id == worker.user_id


def test_an_unhappy_rating_reopens(world: World) -> None:
    resident, report = _file(world)
    worker = world.staff(Role.GRID_WORKER, G1)
    world.reports.act(worker, report.report_id, ActionRequest(Action.ACCEPT))
    world.reports.act(worker, report.report_id, ActionRequest(Action.RESOLVE))
    reopened = world.reports.rate(resident, report.report_id, 1, "没有处理")
    assert reopened.status is Status.REOPENED and reopened.step == 0


def test_actions_are_checked(world: World) -> None:
    resident, report = _file(world)
    worker = world.staff(Role.GRID_WORKER, G1)
    other = world.staff(Role.GRID_WORKER, G2, phone="13900000002")
    with pytest.raises(NotFound):  # a worker of another grid does not even see it
        world.reports.act(other, report.report_id, ActionRequest(Action.ACCEPT))
    with pytest.raises(Forbidden):
        world.reports.act(resident, report.report_id, ActionRequest(Action.ACCEPT))
    with pytest.raises(Conflict):
        world.reports.act(worker, report.report_id, ActionRequest(Action.RESOLVE))  # accept it first
    with pytest.raises(InvalidInput):
        world.reports.act(worker, report.report_id, ActionRequest(Action.REJECT))  # a reason is required
    with pytest.raises(Conflict):
        world.reports.rate(resident, report.report_id, 5, None)


def test_two_staff_acting_at_once_one_wins(world: World) -> None:
    _, report = _file(world)
    worker = world.staff(Role.GRID_WORKER, G1)
    stale = world.reports_repo.get(report.report_id)
    world.reports.act(worker, report.report_id, ActionRequest(Action.ACCEPT))
    assert stale is not None
    with pytest.raises(Conflict) as err:
        world.reports_repo.save(stale, None)
    assert err.value.code == "concurrent_update"


def test_supervision_is_for_offices_over_the_report(world: World) -> None:
    _, report = _file(world)
    community = world.staff(Role.COMMUNITY_ADMIN, "wuhan.wuchang.shuiguohu.dongting")
    deadline = world.clock.now() + timedelta(hours=3)
    supervised = world.reports.supervise(community, report.report_id, deadline, "今天内清运")
    assert supervised.deadline == deadline and supervised.arm == report.arm + 1
    worker = world.staff(Role.GRID_WORKER, G1, phone="13900000002")
    with pytest.raises(Forbidden):
        world.reports.supervise(worker, report.report_id, deadline, "x")
    elsewhere = world.staff(Role.STREET_ADMIN, "wuhan.wuchang.zhongnanlu", phone="13900000003")
    with pytest.raises(NotFound):
        world.reports.supervise(elsewhere, report.report_id, deadline, "x")


def test_transfer_to_another_department(world: World) -> None:
    _, report = _file(world)
    worker = world.staff(Role.GRID_WORKER, G1)
    moved = world.reports.act(worker, report.report_id, ActionRequest(Action.TRANSFER, department="房管"))
    assert (moved.department, moved.status, moved.arm) == ("房管", Status.SUBMITTED, 1)


def test_lists_for_the_reporter_and_the_unit(world: World) -> None:
    resident, report = _file(world)
    assert [r.report_id for r in world.reports.mine(resident, None, None).items] == [report.report_id]
    street = world.staff(Role.STREET_ADMIN, "wuhan.wuchang.shuiguohu")
    found = world.reports.for_unit(street, "wuhan.wuchang.shuiguohu", ReportFilter(open_only=True), None, None)
    assert [r.report_id for r in found.items] == [report.report_id]
    world.clock.advance(3601)
    overdue = world.reports.for_unit(street, "wuhan.wuchang.shuiguohu", ReportFilter(overdue=True), None, None)
    assert [r.report_id for r in overdue.items] == [report.report_id]
    with pytest.raises(Forbidden):
        world.reports.for_unit(resident, G1, ReportFilter(), None, None)


def test_unrated_resolved_reports_close_after_the_grace_period(world: World) -> None:
    _, report = _file(world)
    worker = world.staff(Role.GRID_WORKER, G1)
    world.reports.act(worker, report.report_id, ActionRequest(Action.ACCEPT))
    resolved = world.reports.act(worker, report.report_id, ActionRequest(Action.RESOLVE))
    day = resolved.resolved_at.strftime("%Y-%m-%d")  # type: ignore[union-attr]
    assert world.reports.close_unrated(day, world.clock.now() + timedelta(days=6)) == 0
    assert world.reports.close_unrated(day, world.clock.now() + timedelta(days=8)) == 1
    closed = world.reports_repo.get(report.report_id)
    assert closed is not None and closed.status is Status.CLOSED and closed.last_actor == "system"


def test_photos_are_limited_in_type_and_number(world: World) -> None:
    resident, report = _file(world)
    upload = world.reports.photo_upload(resident, report.report_id, "image/jpeg")
    assert upload["photo_key"].startswith(f"reports/{report.report_id}/") and upload["photo_key"].endswith(".jpg")
    with pytest.raises(InvalidInput):
        world.reports.photo_upload(resident, report.report_id, "application/pdf")
    for _ in range(8):
        world.reports.photo_upload(resident, report.report_id, "image/png")
    with pytest.raises(Conflict):
        world.reports.photo_upload(resident, report.report_id, "image/png")


def test_following_gives_a_neighbour_the_report(world: World) -> None:
    _, report = _file(world)
    world.clock.advance(61)
    neighbour = world.resident("13800000002", grid=G1)
    with pytest.raises(NotFound):
        world.reports.view(neighbour, report.report_id)
    world.reports.follow(neighbour, report.report_id)
    assert world.reports.view(neighbour, report.report_id).followers == [neighbour.user_id]
