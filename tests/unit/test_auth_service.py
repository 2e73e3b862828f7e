from __future__ import annotations

import pytest

from chalicelib.domain.auth import Role
from chalicelib.domain.errors import Conflict, Gone, InvalidInput, RateLimited, Unavailable
from tests.fakes import decode_claims
from tests.unit.conftest import G1, World

PHONE = "+8613800000001"


def test_sms_code_is_sent_and_signs_in_a_new_resident(world: World) -> None:
    world.auth.request_sms_code("13800000001")
    code = world.sms.last_code(PHONE)
    signed = world.auth.verify_sms_code("13800000001", code)
    assert signed.created
    assert signed.user.role is Role.RESIDENT and signed.user.phone == PHONE
    assert decode_claims(signed.token)["sub"] == signed.user.user_id


def test_second_sign_in_finds_the_same_person(world: World) -> None:
    first = world.resident("13800000001")
    world.clock.advance(61)
    again = world.resident("13800000001")
    assert again.user_id == first.user_id


def test_code_is_stored_hashed_not_in_clear(world: World) -> None:
    world.auth.request_sms_code(PHONE)
    code = world.sms.last_code(PHONE)
    stored = next(iter(world.otps.items.values()))
    assert code not in stored.code_hash


def test_answer_is_the_same_for_known_and_unknown_phones(world: World) -> None:
    world.staff(Role.GRID_WORKER, G1, phone="13900000009")
    assert world.auth.request_sms_code("13900000009") == world.auth.request_sms_code("13800000077")


def test_a_wrong_code_is_refused_and_the_sixth_try_fails_even_when_right(world: World) -> None:
    world.auth.request_sms_code(PHONE)
    right = world.sms.last_code(PHONE)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(InvalidInput):
            world.auth.verify_sms_code(PHONE, wrong)
    with pytest.raises(Gone) as err:
        world.auth.verify_sms_code(PHONE, right)
    assert err.value.code == "code_attempts_exhausted"


def test_a_code_works_once(world: World) -> None:
    world.auth.request_sms_code(PHONE)
    code = world.sms.last_code(PHONE)
    world.auth.verify_sms_code(PHONE, code)
    with pytest.raises(InvalidInput):
        world.auth.verify_sms_code(PHONE, code)


def test_an_expired_code_is_refused(world: World) -> None:
    world.auth.request_sms_code(PHONE)
    code = world.sms.last_code(PHONE)
    world.clock.advance(301)
    with pytest.raises(InvalidInput):
        world.auth.verify_sms_code(PHONE, code)


def test_codes_are_rate_limited_per_minute_and_per_day(world: World) -> None:
    world.auth.request_sms_code(PHONE)
    with pytest.raises(RateLimited) as err:
        world.auth.request_sms_code(PHONE)
    assert 0 < err.value.retry_after <= 60
    for _ in range(9):
        world.clock.advance(61)
        world.auth.request_sms_code(PHONE)
    world.clock.advance(61)
    with pytest.raises(RateLimited):
        world.auth.request_sms_code(PHONE)


def test_a_malformed_phone_names_the_field(world: World) -> None:
    with pytest.raises(InvalidInput) as err:
        world.auth.request_sms_code("call me")
    assert err.value.field == "phone"
    assert world.sms.sent == []


def test_provider_failure_is_unavailable(world: World) -> None:
    world.sms.down = True
    with pytest.raises(Unavailable):
        world.auth.request_sms_code(PHONE)


def test_wechat_sign_in_creates_then_finds_the_resident(world: World) -> None:
    first = world.auth.sign_in_wechat("abc", None)
    second = world.auth.sign_in_wechat("abc", None)
    assert first.created and not second.created
    assert first.user.user_id == second.user.user_id
    assert first.user.wechat_openid == "o-abc"


def test_wechat_links_to_the_signed_in_person(world: World) -> None:
    me = world.resident()
    linked = world.auth.sign_in_wechat("abc", me)
    assert linked.user.user_id == me.user_id
    assert world.auth.sign_in_wechat("abc", None).user.user_id == me.user_id


def test_wechat_account_of_someone_else_cannot_be_linked(world: World) -> None:
    world.auth.sign_in_wechat("abc", None)
    me = world.resident()
    with pytest.raises(Conflict):
        world.auth.sign_in_wechat("abc", me)


def test_a_refused_wechat_code_is_invalid_input(world: World) -> None:
    with pytest.raises(InvalidInput):
        world.auth.sign_in_wechat("bad-code", None)


def test_dev_token_checks_role_and_scope(world: World) -> None:
    signed = world.auth.dev_token("grid_worker", G1, None)
    assert decode_claims(signed.token)["scope"] == G1
    with pytest.raises(InvalidInput):
        world.auth.dev_token("mayor", G1, None)
