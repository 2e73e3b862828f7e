"""A new user over HTTP: sign in by SMS, join a grid with the grid worker's code, and find it all
still there after the stack restarts."""

from __future__ import annotations

import pytest

from tests.e2e.client import Http
from tests.e2e.conftest import LocalStackProcess

pytestmark = pytest.mark.e2e
G1 = "wuhan.wuchang.shuiguohu.dongting.g01"


def test_a_new_resident_joins_a_grid_and_it_survives_a_restart(local_stack: LocalStackProcess) -> None:
    http = Http(local_stack)
    assert len(http.get("/openapi.json")["paths"]) >= 20

    resident = http.sign_in("+8613812345678")
    assert resident["created"] is True
    token = resident["token"]

    worker = http.sign_in("+8613900000001")  # 张忻欣, the demo grid worker of 东亭社区第一网格
    assert worker["user"]["role"] == "grid_worker"
    code = http.post(f"/v1/grids/{G1}/join-codes", {"max_uses": 10}, worker["token"], expect=201)

    bound = http.post("/v1/me/binding", {"code": code["code"], "building": "15", "unit": "2", "room": "301"}, token)
    assert bound["user"]["binding"]["status"] == "pending"
    community = http.get("/v1/me/community", bound["token"])
    assert community["community"]["name"] == "东亭社区"
    assert community["grid_workers"][0]["name"] == "张忻欣"
    assert community["grid_workers"][0]["phone_masked"] == "139****0001"

    local_stack.restart()

    me = http.get("/v1/me", bound["token"])
    assert me["binding"]["grid_id"] == G1 and me["binding"]["building"] == "15"
    again = http.get("/v1/me/community", bound["token"])
    assert again["grid"]["unit_id"] == G1
