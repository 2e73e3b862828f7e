"""The original system's own example over HTTP: 陈雯 of 东亭社区 reports construction waste at
building 15 with a photo; the grid worker handles it and she rates it. Another report that nobody
touches escalates to 东亭社区 and then to 水果湖街, and she sees each step."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.client import Http
from tests.e2e.conftest import LocalStackProcess
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


def test_construction_waste_is_handled_and_an_untouched_report_escalates(local_stack: LocalStackProcess) -> None:
    http = Http(local_stack)
    chen = http.sign_in("+8613800000001")["token"]
    worker = http.sign_in("+8613900000001")["token"]

    # Nobody will touch this one: 20 minutes per level, 1.2 s on the test stack.
    hazard = http.post(
        "/v1/reports",
        {
            "category": "safety-hazard",
            "description": "楼道堆放杂物堵塞消防通道",
            "urgency": "normal",
            "location": {"building": "12"},
        },
        chen,
        expect=201,
    )

    waste = http.post(
        "/v1/reports",
        {
            "category": "construction-waste",
            "description": "网格员你好，15号楼墙角建筑垃圾，请帮忙处理。",
            "urgency": "low",  # four hours to accept: 14 s on the test stack, time enough to handle it
            "location": {"building": "15"},
        },
        chen,
        expect=201,
    )
    upload = http.post(f"/v1/reports/{waste['report_id']}/photos", {"content_type": "image/jpeg"}, chen, expect=201)
    sent = requests.post(
        upload["upload"]["url"],
        data=upload["upload"]["fields"],
        files={"file": ("waste.jpg", b"\xff\xd8\xff\xe0" + b"0" * 2048, "image/jpeg")},
        timeout=15,
    )
    assert sent.status_code in (200, 201, 204), sent.text

    path = f"/v1/reports/{waste['report_id']}/transitions"
    assert http.post(path, {"action": "accept"}, worker)["status"] == "accepted"
    assert http.post(path, {"action": "resolve", "note": "已联系清运"}, worker)["status"] == "resolved"
    closed = http.post(f"/v1/reports/{waste['report_id']}/rating", {"stars": 5, "comment": "处理很及时"}, chen)
    assert closed["status"] == "closed"
    detail = http.get(f"/v1/reports/{waste['report_id']}", chen)
    assert [e["action"] for e in detail["timeline"]] == ["filed", "accept", "resolve", "rated"]
    photo = requests.get(detail["photos"][0], timeout=15)
    assert photo.status_code == 200 and photo.content.startswith(b"\xff\xd8")

    def climbed() -> list[str]:
        timeline = http.get(f"/v1/reports/{hazard['report_id']}", chen)["timeline"]
        return [e["data"].get("to_level") for e in timeline if e["action"] == "escalated"]

    assert eventually(lambda: len(climbed()) >= 2 and climbed(), timeout=90, every=0.5)[:2] == ["community", "street"]
    titles = eventually(
        lambda: (
            {n["title"] for n in http.get("/v1/me/notifications", chen)["items"]}
            >= {"您的报事已升级至东亭社区处理", "您的报事已升级至水果湖街处理"}
        )
    )
    assert titles
