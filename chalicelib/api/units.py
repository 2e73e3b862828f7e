"""The administrative tree: units, their children, and the staff appointed to them."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.http import Call, endpoint
from chalicelib.api.schemas import (
    AppointStaffRequest,
    CreateUnitRequest,
    PageQuery,
    StaffCard,
    StaffPage,
    UnitOut,
    UnitPage,
)

bp = Blueprint(__name__)
TAG = "tree"


@endpoint(
    bp,
    "/v1/units/{unit_id}",
    summary="A unit of the tree (a grid lists its grid workers)",
    tag=TAG,
    response=UnitOut,
    errors=[404, 422],
)
def get_unit(call: Call, unit_id: str) -> UnitOut:
    view = bootstrap.unit_service().get(unit_id)
    workers = view.grid_workers if view.unit.level.value == "grid" else None
    return UnitOut.of(view.unit, workers)


@endpoint(
    bp,
    "/v1/units/{unit_id}/children",
    summary="The units one level below",
    tag=TAG,
    query=PageQuery,
    response=UnitPage,
    errors=[404, 422],
)
def unit_children(call: Call, unit_id: str) -> UnitPage:
    page = bootstrap.unit_service().children(unit_id, call.query.limit, call.query.cursor)
    return UnitPage(items=[UnitOut.of(u) for u in page.items], next_cursor=page.next_cursor)


@endpoint(
    bp,
    "/v1/units",
    "POST",
    summary="Add a unit below one in your scope (admins)",
    tag=TAG,
    body=CreateUnitRequest,
    response=UnitOut,
    status=201,
    idempotent=True,
    errors=[403, 404, 409, 422],
)
def create_unit(call: Call) -> UnitOut:
    body: CreateUnitRequest = call.body
    unit = bootstrap.unit_service().create(call.user, body.parent_id, body.slug, body.name, body.address)
    return UnitOut.of(unit)


@endpoint(
    bp,
    "/v1/units/{unit_id}/staff",
    "POST",
    summary="Appoint a staff member to a unit (admins)",
    tag=TAG,
    body=AppointStaffRequest,
    response=StaffCard,
    status=201,
    idempotent=True,
    errors=[403, 404, 409, 422],
    description="The person then signs in by SMS with that phone and acts with that role and scope.",
)
def appoint_staff(call: Call, unit_id: str) -> StaffCard:
    body: AppointStaffRequest = call.body
    staff = bootstrap.unit_service().appoint_staff(
        call.user, unit_id, body.role, body.phone, body.name, body.department, body.title
    )
    return StaffCard.of(staff)


@endpoint(
    bp,
    "/v1/units/{unit_id}/staff",
    summary="Staff appointed to a unit",
    tag=TAG,
    query=PageQuery,
    response=StaffPage,
    errors=[403, 404],
)
def list_staff(call: Call, unit_id: str) -> StaffPage:
    page = bootstrap.unit_service().staff(call.user, unit_id, call.query.limit, call.query.cursor)
    return StaffPage(items=[StaffCard.of(u) for u in page.items], next_cursor=page.next_cursor)
