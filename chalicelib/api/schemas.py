"""Request and response models: they validate input and generate the OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from chalicelib.domain.auth import Role
from chalicelib.domain.notifications import Notification
from chalicelib.domain.units import Unit
from chalicelib.domain.users import Binding, BindingStatus, User


class Body(BaseModel):
    """A request body: unknown fields are refused, so a typo is named instead of ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class PageQuery(Query):
    limit: int | None = Field(default=None, ge=1, le=100, description="items per page (1-100)")
    cursor: str | None = Field(default=None, description="next_cursor of the previous page")


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]

# --- sign-in ---------------------------------------------------------------------------------


class SmsCodeRequest(Body):
    phone: str = Field(description="mobile number, e.g. 13812345678 or +8613812345678", max_length=20)


class SmsCodeSent(BaseModel):
    sent: bool = True
    retry_after: int = Field(description="seconds before another code may be requested")


class SmsVerifyRequest(Body):
    phone: str = Field(max_length=20)
    code: str = Field(description="the 6 digits received by SMS", max_length=6)


class WeChatSignInRequest(Body):
    code: str = Field(description="the code from wx.login() in the mini-program", min_length=1, max_length=128)


class DevTokenRequest(Body):
    role: Role
    scope: str = Field(default="", max_length=200, description="a unit path, e.g. wuhan.wuchang")
    user_id: str | None = Field(default=None, max_length=64)
    department: str | None = Field(default=None, max_length=40, description="for dept_staff, e.g. 城管")


# --- people ----------------------------------------------------------------------------------


class BindingOut(BaseModel):
    grid_id: str
    building: str
    unit: str
    room: str
    status: BindingStatus
    bound_at: datetime
    verified_at: datetime | None = None
    note: str | None = None

    @classmethod
    def of(cls, binding: Binding | None) -> BindingOut | None:
        if binding is None:
            return None
        return cls(
            grid_id=binding.grid_id,
            building=binding.building,
            unit=binding.unit,
            room=binding.room,
            status=binding.status,
            bound_at=binding.bound_at,
            verified_at=binding.verified_at,
            note=binding.note,
        )


class MeOut(BaseModel):
    """The caller's own record: the only place a full phone number is ever shown."""

    user_id: str
    role: Role
    scope: str
    name: str | None
    display_name: str
    phone: str | None
    phone_masked: str | None
    wechat_linked: bool
    department: str | None = None
    title: str | None = None
    binding: BindingOut | None
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> MeOut:
        return cls(
            user_id=user.user_id,
            role=user.role,
            scope=user.scope,
            name=user.name,
            display_name=user.display_name,
            phone=user.phone,
            phone_masked=user.masked_phone,
            wechat_linked=bool(user.wechat_openid),
            department=user.department,
            title=user.title,
            binding=BindingOut.of(user.binding),
            created_at=user.created_at,
        )


class StaffCard(BaseModel):
    """How staff are shown to others: name, role, and a masked phone."""

    user_id: str
    name: str
    role: Role
    scope: str
    department: str | None = None
    title: str | None = None
    phone_masked: str | None

    @classmethod
    def of(cls, user: User) -> StaffCard:
        return cls(
            user_id=user.user_id,
            name=user.display_name,
            role=user.role,
            scope=user.scope,
            department=user.department,
            title=user.title,
            phone_masked=user.masked_phone,
        )


class ResidentOut(BaseModel):
    user_id: str
    name: str
    phone_masked: str | None
    binding: BindingOut | None

    @classmethod
    def of(cls, user: User) -> ResidentOut:
        return cls(
            user_id=user.user_id,
            name=user.display_name,
            phone_masked=user.masked_phone,
            binding=BindingOut.of(user.binding),
        )


class ResidentPage(BaseModel):
    items: list[ResidentOut]
    next_cursor: str | None


class StaffPage(BaseModel):
    items: list[StaffCard]
    next_cursor: str | None


class SignedIn(BaseModel):
    token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105  (the scheme name, not a secret)
    expires_at: datetime
    created: bool = Field(description="true when this sign-in created the account")
    user: MeOut


class UpdateMeRequest(Body):
    name: str | None = Field(default=None, min_length=1, max_length=40)


# --- the tree --------------------------------------------------------------------------------


class UnitOut(BaseModel):
    unit_id: str
    name: str
    level: str
    parent_id: str | None
    address: str | None = None
    created_at: datetime
    grid_workers: list[StaffCard] | None = Field(default=None, description="on a grid: its grid workers")

    @classmethod
    def of(cls, unit: Unit, grid_workers: list[User] | None = None) -> UnitOut:
        return cls(
            unit_id=unit.unit_id,
            name=unit.name,
            level=unit.level.value,
            parent_id=unit.parent_id,
            address=unit.address,
            created_at=unit.created_at,
            grid_workers=[StaffCard.of(u) for u in grid_workers] if grid_workers is not None else None,
        )


class UnitPage(BaseModel):
    items: list[UnitOut]
    next_cursor: str | None


class CreateUnitRequest(Body):
    parent_id: str = Field(max_length=200, description="the unit to add under, e.g. wuhan.wuchang.shuiguohu")
    slug: str = Field(max_length=40, description="the new unit's path segment, e.g. dongting")
    name: Text
    address: str | None = Field(default=None, max_length=200)


class AppointStaffRequest(Body):
    role: Role
    phone: str = Field(max_length=20)
    name: Text
    department: str | None = Field(default=None, max_length=40)
    title: str | None = Field(default=None, max_length=40)


# --- joining ---------------------------------------------------------------------------------


class JoinCodeRequest(Body):
    ttl_seconds: int | None = Field(default=None, ge=60, le=366 * 24 * 3600)
    max_uses: int | None = Field(default=None, ge=1, le=100_000)


class JoinCodeOut(BaseModel):
    code_id: str
    grid_id: str
    expires_at: datetime
    max_uses: int
    uses: int
    revoked: bool
    code: str | None = Field(default=None, description="what the QR code carries (only when issued)")
    qr_png: str | None = Field(default=None, description="the QR code as a PNG data URI (only when issued)")


class JoinCodePage(BaseModel):
    items: list[JoinCodeOut]
    next_cursor: str | None


class BindingRequest(Body):
    code: str = Field(max_length=300, description="the text of the grid's QR code")
    building: str = Field(max_length=20, description="楼栋, e.g. 15")
    unit: str = Field(max_length=20, description="单元, e.g. 2")
    room: str = Field(max_length=20, description="房号, e.g. 301")


class BoundOut(BaseModel):
    user: MeOut
    token: str = Field(description="a new token whose scope is the grid")
    expires_at: datetime


class VerificationRequest(Body):
    decision: Literal["verify", "refuse"]
    note: str | None = Field(default=None, max_length=200)


class ResidentsQuery(PageQuery):
    status: BindingStatus | None = None


class CommunityOut(BaseModel):
    community: UnitOut | None
    grid: UnitOut | None
    grid_workers: list[StaffCard]
    binding: BindingOut | None


# --- notifications -----------------------------------------------------------------------------


class NotificationOut(BaseModel):
    notification_id: str
    kind: str
    title: str
    body: str
    created_at: datetime
    read: bool
    data: dict[str, Any]

    @classmethod
    def of(cls, n: Notification, read_up_to: str | None) -> NotificationOut:
        return cls(
            notification_id=n.notification_id,
            kind=n.kind,
            title=n.title,
            body=n.body,
            created_at=n.created_at,
            read=read_up_to is not None and n.notification_id <= read_up_to,
            data=n.data,
        )


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None
    unread: int


class MarkReadRequest(Body):
    up_to: str = Field(min_length=26, max_length=26, description="the newest notification id seen")


# --- service ---------------------------------------------------------------------------------


class HealthOut(BaseModel):
    status: Literal["ok"] = "ok"
    stage: str
    version: str
