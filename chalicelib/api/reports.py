"""Reports (报事): categories, filing, reading, the lifecycle, supervision, rating and photos."""

from __future__ import annotations

from datetime import UTC, datetime

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.http import Call, endpoint
from chalicelib.api.schemas import (
    CategoryList,
    CategoryOut,
    CategoryRequest,
    NewReportRequest,
    PageQuery,
    PhotoRequest,
    PhotoUpload,
    RatingRequest,
    ReportDetail,
    ReportOut,
    ReportPage,
    SupervisionRequest,
    TimelineOut,
    TransitionRequest,
    UnitReportsQuery,
)
from chalicelib.domain.reports import Category, Channel, Deadlines, Report, Urgency
from chalicelib.domain.tree import Level
from chalicelib.services.ports import ReportFilter
from chalicelib.services.reports import ActionRequest, NewReport

bp = Blueprint(__name__)
TAG = "reports"


def _now() -> datetime:
    return datetime.now(UTC)


def _out(report: Report) -> ReportOut:
    return ReportOut.of(report, _now(), bootstrap.report_service().photo_urls(report))


@endpoint(
    bp,
    "/v1/report-categories",
    summary="What can be reported, and who handles it",
    tag=TAG,
    public=True,
    response=CategoryList,
)
def list_categories(call: Call) -> CategoryList:
    return CategoryList(items=[CategoryOut.of(c) for c in bootstrap.report_service().categories(call.principal)])


@endpoint(
    bp,
    "/v1/report-categories",
    "POST",
    summary="Add or change a category (city admins)",
    tag=TAG,
    body=CategoryRequest,
    response=CategoryOut,
    status=201,
    idempotent=True,
    errors=[403, 422],
)
def save_category(call: Call) -> CategoryOut:
    body: CategoryRequest = call.body
    category = Category(
        code=body.code,
        name=body.name,
        department=body.department,
        group=body.group,
        description=body.description,
        keywords=tuple(body.keywords),
        deadlines=Deadlines(
            {Urgency(k): v for k, v in body.accept_minutes.model_dump().items()},
            {Urgency(k): v for k, v in body.resolve_hours.model_dump().items()},
        ),
        active=body.active,
    )
    saved = bootstrap.category_service().save(call.user, call.user.scope, category)
    return CategoryOut.of(saved)


@endpoint(
    bp,
    "/v1/reports",
    "POST",
    summary="Report a matter (我要上报)",
    tag=TAG,
    body=NewReportRequest,
    response=ReportOut,
    status=201,
    idempotent=True,
    errors=[403, 409, 422],
    description="A resident reports in their grid; staff may file for a resident (phone call, walk-in). "
    "An open report of the same kind close by is offered back as 409 possible_duplicate with its "
    "candidates: follow one, or send again with ignore_duplicates.",
)
def file_report(call: Call) -> ReportOut:
    body: NewReportRequest = call.body
    new = NewReport(
        category=body.category,
        description=body.description,
        urgency=body.urgency,
        location=body.location.to_domain(),
        channel=Channel(body.channel),
        grid_id=body.grid_id,
        on_behalf_of=body.on_behalf_of,
        ignore_duplicates=body.ignore_duplicates,
    )
    return _out(bootstrap.report_service().file(call.user, new))


@endpoint(
    bp, "/v1/reports/{report_id}", summary="A report with its timeline", tag=TAG, response=ReportDetail, errors=[404]
)
def get_report(call: Call, report_id: str) -> ReportDetail:
    service = bootstrap.report_service()
    view = service.view(call.user, report_id)
    out = ReportOut.of(view.report, _now(), service.photo_urls(view.report))
    return ReportDetail(
        **out.model_dump(),
        timeline=[TimelineOut.of(e) for e in view.timeline],
        followers=len(view.followers),
    )


@endpoint(
    bp, "/v1/me/reports", summary="The reports I filed, newest first", tag=TAG, query=PageQuery, response=ReportPage
)
def my_reports(call: Call) -> ReportPage:
    page = bootstrap.report_service().mine(call.user, call.query.limit, call.query.cursor)
    return ReportPage(items=[_out(r) for r in page.items], next_cursor=page.next_cursor)


@endpoint(
    bp,
    "/v1/units/{unit_id}/reports",
    summary="Reports in a unit (staff), newest first",
    tag=TAG,
    query=UnitReportsQuery,
    response=ReportPage,
    errors=[403],
    description="Filter by status, category, the level now responsible, overdue, or open only.",
)
def unit_reports(call: Call, unit_id: str) -> ReportPage:
    q: UnitReportsQuery = call.query
    report_filter = ReportFilter(
        status=q.status,
        category=q.category,
        level=Level(q.level) if q.level else None,
        overdue=q.overdue,
        open_only=q.open,
    )
    page = bootstrap.report_service().for_unit(call.user, unit_id, report_filter, q.limit, q.cursor)
    return ReportPage(items=[_out(r) for r in page.items], next_cursor=page.next_cursor)


@endpoint(
    bp,
    "/v1/reports/{report_id}/transitions",
    "POST",
    summary="Move a report along its lifecycle",
    tag=TAG,
    body=TransitionRequest,
    response=ReportOut,
    errors=[403, 404, 409, 422],
    description="accept, start, resolve, reject (with a reason), transfer, mark_duplicate (staff in scope); "
    "close, reopen, withdraw (the reporter). 409 when the action does not fit the current status "
    "or someone else changed the report at the same moment.",
)
def transition_report(call: Call, report_id: str) -> ReportOut:
    body: TransitionRequest = call.body
    request = ActionRequest(
        action=body.action,
        note=body.note,
        grid_id=body.grid_id,
        department=body.department,
        duplicate_of=body.duplicate_of,
    )
    return _out(bootstrap.report_service().act(call.user, report_id, request))


@endpoint(
    bp,
    "/v1/reports/{report_id}/supervision",
    "POST",
    summary="Issue a supervision order (督办)",
    tag=TAG,
    body=SupervisionRequest,
    response=ReportOut,
    status=201,
    idempotent=True,
    errors=[403, 404, 409, 422],
    description="By a community, street or district office over the report. Missing its deadline "
    "escalates the report like any missed deadline.",
)
def supervise_report(call: Call, report_id: str) -> ReportOut:
    body: SupervisionRequest = call.body
    return _out(bootstrap.report_service().supervise(call.user, report_id, body.deadline, body.note))


@endpoint(
    bp,
    "/v1/reports/{report_id}/rating",
    "POST",
    summary="Confirm and rate a resolved report",
    tag=TAG,
    body=RatingRequest,
    response=ReportOut,
    errors=[403, 404, 409, 422],
)
def rate_report(call: Call, report_id: str) -> ReportOut:
    body: RatingRequest = call.body
    return _out(bootstrap.report_service().rate(call.user, report_id, body.stars, body.comment))


@endpoint(
    bp,
    "/v1/reports/{report_id}/photos",
    "POST",
    summary="Get a presigned upload for a photo",
    tag=TAG,
    body=PhotoRequest,
    response=PhotoUpload,
    status=201,
    errors=[403, 404, 409, 422],
    description="Upload the file straight to S3 with the returned form; JPEG, PNG, WebP or HEIC, "
    "at most 10 MB, nine photos a report.",
)
def add_photo(call: Call, report_id: str) -> PhotoUpload:
    upload = bootstrap.report_service().photo_upload(call.user, report_id, call.body.content_type)
    return PhotoUpload(**upload)


@endpoint(
    bp,
    "/v1/reports/{report_id}/followers",
    "POST",
    summary="Follow an open report (instead of a duplicate)",
    tag=TAG,
    response=ReportOut,
    errors=[403, 404],
)
def follow_report(call: Call, report_id: str) -> ReportOut:
    return _out(bootstrap.report_service().follow(call.user, report_id))
