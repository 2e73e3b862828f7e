"""DynamoDB round trips per request, counted (not timed): the budgets the issues set."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.client import BaseClient

from chalicelib.local.demo import DONGTING, XINMINZHULU
from tests.integration.conftest import Api, token_of

G1 = f"{DONGTING}.g01"
GROUP = f"grid~{XINMINZHULU}.g01"
WASTE = {"category": "construction-waste", "description": "15号楼墙角建筑垃圾", "location": {"building": "15"}}


class Calls:
    def __init__(self) -> None:
        self.dynamodb: list[str] = []


@contextmanager
def counting(monkeypatch: pytest.MonkeyPatch) -> Iterator[Calls]:
    calls = Calls()
    original = BaseClient._make_api_call

    def counted(self: BaseClient, operation: str, params: Any) -> Any:
        if self.meta.service_model.service_name == "dynamodb":
            calls.dynamodb.append(operation)
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counted)
    yield calls
    monkeypatch.setattr(BaseClient, "_make_api_call", original)


def test_filing_a_report_costs_at_most_four(api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    chen = token_of(demo, "chenwen")
    api.get("/v1/report-categories", chen)  # a warm function has the categories cached
    with counting(monkeypatch) as calls:
        assert api.post("/v1/reports", WASTE, chen, headers={"Idempotency-Key": "rt-1"}).status == 201
    # the idempotency record (in progress, then done), the duplicate check, the transaction
    assert 1 <= len(calls.dynamodb) <= 4, calls.dynamodb
    assert "TransactWriteItems" in calls.dynamodb


def test_reading_a_report_or_a_list_costs_at_most_two(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    chen, worker = token_of(demo, "chenwen"), token_of(demo, "zhangxinxin")
    report_id = api.post("/v1/reports", WASTE, chen).body["report_id"]
    with counting(monkeypatch) as one:
        assert api.get(f"/v1/reports/{report_id}", chen).status == 200
    with counting(monkeypatch) as listed:
        assert api.get(f"/v1/units/{G1}/reports?open=true", worker).status == 200
    with counting(monkeypatch) as accepted:
        assert api.post(f"/v1/reports/{report_id}/transitions", {"action": "accept"}, worker).status == 200
    assert one.dynamodb == ["Query"]  # the report, its timeline and followers share a partition
    assert len(listed.dynamodb) <= 2, listed.dynamodb
    assert len(accepted.dynamodb) <= 2, accepted.dynamodb


def test_chat_reads_cost_at_most_two_and_sends_at_most_four(
    api: Api, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    wang = token_of(demo, "wangwei")
    api.post(f"/v1/conversations/{GROUP}/messages", {"text": "第一条"}, wang)
    with counting(monkeypatch) as sent:
        answer = api.post(
            f"/v1/conversations/{GROUP}/messages", {"text": "第二条"}, wang, headers={"Idempotency-Key": "rt-2"}
        )
        assert answer.status == 201
    with counting(monkeypatch) as read:
        assert len(api.get(f"/v1/conversations/{GROUP}/messages", wang).body["items"]) == 2
    assert len(sent.dynamodb) <= 4, sent.dynamodb
    assert len(read.dynamodb) <= 2, read.dynamodb
