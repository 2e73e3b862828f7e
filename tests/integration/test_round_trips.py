"""DynamoDB round trips per request, counted (not timed): the budgets the issues set."""

from __future__ import annotations

from typing import Any

from chalicelib.local.demo import DONGTING, XINMINZHULU
from tests.counting import dynamodb_calls
from tests.integration.conftest import Api, token_of

G1 = f"{DONGTING}.g01"
GROUP = f"grid~{XINMINZHULU}.g01"
WASTE = {"category": "construction-waste", "description": "15号楼墙角建筑垃圾", "location": {"building": "15"}}


def test_filing_a_report_costs_at_most_four(api: Api, demo: dict[str, Any]) -> None:
    chen = token_of(demo, "chenwen")
    api.get("/v1/report-categories", chen)  # a warm function has the categories cached
    with dynamodb_calls() as calls:
        assert api.post("/v1/reports", WASTE, chen, headers={"Idempotency-Key": "rt-1"}).status == 201
    # the idempotency record (in progress, then done), the duplicate check, the transaction
    assert 1 <= len(calls) <= 4, calls
    assert "TransactWriteItems" in calls


def test_reading_a_report_or_a_list_costs_at_most_two(api: Api, demo: dict[str, Any]) -> None:
    chen, worker = token_of(demo, "chenwen"), token_of(demo, "zhangxinxin")
    report_id = api.post("/v1/reports", WASTE, chen).body["report_id"]
    with dynamodb_calls() as one:
        assert api.get(f"/v1/reports/{report_id}", chen).status == 200
    with dynamodb_calls() as listed:
        assert api.get(f"/v1/units/{G1}/reports?open=true", worker).status == 200
    with dynamodb_calls() as accepted:
        assert api.post(f"/v1/reports/{report_id}/transitions", {"action": "accept"}, worker).status == 200
    assert one == ["Query"]  # the report, its timeline and followers share a partition
    assert len(listed) <= 2, listed
    assert len(accepted) <= 2, accepted


def test_chat_reads_cost_at_most_two_and_sends_at_most_four(api: Api, demo: dict[str, Any]) -> None:
    wang = token_of(demo, "wangwei")
    api.post(f"/v1/conversations/{GROUP}/messages", {"text": "第一条"}, wang)
    with dynamodb_calls() as sent:
        answer = api.post(
            f"/v1/conversations/{GROUP}/messages", {"text": "第二条"}, wang, headers={"Idempotency-Key": "rt-2"}
        )
        assert answer.status == 201
    with dynamodb_calls() as read:
        assert len(api.get(f"/v1/conversations/{GROUP}/messages", wang).body["items"]) == 2
    assert len(sent) <= 4, sent
    assert len(read) <= 2, read
