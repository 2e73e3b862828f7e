"""The escalation workflow really executing on moto, fed by the event pump."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from chalicelib.adapters.definitions import ESCALATION
from chalicelib.adapters.reports import DynamoCounters, StepFunctionsEscalation
from chalicelib.local.demo import DONGTING
from chalicelib.local.pump import EventPump
from chalicelib.services.report_events import SHARDS, day_of
from chalicelib.settings import get_settings
from tests.integration.conftest import Api, token_of
from tests.waiting import eventually

G1 = f"{DONGTING}.g01"
URGENT = {"category": "epidemic", "description": "楼道里有人发热", "urgency": "urgent", "location": {"building": "15"}}
NORMAL = {"category": "construction-waste", "description": "15号楼墙角建筑垃圾", "location": {"building": "15"}}


def _report(api: Api, token: str, report_id: str) -> dict[str, Any]:
    return dict(api.get(f"/v1/reports/{report_id}", token).body)


def test_a_report_nobody_accepts_climbs_to_the_district_and_gets_a_red_card(
    api: Api, demo: dict[str, Any], pump: EventPump
) -> None:
    chen = token_of(demo, "chenwen")
    report_id = api.post("/v1/reports", URGENT, chen).body["report_id"]
    final = eventually(
        lambda: (r := _report(api, chen, report_id))["timeline"][-1]["action"] == "red_card" and r, timeout=30
    )
    assert final["level"] == "district" and final["status"] == "submitted" and final["overdue"]
    steps = [e["data"].get("to_level") for e in final["timeline"] if e["action"] == "escalated"]
    assert steps == ["community", "street", "district"]
    assert [e["action"] for e in final["timeline"]][-1] == "red_card"

    # the reporter is told at each step, city operations of the red card
    def inbox_titles() -> set[str]:
        return {n["title"] for n in api.get("/v1/me/notifications", chen).body["items"]}

    told = {"您的报事已升级至东亭社区处理", "您的报事已升级至水果湖街处理", "您的报事已升级至武昌区处理"}
    eventually(lambda: told <= inbox_titles())
    ops = eventually(lambda: api.get("/v1/me/notifications", token_of(demo, "city-ops")).body["items"])
    assert ops[0]["kind"] == "report_red_card"
    # overdue is a first-class statistic, counted for the grid and every unit above it
    day = day_of(datetime.now(UTC))
    counts = DynamoCounters().read(f"{DONGTING}#{day}", 1)
    assert counts["created"] == 1 and counts["escalated"] == 3 and counts["red_card"] == 1 and counts["overdue"] == 4
    city = DynamoCounters().read(f"wuhan#{day}", SHARDS)  # the city's counters are sharded; reading sums them
    assert city["created"] == 1 and city["red_card"] == 1


def test_a_report_accepted_in_time_stops_escalating(api: Api, demo: dict[str, Any], pump: EventPump) -> None:
    chen, worker = token_of(demo, "chenwen"), token_of(demo, "zhangxinxin")
    filed = api.post("/v1/reports", NORMAL, chen).body  # an hour to accept, 3.6 s here
    accepted = api.post(f"/v1/reports/{filed['report_id']}/transitions", {"action": "accept"}, worker)
    assert accepted.status == 200
    first_deadline = datetime.fromisoformat(filed["deadline"])
    eventually(lambda: datetime.now(UTC) > first_deadline + timedelta(seconds=1.5), timeout=10)
    later = _report(api, chen, filed["report_id"])
    assert later["level"] == "grid" and not later["red_card"]
    executions = _executions(filed["report_id"])
    assert set(executions) == {f"{filed['report_id']}-0", f"{filed['report_id']}-1"}
    assert eventually(lambda: _executions(filed["report_id"])[f"{filed['report_id']}-0"] == "SUCCEEDED")


def test_a_supervision_order_past_its_deadline_escalates(api: Api, demo: dict[str, Any], pump: EventPump) -> None:
    chen, worker, admin = token_of(demo, "chenwen"), token_of(demo, "zhangxinxin"), token_of(demo, "dongting-admin")
    report_id = api.post("/v1/reports", NORMAL, chen).body["report_id"]
    api.post(f"/v1/reports/{report_id}/transitions", {"action": "accept"}, worker)  # resolve in 86 s here
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    assert api.post(f"/v1/reports/{report_id}/supervision", {"deadline": soon, "note": "马上清运"}, admin).status == 201
    escalated = eventually(
        lambda: (r := _report(api, chen, report_id))["timeline"][-1]["action"] == "escalated" and r, timeout=15
    )
    assert escalated["level"] == "community"
    assert escalated["status"] == "accepted"
    assert [e["action"] for e in escalated["timeline"]] == ["filed", "accept", "supervised", "escalated"]


def test_starting_the_same_execution_twice_is_harmless(api: Api, demo: dict[str, Any]) -> None:
    report_id = api.post("/v1/reports", NORMAL, token_of(demo, "chenwen")).body["report_id"]
    workflow = StepFunctionsEscalation(get_settings().state_machine_arn(ESCALATION.logical))
    workflow.start(report_id, 0)
    workflow.start(report_id, 0)
    assert list(_executions(report_id)) == [f"{report_id}-0"]


def _executions(report_id: str) -> dict[str, str]:
    sfn = boto3.client("stepfunctions")
    arn = get_settings().state_machine_arn(ESCALATION.logical)
    listed = sfn.list_executions(stateMachineArn=arn)["executions"]
    return {e["name"]: e["status"] for e in listed if e["name"].startswith(report_id)}


def test_the_hourly_rearm_starts_an_escalation_that_never_started(api: Api, demo: dict[str, Any]) -> None:
    from chalice.test import Client

    from app import app

    report_id = api.post("/v1/reports", NORMAL, token_of(demo, "chenwen")).body["report_id"]
    assert _executions(report_id) == {}  # no pump here: its stream record was never handled
    with Client(app) as client:
        tick = client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
        )
        answer = client.lambda_.invoke("rearm_escalations", tick).payload
        again = client.lambda_.invoke("rearm_escalations", tick).payload
    assert answer["checked"] >= 1 and again["checked"] >= 1
    assert list(_executions(report_id)) == [f"{report_id}-0"]  # started once, however often it runs
