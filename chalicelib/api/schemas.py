"""Request and response models: they validate input and generate the OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from chalicelib.domain.auth import Role
from chalicelib.domain.chat import Conversation
from chalicelib.domain.notifications import Notification
from chalicelib.domain.reports import Action, Category, Location, Report, Status, TimelineEntry, Urgency
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


# --- reports ----------------------------------------------------------------------------------


class CategoryOut(BaseModel):
    code: str
    name: str
    department: str
    group: str
    description: str
    keywords: list[str]
    accept_minutes: dict[str, int] = Field(description="per urgency, at each level of the ladder")
    resolve_hours: dict[str, int] = Field(description="per urgency, at each level of the ladder")
    active: bool

    @classmethod
    def of(cls, c: Category) -> CategoryOut:
        return cls(
            code=c.code,
            name=c.name,
            department=c.department,
            group=c.group,
            description=c.description,
            keywords=list(c.keywords),
            accept_minutes={u.value: n for u, n in c.deadlines.accept_minutes.items()},
            resolve_hours={u.value: n for u, n in c.deadlines.resolve_hours.items()},
            active=c.active,
        )


class CategoryList(BaseModel):
    items: list[CategoryOut]


class PerUrgency(Body):
    low: int = Field(gt=0)
    normal: int = Field(gt=0)
    urgent: int = Field(gt=0)


class CategoryRequest(Body):
    code: str = Field(max_length=40)
    name: Text
    department: Text
    group: Text
    description: str = Field(default="", max_length=500)
    keywords: list[str] = Field(default_factory=list, max_length=20)
    accept_minutes: PerUrgency
    resolve_hours: PerUrgency
    active: bool = True


class LocationIn(Body):
    building: str | None = Field(default=None, max_length=20, description="楼栋 in the grid, e.g. 15")
    unit: str | None = Field(default=None, max_length=20)
    lat: float | None = Field(default=None, ge=-90, le=90)
    long: float | None = Field(default=None, ge=-180, le=180)
    address: str | None = Field(default=None, max_length=200)

    def to_domain(self) -> Location:
        return Location(building=self.building, unit=self.unit, lat=self.lat, long=self.long, address=self.address)


class NewReportRequest(Body):
    category: str = Field(max_length=40, description="a code from GET /v1/report-categories")
    description: str = Field(min_length=1, max_length=2000)
    urgency: Urgency = Urgency.NORMAL
    location: LocationIn
    grid_id: str | None = Field(default=None, max_length=200, description="staff filing for a resident: the grid")
    on_behalf_of: str | None = Field(default=None, max_length=64, description="staff: the resident's user id")
    channel: Literal["app", "phone", "walk_in"] = "app"
    ignore_duplicates: bool = Field(default=False, description="file even if the same thing is open close by")


class LocationOut(BaseModel):
    building: str | None
    unit: str | None
    lat: float | None
    long: float | None
    address: str | None


class SupervisionOut(BaseModel):
    by: str
    role: str
    deadline: datetime
    note: str
    at: datetime


class RatingOut(BaseModel):
    stars: int
    comment: str | None
    at: datetime


class ReportOut(BaseModel):
    report_id: str
    category: str
    department: str
    description: str
    urgency: Urgency
    status: Status
    grid_id: str
    level: str = Field(description="the level now responsible: grid, community, street or district")
    responsible_unit: str
    location: LocationOut
    reporter_id: str
    channel: str
    created_at: datetime
    updated_at: datetime
    deadline: datetime | None
    overdue: bool
    red_card: bool
    supervision: SupervisionOut | None
    rating: RatingOut | None
    duplicate_of: str | None
    resolved_at: datetime | None
    closed_at: datetime | None
    photos: list[str] = Field(description="links to the photos (valid for an hour)")

    @classmethod
    def of(cls, r: Report, now: datetime, photo_urls: list[str] | None = None) -> ReportOut:
        loc = r.location
        return cls(
            report_id=r.report_id,
            category=r.category,
            department=r.department,
            description=r.description,
            urgency=r.urgency,
            status=r.status,
            grid_id=r.grid_id,
            level=r.level.value,
            responsible_unit=r.responsible_unit,
            location=LocationOut(building=loc.building, unit=loc.unit, lat=loc.lat, long=loc.long, address=loc.address),
            reporter_id=r.reporter_id,
            channel=r.channel.value,
            created_at=r.created_at,
            updated_at=r.updated_at,
            deadline=r.deadline,
            overdue=r.overdue(now),
            red_card=r.red_card,
            supervision=SupervisionOut(
                by=r.supervision.by,
                role=r.supervision.role.value,
                deadline=r.supervision.deadline,
                note=r.supervision.note,
                at=r.supervision.at,
            )
            if r.supervision
            else None,
            rating=RatingOut(stars=r.rating.stars, comment=r.rating.comment, at=r.rating.at) if r.rating else None,
            duplicate_of=r.duplicate_of,
            resolved_at=r.resolved_at,
            closed_at=r.closed_at,
            photos=photo_urls or [],
        )


class TimelineOut(BaseModel):
    entry_id: str
    at: datetime
    actor_id: str
    actor_role: str
    action: str
    from_status: str | None
    to_status: str
    note: str | None
    data: dict[str, Any]

    @classmethod
    def of(cls, e: TimelineEntry) -> TimelineOut:
        return cls(
            entry_id=e.entry_id,
            at=e.at,
            actor_id=e.actor_id,
            actor_role=e.actor_role,
            action=e.action,
            from_status=e.from_status,
            to_status=e.to_status,
            note=e.note,
            data=e.data,
        )


class ReportDetail(ReportOut):
    timeline: list[TimelineOut]
    followers: int


class ReportPage(BaseModel):
    items: list[ReportOut]
    next_cursor: str | None


class UnitReportsQuery(PageQuery):
    status: Status | None = None
    category: str | None = Field(default=None, max_length=40)
    level: Literal["grid", "community", "street", "district"] | None = None
    overdue: bool = False
    open: bool = Field(default=False, description="only reports still being handled")


class TransitionRequest(Body):
    action: Action
    note: str | None = Field(default=None, max_length=1000, description="required to reject: the reason")
    grid_id: str | None = Field(default=None, max_length=200, description="transfer: the grid to hand it to")
    department: str | None = Field(default=None, max_length=40, description="transfer: the department")
    duplicate_of: str | None = Field(default=None, max_length=64, description="mark_duplicate: the original")


class SupervisionRequest(Body):
    deadline: datetime = Field(description="ISO 8601 with a zone")
    note: str = Field(min_length=1, max_length=1000)


class RatingRequest(Body):
    stars: int = Field(ge=1, le=5, description="3-5 closes the report, 1-2 reopens it")
    comment: str | None = Field(default=None, max_length=500)


class PhotoRequest(Body):
    content_type: Literal["image/jpeg", "image/png", "image/webp", "image/heic"]


class PhotoUpload(BaseModel):
    photo_key: str
    upload: dict[str, Any] = Field(description="POST the file as multipart form data: url, and fields to send first")
    max_bytes: int
    expires_in: int


# --- chat ---------------------------------------------------------------------------------------


class ConversationOut(BaseModel):
    conversation_id: str
    kind: str = Field(description="grid (the grid's group), dm (one to one) or report (a report's thread)")
    title: str
    grid_id: str | None
    peer_id: str | None = Field(description="in a one-to-one: the other person")
    unread: int
    last_message_id: str | None
    last_preview: str | None
    last_at: datetime | None

    @classmethod
    def of(cls, c: Conversation, unread: int, peer_id: str | None) -> ConversationOut:
        return cls(
            conversation_id=c.conversation_id,
            kind=c.kind.value,
            title=c.title,
            grid_id=c.grid_id,
            peer_id=peer_id,
            unread=unread,
            last_message_id=c.last_message_id,
            last_preview=c.last_preview,
            last_at=c.last_at,
        )


class ConversationList(BaseModel):
    items: list[ConversationOut]


class DirectRequest(Body):
    with_user: str | None = Field(
        default=None, max_length=64, description="staff: the resident; residents may leave it out (their grid worker)"
    )


class MessagesQuery(PageQuery):
    after: str | None = Field(default=None, max_length=26, description="poll: messages newer than this key")


class SendMessageRequest(Body):
    kind: Literal["text", "image", "location"] = "text"
    text: str | None = Field(default=None, max_length=2000)
    image_key: str | None = Field(default=None, max_length=300, description="from POST .../uploads")
    lat: float | None = None
    long: float | None = None


class MessageOut(BaseModel):
    message_id: str
    key: str = Field(description="the message's sortable key; pass it as ?after= to poll for newer ones")
    conversation_id: str
    sender_id: str
    sender_name: str | None = Field(description="absent in the answer to one's own send")
    sender_role: str
    kind: str
    text: str | None
    image_url: str | None
    lat: float | None
    long: float | None
    channel: str
    created_at: datetime
    hidden: bool
    hidden_reason: str | None = None


class MessagePageOut(BaseModel):
    items: list[MessageOut]
    next_cursor: str | None


class HideRequest(Body):
    reason: str | None = Field(default=None, max_length=200)


class UploadRequest(Body):
    content_type: Literal["image/jpeg", "image/png", "image/webp", "image/heic"]


class ChatUpload(BaseModel):
    image_key: str
    upload: dict[str, Any]
    max_bytes: int
    expires_in: int
