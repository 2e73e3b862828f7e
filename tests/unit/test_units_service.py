from __future__ import annotations

import pytest

from chalicelib.domain.auth import Principal, Role
from chalicelib.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from chalicelib.domain.tree import Level
from tests.unit.conftest import G1, World

COMMUNITY = "wuhan.wuchang.shuiguohu.dongting"


def test_an_admin_adds_a_unit_one_level_below_a_unit_in_scope(world: World) -> None:
    admin = world.staff(Role.COMMUNITY_ADMIN, COMMUNITY)
    unit = world.tree.create(admin, COMMUNITY, "g09", "第九网格", None)
    assert unit.unit_id == f"{COMMUNITY}.g09" and unit.level is Level.GRID
    assert world.tree.get(unit.unit_id).unit.name == "第九网格"


def test_an_admin_cannot_add_outside_scope(world: World) -> None:
    admin = world.staff(Role.COMMUNITY_ADMIN, COMMUNITY)
    with pytest.raises(Forbidden):
        world.tree.create(admin, "wuhan.wuchang.zhongnanlu.xinminzhulu", "g09", "x", None)


def test_a_grid_worker_cannot_add_units(world: World) -> None:
    worker = world.staff(Role.GRID_WORKER, G1)
    with pytest.raises(Forbidden):
        world.tree.create(worker, G1, "b1", "x", None)


def test_grids_have_no_children_and_duplicates_conflict(world: World) -> None:
    admin = world.staff(Role.CITY_ADMIN, "wuhan")
    with pytest.raises(InvalidInput):
        world.tree.create(admin, G1, "b1", "x", None)
    with pytest.raises(Conflict):
        world.tree.create(admin, COMMUNITY, "g01", "again", None)


def test_children_page_through_with_a_cursor(world: World) -> None:
    first = world.tree.children(COMMUNITY, 1, None)
    second = world.tree.children(COMMUNITY, 1, first.next_cursor)
    assert [u.unit_id for u in first.items + second.items] == [G1, f"{COMMUNITY}.g02"]
    assert second.next_cursor is None


def test_missing_unit_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        world.tree.get("wuhan.nowhere")


def test_a_grid_lists_its_grid_workers(world: World) -> None:
    world.staff(Role.GRID_WORKER, G1, name="李网格")
    view = world.tree.get(G1)
    assert [u.name for u in view.grid_workers] == ["李网格"]


def test_appointed_staff_can_sign_in_with_their_role(world: World) -> None:
    admin = world.staff(Role.COMMUNITY_ADMIN, COMMUNITY)
    staff = world.tree.appoint_staff(admin, G1, Role.GRID_WORKER, "13700000001", "王网格", None, "网格员")
    world.auth.request_sms_code("13700000001")
    signed = world.auth.verify_sms_code("13700000001", world.sms.last_code("+8613700000001"))
    assert signed.user.user_id == staff.user_id and signed.user.role is Role.GRID_WORKER
    assert not signed.created


def test_appointments_are_checked(world: World) -> None:
    admin = world.staff(Role.COMMUNITY_ADMIN, COMMUNITY)
    with pytest.raises(Forbidden):  # a grid worker's scope must be a grid
        world.tree.appoint_staff(admin, COMMUNITY, Role.GRID_WORKER, "13700000002", "x", None, None)
    with pytest.raises(InvalidInput):
        world.tree.appoint_staff(admin, G1, Role.DEPT_STAFF, "13700000003", "x", None, None)
    with pytest.raises(Forbidden):
        world.tree.appoint_staff(admin, "wuhan.wuchang", Role.DISTRICT_ADMIN, "13700000004", "x", None, None)
    resident = Principal("r", Role.RESIDENT, G1)
    with pytest.raises(Forbidden):
        world.tree.appoint_staff(resident, G1, Role.GRID_WORKER, "13700000005", "x", None, None)
