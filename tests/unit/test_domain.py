from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.auth import Principal, Role, check_role_scope, require_admin_over, require_staff_over
from chalicelib.domain.errors import Forbidden, Gone, InvalidInput
from chalicelib.domain.joining import JoinCode, parse_join_code, sign_join_code
from chalicelib.domain.tree import Level, ancestor_at, ancestors, is_within, level_of, parent_of, validate_path
from chalicelib.domain.users import mask_phone, normalize_phone
from tests.fakes import T0

GRID = "wuhan.wuchang.shuiguohu.dongting.g03"


def test_scope_is_a_prefix_of_whole_segments() -> None:
    assert is_within("wuhan.wuchang", GRID)
    assert is_within(GRID, GRID)
    assert not is_within("wuhan.wu", GRID)  # a prefix of a segment is not an ancestor
    assert not is_within(GRID, "wuhan.wuchang")
    assert not is_within("", GRID)


def test_levels_come_from_depth() -> None:
    assert level_of("wuhan") is Level.CITY
    assert level_of(GRID) is Level.GRID
    assert parent_of(GRID) == "wuhan.wuchang.shuiguohu.dongting"
    assert parent_of("wuhan") is None
    assert ancestors(GRID)[0] == "wuhan" and len(ancestors(GRID)) == 4
    assert ancestor_at(GRID, Level.STREET) == "wuhan.wuchang.shuiguohu"
    assert ancestor_at("wuhan", Level.STREET) is None


@pytest.mark.parametrize("bad", ["", "Wuhan", "wuhan..x", "a.b.c.d.e.f", "wuhan/wuchang", "-x"])
def test_invalid_paths_are_refused_naming_the_field(bad: str) -> None:
    with pytest.raises(InvalidInput) as err:
        validate_path(bad, "parent_id")
    assert err.value.field == "parent_id"


def test_phone_numbers_are_normalised_and_masked() -> None:
    assert normalize_phone("138 1234 5678") == "+8613812345678"
    assert normalize_phone("008613812345678") == "+8613812345678"
    assert mask_phone("+8613812345678") == "138****5678"
    with pytest.raises(InvalidInput):
        normalize_phone("12345")


def test_roles_are_held_to_their_level() -> None:
    check_role_scope(Role.GRID_WORKER, GRID)
    with pytest.raises(Forbidden):
        check_role_scope(Role.GRID_WORKER, "wuhan.wuchang")
    check_role_scope(Role.DEPT_STAFF, "wuhan.wuchang")  # department staff may sit at any level


def test_staff_checks_follow_scope_and_role() -> None:
    worker = Principal("w", Role.GRID_WORKER, GRID)
    require_staff_over(worker, GRID)
    with pytest.raises(Forbidden):
        require_staff_over(worker, "wuhan.wuchang.shuiguohu.dongting.g04")
    with pytest.raises(Forbidden):
        require_admin_over(worker, GRID)
    with pytest.raises(Forbidden):
        require_staff_over(Principal("r", Role.RESIDENT, GRID), GRID)
    require_admin_over(Principal("s", Role.STREET_ADMIN, "wuhan.wuchang.shuiguohu"), GRID)


def _code(**kw: object) -> JoinCode:
    base = {
        "code_id": "01J",
        "grid_id": GRID,
        "created_by": "w",
        "created_at": T0,
        "expires_at": T0 + timedelta(days=1),
        "max_uses": 2,
    }
    base.update(kw)
    return JoinCode(**base)  # type: ignore[arg-type]


def test_join_code_signature_round_trips_and_rejects_forgery() -> None:
    text = sign_join_code(b"k", _code())
    assert parse_join_code(b"k", text) == (GRID, "01J")
    with pytest.raises(InvalidInput):
        parse_join_code(b"other-key", text)
    forged = text.replace(GRID, "wuhan.wuchang.shuiguohu.dongting.g04")
    with pytest.raises(InvalidInput):
        parse_join_code(b"k", forged)
    with pytest.raises(InvalidInput):
        parse_join_code(b"k", "hello")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"revoked": True}, "join_code_revoked"),
        ({"uses": 2}, "join_code_used_up"),
        ({"expires_at": T0}, "join_code_expired"),
    ],
)
def test_unusable_join_codes_say_why(change: dict[str, object], reason: str) -> None:
    with pytest.raises(Gone) as err:
        _code(**change).check_usable(T0)
    assert err.value.code == reason
