from __future__ import annotations

import pytest

from chalicelib.domain.auth import Principal, Role
from chalicelib.domain.errors import Forbidden, Gone, InvalidInput, NotFound
from chalicelib.domain.users import BindingStatus
from chalicelib.services.auth import phone_identity
from tests.unit.conftest import G1, G2, PHONE_KEY, World


def _join(world: World, phone: str = "13800000001", **kw: int) -> tuple[str, Principal]:
    worker = world.staff(Role.GRID_WORKER, G1, phone="13900000001")
    issued = world.membership.issue_join_code(worker, G1, kw.get("ttl"), kw.get("uses"))
    return issued.text, world.resident(phone)


def test_a_resident_binds_with_the_grid_workers_code(world: World) -> None:
    text, resident = _join(world)
    user = world.membership.bind(resident, text, "15", "2", "301")
    assert user.binding is not None
    assert (user.binding.grid_id, user.binding.status) == (G1, BindingStatus.PENDING)
    assert user.binding.address == "15-2-301"


def test_binding_twice_to_the_same_place_uses_the_code_once(world: World) -> None:
    text, resident = _join(world)
    world.membership.bind(resident, text, "15", "2", "301")
    world.membership.bind(resident, text, "15", "2", "301")
    assert next(iter(world.codes.items.values())).uses == 1


def test_a_worker_cannot_issue_codes_for_another_grid(world: World) -> None:
    worker = world.staff(Role.GRID_WORKER, G1)
    with pytest.raises(Forbidden):
        world.membership.issue_join_code(worker, G2, None, None)


def test_a_resident_cannot_issue_codes(world: World) -> None:
    resident = world.resident()
    with pytest.raises(Forbidden):
        world.membership.issue_join_code(resident, G1, None, None)


def test_a_used_up_code_is_refused(world: World) -> None:
    text, first = _join(world, uses=1)
    world.membership.bind(first, text, "1", "1", "101")
    second = world.resident("13800000002")
    with pytest.raises(Gone) as err:
        world.membership.bind(second, text, "1", "1", "102")
    assert err.value.code == "join_code_used_up"


def test_a_revoked_code_is_refused(world: World) -> None:
    worker = world.staff(Role.GRID_WORKER, G1)
    issued = world.membership.issue_join_code(worker, G1, None, None)
    world.membership.revoke_join_code(worker, G1, issued.code.code_id)
    resident = world.resident()
    with pytest.raises(Gone) as err:
        world.membership.bind(resident, issued.text, "1", "1", "101")
    assert err.value.code == "join_code_revoked"


def test_an_expired_code_is_refused(world: World) -> None:
    text, resident = _join(world, ttl=60)
    world.clock.advance(61)
    with pytest.raises(Gone) as err:
        world.membership.bind(resident, text, "1", "1", "101")
    assert err.value.code == "join_code_expired"


def test_a_forged_code_is_refused_without_touching_anything(world: World) -> None:
    text, resident = _join(world)
    with pytest.raises(InvalidInput):
        world.membership.bind(resident, text[:-2] + "xx", "1", "1", "101")
    stored = world.users.get(resident.user_id)
    assert stored is not None and stored.binding is None


def test_address_parts_are_required(world: World) -> None:
    text, resident = _join(world)
    with pytest.raises(InvalidInput) as err:
        world.membership.bind(resident, text, "15", "", "301")
    assert err.value.field == "unit"


def test_the_grid_worker_verifies_and_the_access_is_logged(world: World) -> None:
    text, resident = _join(world)
    world.membership.bind(resident, text, "15", "2", "301")
    worker = world.staff(Role.GRID_WORKER, G1, phone="13900000002")
    pending = world.membership.residents(worker, G1, BindingStatus.PENDING, None, None)
    assert [u.user_id for u in pending.items] == [resident.user_id]
    assert world.access_log.entries == [(resident.user_id, worker.user_id, "list_residents")]
    verified = world.membership.verify_resident(worker, G1, resident.user_id, True, None)
    assert verified.binding is not None and verified.binding.status is BindingStatus.VERIFIED


def test_a_worker_of_another_grid_cannot_verify(world: World) -> None:
    text, resident = _join(world)
    world.membership.bind(resident, text, "15", "2", "301")
    other = world.staff(Role.GRID_WORKER, G2, phone="13900000003")
    with pytest.raises(Forbidden):
        world.membership.verify_resident(other, G1, resident.user_id, True, None)
    with pytest.raises(NotFound):
        world.membership.verify_resident(other, G2, resident.user_id, True, None)


def test_my_community_shows_the_grid_workers_masked_phone(world: World) -> None:
    text, resident = _join(world)
    world.membership.bind(resident, text, "15", "2", "301")
    view = world.membership.my_community(resident)
    assert view.community is not None and view.community.name == "东亭社区"
    assert view.grid is not None and view.grid.unit_id == G1
    assert [w.masked_phone for w in view.grid_workers] == ["139****0001"]


def test_erasure_removes_identity_and_frees_the_phone(world: World) -> None:
    text, resident = _join(world)
    world.membership.bind(resident, text, "15", "2", "301")
    world.membership.erase_me(resident)
    erased = world.users.get(resident.user_id)
    assert erased is not None and erased.erased
    assert (erased.phone, erased.name, erased.binding) == (None, None, None)
    assert world.users.find_by_identity(phone_identity(PHONE_KEY, "+8613800000001")) is None
    with pytest.raises(NotFound):
        world.membership.me(resident)
    world.clock.advance(61)
    again = world.resident("13800000001")
    assert again.user_id != resident.user_id


def test_name_changes_are_validated(world: World) -> None:
    resident = world.resident()
    assert world.membership.update_me(resident, "王阿姨").name == "王阿姨"
    with pytest.raises(InvalidInput):
        world.membership.update_me(resident, " ")
