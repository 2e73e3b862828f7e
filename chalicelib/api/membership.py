"""Joining a grid and a person's own record: join codes, binding, verification, me."""

from __future__ import annotations

import segno
from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.http import Call, endpoint
from chalicelib.api.schemas import (
    BindingOut,
    BindingRequest,
    BoundOut,
    CommunityOut,
    JoinCodeOut,
    JoinCodePage,
    JoinCodeRequest,
    MarkReadRequest,
    MeOut,
    NotificationOut,
    NotificationPage,
    PageQuery,
    ResidentOut,
    ResidentPage,
    ResidentsQuery,
    StaffCard,
    UnitOut,
    UpdateMeRequest,
    VerificationRequest,
)
from chalicelib.domain.joining import JoinCode

bp = Blueprint(__name__)
TAG = "joining"
ME = "me"


def _code_out(code: JoinCode, text: str | None = None) -> JoinCodeOut:
    qr = segno.make(text, error="m").png_data_uri(scale=8, border=2) if text else None
    return JoinCodeOut(
        code_id=code.code_id,
        grid_id=code.grid_id,
        expires_at=code.expires_at,
        max_uses=code.max_uses,
        uses=code.uses,
        revoked=code.revoked,
        code=text,
        qr_png=qr,
    )


@endpoint(
    bp,
    "/v1/grids/{grid_id}/join-codes",
    "POST",
    summary="Issue a join code and its QR image",
    tag=TAG,
    body=JoinCodeRequest,
    response=JoinCodeOut,
    status=201,
    idempotent=True,
    errors=[403, 404, 422],
    description="For the grid's worker (or its community office). The code is signed, expires, "
    "and can be revoked or used up.",
)
def issue_join_code(call: Call, grid_id: str) -> JoinCodeOut:
    body: JoinCodeRequest = call.body
    issued = bootstrap.membership_service().issue_join_code(call.user, grid_id, body.ttl_seconds, body.max_uses)
    return _code_out(issued.code, issued.text)


@endpoint(
    bp,
    "/v1/grids/{grid_id}/join-codes",
    summary="The grid's join codes, newest first",
    tag=TAG,
    query=PageQuery,
    response=JoinCodePage,
    errors=[403],
)
def list_join_codes(call: Call, grid_id: str) -> JoinCodePage:
    page = bootstrap.membership_service().join_codes(call.user, grid_id, call.query.limit, call.query.cursor)
    return JoinCodePage(items=[_code_out(c) for c in page.items], next_cursor=page.next_cursor)


@endpoint(
    bp,
    "/v1/grids/{grid_id}/join-codes/{code_id}",
    "DELETE",
    summary="Revoke a join code",
    tag=TAG,
    status=204,
    errors=[403, 404],
)
def revoke_join_code(call: Call, grid_id: str, code_id: str) -> None:
    bootstrap.membership_service().revoke_join_code(call.user, grid_id, code_id)


@endpoint(
    bp,
    "/v1/me/binding",
    "POST",
    summary="Bind to a grid with its join code and my address",
    tag=TAG,
    body=BindingRequest,
    response=BoundOut,
    errors=[403, 409, 410, 422],
    description="The binding waits for the grid worker's verification. Answers a new token whose scope is the grid.",
)
def bind(call: Call) -> BoundOut:
    body: BindingRequest = call.body
    user = bootstrap.membership_service().bind(call.user, body.code, body.building, body.unit, body.room)
    token, expires = bootstrap.token_for(user)
    return BoundOut(user=MeOut.of(user), token=token, expires_at=expires)


@endpoint(
    bp,
    "/v1/grids/{grid_id}/residents/{user_id}/verification",
    "POST",
    summary="Verify or refuse a resident's binding (grid worker)",
    tag=TAG,
    body=VerificationRequest,
    response=ResidentOut,
    errors=[403, 404, 409, 422],
)
def verify_resident(call: Call, grid_id: str, user_id: str) -> ResidentOut:
    body: VerificationRequest = call.body
    user = bootstrap.membership_service().verify_resident(
        call.user, grid_id, user_id, body.decision == "verify", body.note
    )
    return ResidentOut.of(user)


@endpoint(
    bp,
    "/v1/grids/{grid_id}/residents",
    summary="The grid's residents (staff; access is logged)",
    tag=TAG,
    query=ResidentsQuery,
    response=ResidentPage,
    errors=[403],
)
def list_residents(call: Call, grid_id: str) -> ResidentPage:
    q: ResidentsQuery = call.query
    page = bootstrap.membership_service().residents(call.user, grid_id, q.status, q.limit, q.cursor)
    return ResidentPage(items=[ResidentOut.of(u) for u in page.items], next_cursor=page.next_cursor)


@endpoint(bp, "/v1/me", summary="My own record", tag=ME, response=MeOut, errors=[404])
def get_me(call: Call) -> MeOut:
    return MeOut.of(bootstrap.membership_service().me(call.user))


@endpoint(
    bp,
    "/v1/me",
    "PATCH",
    summary="Change my name",
    tag=ME,
    body=UpdateMeRequest,
    response=MeOut,
    errors=[404, 409, 422],
)
def update_me(call: Call) -> MeOut:
    return MeOut.of(bootstrap.membership_service().update_me(call.user, call.body.name))


@endpoint(
    bp,
    "/v1/me",
    "DELETE",
    summary="Erase my identifying data",
    tag=ME,
    status=204,
    errors=[404],
    description="Phone, name, WeChat link and address are erased; anonymous records stay.",
)
def erase_me(call: Call) -> None:
    bootstrap.membership_service().erase_me(call.user)


@endpoint(
    bp, "/v1/me/community", summary="My community, grid and grid workers", tag=ME, response=CommunityOut, errors=[404]
)
def my_community(call: Call) -> CommunityOut:
    view = bootstrap.membership_service().my_community(call.user)
    return CommunityOut(
        community=UnitOut.of(view.community) if view.community else None,
        grid=UnitOut.of(view.grid, view.grid_workers) if view.grid else None,
        grid_workers=[StaffCard.of(u) for u in view.grid_workers],
        binding=BindingOut.of(view.user.binding),
    )


@endpoint(
    bp,
    "/v1/me/notifications",
    summary="My in-app notifications, newest first",
    tag=ME,
    query=PageQuery,
    response=NotificationPage,
)
def my_notifications(call: Call) -> NotificationPage:
    inbox = bootstrap.notification_service().inbox(call.user, call.query.limit, call.query.cursor)
    return NotificationPage(
        items=[NotificationOut.of(n, inbox.read_up_to) for n in inbox.page.items],
        next_cursor=inbox.page.next_cursor,
        unread=inbox.unread,
    )


@endpoint(
    bp,
    "/v1/me/notifications/read",
    "POST",
    summary="Mark my notifications read up to one",
    tag=ME,
    body=MarkReadRequest,
    status=204,
)
def mark_notifications_read(call: Call) -> None:
    bootstrap.notification_service().mark_read(call.user, call.body.up_to)
