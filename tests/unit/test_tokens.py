from __future__ import annotations

from datetime import UTC, timedelta

import jwt
import pytest

from chalicelib.domain.auth import Principal, Role
from chalicelib.domain.errors import Unauthenticated
from tests.fakes import T0, decode_claims, tokens

GRID = "wuhan.wuchang.shuiguohu.dongting.g01"


def test_a_token_carries_subject_role_scope_and_expiry() -> None:
    token, expires = tokens(ttl=600).issue(Principal("u1", Role.GRID_WORKER, GRID), T0)
    claims = decode_claims(token)
    assert (claims["sub"], claims["role"], claims["scope"]) == ("u1", "grid_worker", GRID)
    assert expires == T0 + timedelta(seconds=600)


def test_a_fresh_token_verifies_to_its_principal() -> None:
    from datetime import datetime

    issuer = tokens()
    token, _ = issuer.issue(Principal("u1", Role.RESIDENT, GRID), datetime.now(UTC))
    assert issuer.verify(token) == Principal("u1", Role.RESIDENT, GRID)


def test_an_expired_token_is_refused() -> None:
    token, _ = tokens(ttl=60).issue(Principal("u1", Role.RESIDENT, ""), T0)
    with pytest.raises(Unauthenticated) as err:
        tokens().verify(token)
    assert err.value.code == "token_expired"


def test_a_tampered_token_is_refused() -> None:
    from datetime import datetime

    token, _ = tokens().issue(Principal("u1", Role.RESIDENT, ""), datetime.now(UTC))
    claims = decode_claims(token)
    claims["role"] = "city_admin"
    forged = jwt.encode(claims, "not-the-key-but-just-as-long-0123456789", algorithm="HS256")
    with pytest.raises(Unauthenticated) as err:
        tokens().verify(forged)
    assert err.value.code == "token_invalid"
