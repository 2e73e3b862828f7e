from __future__ import annotations

import threading
from typing import Any

from chalicelib.local.demo import DONGTING, PEOPLE
from tests.integration.conftest import Api, token_of

G1 = f"{DONGTING}.g01"
WASTE = {
    "category": "construction-waste",
    "description": "网格员你好，15号楼墙角建筑垃圾，请帮忙处理。",
    "location": {"building": "15"},
}


def _file(api: Api, token: str, body: dict[str, Any] | None = None, key: str | None = None) -> Any:
    return api.post("/v1/reports", body or WASTE, token, headers={"Idempotency-Key": key} if key else None)


def test_categories_are_listed_with_departments_and_deadlines(api: Api) -> None:
    answer = api.get("/v1/report-categories")
    codes = {c["code"]: c for c in answer.body["items"]}
    assert answer.status == 200 and "construction-waste" in codes and "epidemic" in codes
    assert codes["water-leak"]["department"] == "房管" and codes["water-leak"]["accept_minutes"]["urgent"] > 0


def test_a_city_admin_adds_a_category(api: Api, demo: dict[str, Any]) -> None:
    body = {
        "code": "pets",
        "name": "宠物扰民",
        "department": "城管",
        "group": "社会治理",
        "accept_minutes": {"low": 240, "normal": 120, "urgent": 30},
        "resolve_hours": {"low": 72, "normal": 48, "urgent": 12},
    }
    assert api.post("/v1/report-categories", body, token_of(demo, "chenwen")).status == 403
    made = api.post("/v1/report-categories", body, token_of(demo, "city-ops"))
    assert made.status == 201
    codes = [c["code"] for c in api.get("/v1/report-categories", token_of(demo, "chenwen")).body["items"]]
    assert "pets" in codes and "construction-waste" in codes


def test_chen_wen_reports_the_construction_waste_and_the_grid_worker_sees_it(api: Api, demo: dict[str, Any]) -> None:
    filed = _file(api, token_of(demo, "chenwen"))
    assert filed.status == 201 and filed.body["status"] == "submitted" and filed.body["level"] == "grid"
    assert filed.body["department"] == "城管" and filed.body["deadline"] is not None
    report_id = filed.body["report_id"]
    work = api.get(f"/v1/units/{G1}/reports?open=true", token_of(demo, "zhangxinxin"))
    assert [r["report_id"] for r in work.body["items"]] == [report_id]
    detail = api.get(f"/v1/reports/{report_id}", token_of(demo, "chenwen"))
    assert [e["action"] for e in detail.body["timeline"]] == ["filed"]
    mine = api.get("/v1/me/reports", token_of(demo, "chenwen"))
    assert [r["report_id"] for r in mine.body["items"]] == [report_id]


def test_a_report_is_private_to_its_reporter_and_the_staff_over_it(api: Api, demo: dict[str, Any]) -> None:
    report_id = _file(api, token_of(demo, "chenwen")).body["report_id"]
    assert api.get(f"/v1/reports/{report_id}", token_of(demo, "wangwei")).status == 404
    assert api.get(f"/v1/reports/{report_id}", token_of(demo, "wangxiaomin")).status == 404
    assert api.get(f"/v1/reports/{report_id}", token_of(demo, "shuiguohu-admin")).status == 200
    assert api.get(f"/v1/units/{G1}/reports", token_of(demo, "wangxiaomin")).status == 403


def test_the_lifecycle_through_the_api(api: Api, demo: dict[str, Any]) -> None:
    chen, worker = token_of(demo, "chenwen"), token_of(demo, "zhangxinxin")
    report_id = _file(api, chen).body["report_id"]
    path = f"/v1/reports/{report_id}/transitions"
    assert api.post(path, {"action": "resolve"}, worker).status == 409  # not accepted yet
    assert api.post(path, {"action": "accept"}, chen).status == 403  # not the reporter's to accept
    assert api.post(path, {"action": "accept"}, worker).body["status"] == "accepted"
    assert api.post(path, {"action": "resolve", "note": "已清运"}, worker).body["status"] == "resolved"
    rated = api.post(f"/v1/reports/{report_id}/rating", {"stars": 5, "comment": "处理很快"}, chen)
    assert rated.status == 200 and rated.body["status"] == "closed" and rated.body["rating"]["stars"] == 5
    timeline = api.get(f"/v1/reports/{report_id}", chen).body["timeline"]
    assert [e["action"] for e in timeline] == ["filed", "accept", "resolve", "rated"]
    assert timeline[1]["actor_id"] == PEOPLE[2].user_id


def test_a_bad_action_or_missing_reason_is_refused(api: Api, demo: dict[str, Any]) -> None:
    worker = token_of(demo, "zhangxinxin")
    report_id = _file(api, token_of(demo, "chenwen")).body["report_id"]
    path = f"/v1/reports/{report_id}/transitions"
    unknown = api.post(path, {"action": "teleport"}, worker)
    assert unknown.status == 422 and unknown.body["error"]["details"][0]["field"] == "action"
    no_reason = api.post(path, {"action": "reject"}, worker)
    assert no_reason.status == 422 and no_reason.body["error"]["details"][0]["field"] == "note"
    assert api.get(f"/v1/reports/{report_id}", worker).body["status"] == "submitted"


def test_two_staff_accepting_at_once_give_one_success_and_one_409(api: Api, demo: dict[str, Any]) -> None:
    report_id = _file(api, token_of(demo, "chenwen")).body["report_id"]
    tokens = [token_of(demo, "zhangxinxin"), token_of(demo, "dongting-admin")]
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def accept(token: str) -> None:
        barrier.wait()
        answers.append(api.post(f"/v1/reports/{report_id}/transitions", {"action": "accept"}, token).status)

    threads = [threading.Thread(target=accept, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [200, 409]
    timeline = api.get(f"/v1/reports/{report_id}", tokens[0]).body["timeline"]
    assert [e["action"] for e in timeline] == ["filed", "accept"]


def test_a_retried_report_with_the_same_key_creates_one(api: Api, demo: dict[str, Any]) -> None:
    chen = token_of(demo, "chenwen")
    first = _file(api, chen, key="report-1")
    again = _file(api, chen, key="report-1")
    assert first.status == again.status == 201 and first.body["report_id"] == again.body["report_id"]
    assert len(api.get("/v1/me/reports", chen).body["items"]) == 1


def test_a_duplicate_nearby_is_offered_and_can_be_followed(api: Api, demo: dict[str, Any]) -> None:
    chen = token_of(demo, "chenwen")
    first = _file(api, chen).body["report_id"]
    worker = token_of(demo, "zhangxinxin")
    neighbour = api.post("/v1/auth/dev-token", {"role": "resident", "scope": G1}).body["token"]
    again = _file(api, neighbour)
    assert again.status == 409 and again.error_code == "possible_duplicate"
    assert [c["report_id"] for c in again.body["error"]["details"]["candidates"]] == [first]
    followed = api.post(f"/v1/reports/{first}/followers", token=neighbour)
    assert followed.status == 200
    assert api.get(f"/v1/reports/{first}", neighbour).body["followers"] == 1
    anyway = _file(api, neighbour, {**WASTE, "ignore_duplicates": True})
    assert anyway.status == 201
    assert len(api.get(f"/v1/units/{G1}/reports", worker).body["items"]) == 2


def test_staff_file_for_a_caller_and_lists_filter(api: Api, demo: dict[str, Any]) -> None:
    worker = token_of(demo, "zhangxinxin")
    body = {
        "category": "water-leak",
        "description": "电话报告：3栋漏水",
        "urgency": "urgent",
        "location": {"building": "3"},
        "grid_id": G1,
        "on_behalf_of": PEOPLE[0].user_id,
        "channel": "phone",
    }
    filed = api.post("/v1/reports", body, worker)
    assert filed.status == 201 and filed.body["reporter_id"] == PEOPLE[0].user_id and filed.body["channel"] == "phone"
    _file(api, token_of(demo, "chenwen"))
    leaks = api.get(f"/v1/units/{DONGTING}/reports?category=water-leak", token_of(demo, "dongting-admin"))
    assert [r["category"] for r in leaks.body["items"]] == ["water-leak"]
    both = api.get("/v1/units/wuhan.wuchang/reports?limit=1", token_of(demo, "wuchang-admin"))
    rest = api.get(
        f"/v1/units/wuhan.wuchang/reports?limit=1&cursor={both.body['next_cursor']}", token_of(demo, "wuchang-admin")
    )
    assert len(both.body["items"]) == 1 and len(rest.body["items"]) == 1
    assert both.body["items"][0]["report_id"] > rest.body["items"][0]["report_id"]  # newest first


def test_supervision_by_the_community(api: Api, demo: dict[str, Any]) -> None:
    report_id = _file(api, token_of(demo, "chenwen")).body["report_id"]
    order = {"deadline": "2099-01-01T12:00:00+08:00", "note": "今天内清运"}
    assert api.post(f"/v1/reports/{report_id}/supervision", order, token_of(demo, "zhangxinxin")).status == 403
    done = api.post(f"/v1/reports/{report_id}/supervision", order, token_of(demo, "dongting-admin"))
    assert done.status == 201 and done.body["supervision"]["note"] == "今天内清运"
    assert done.body["deadline"].startswith("2099-01-01T04:00:00")


def test_a_photo_upload_is_presigned_for_one_image(api: Api, demo: dict[str, Any]) -> None:
    chen = token_of(demo, "chenwen")
    report_id = _file(api, chen).body["report_id"]
    upload = api.post(f"/v1/reports/{report_id}/photos", {"content_type": "image/jpeg"}, chen)
    assert upload.status == 201
    fields = upload.body["upload"]["fields"]
    assert fields["key"] == upload.body["photo_key"] and fields["Content-Type"] == "image/jpeg"
    assert "policy" in {k.lower() for k in fields}
    wrong = api.post(f"/v1/reports/{report_id}/photos", {"content_type": "text/html"}, chen)
    assert wrong.status == 422
    assert len(api.get(f"/v1/reports/{report_id}", chen).body["photos"]) == 1
