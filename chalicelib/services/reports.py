"""Reports (报事): filing, reading, the lifecycle, supervision (督办), rating and photos."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.auth import ADMIN_LEVEL, Principal, Role, require_staff_over
from chalicelib.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from chalicelib.domain.reports import (
    TERMINAL,
    Action,
    Actor,
    Category,
    Channel,
    Deadlines,
    Location,
    Rating,
    Report,
    Status,
    Supervision,
    TimelineEntry,
    Urgency,
    actor_kinds,
    can_read,
    check_transition,
    deadline_ladder,
    distance_m,
    duplicate_key,
    supervise,
    transition,
)
from chalicelib.domain.tree import Level, is_within, level_of, parent_of
from chalicelib.domain.units import Page
from chalicelib.services.categories import CategoryService, city_of
from chalicelib.services.ids import id_at, new_id
from chalicelib.services.ports import (
    Clock,
    PhotoStore,
    ReportFilter,
    ReportRepository,
    ReportView,
    UnitRepository,
    UserRepository,
)
from chalicelib.services.units import check_limit

DUPLICATE_RADIUS_M = 200
MAX_PHOTOS = 9
PHOTO_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/heic": "heic"}
TIMELINE_SHOWN = 100
SYSTEM = "system"


@dataclass(frozen=True)
class ReportPolicy:
    deadline_scale: float = 1.0
    autoclose_days: int = 7
    photo_max_bytes: int = 10 * 1024 * 1024
    default_city: str = "wuhan"


@dataclass(frozen=True)
class NewReport:
    category: str
    description: str
    urgency: Urgency
    location: Location
    channel: Channel = Channel.APP
    grid_id: str | None = None  # staff filing on someone's behalf say where
    on_behalf_of: str | None = None  # the resident's user id, when staff file for them
    ignore_duplicates: bool = False
    report_id: str | None = None  # derived from its cause (a WeChat MsgId...) so a redelivery files once


@dataclass(frozen=True)
class ActionRequest:
    action: Action
    note: str | None = None
    grid_id: str | None = None  # transfer to another grid
    department: str | None = None  # transfer to another department
    duplicate_of: str | None = None


def entry(
    at: datetime,
    actor: Principal | None,
    action: str,
    before: Report | None,
    after: Report,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    entry_id: str | None = None,
) -> TimelineEntry:
    return TimelineEntry(
        entry_id=entry_id or id_at(at),  # sorts by when it happened, like the workflow's entries
        at=at,
        actor_id=actor.user_id if actor else SYSTEM,
        actor_role=actor.role.value if actor else SYSTEM,
        action=action,
        from_status=before.status.value if before else None,
        to_status=after.status.value,
        note=note,
        data=data or {},
    )


class ReportService:
    def __init__(
        self,
        reports: ReportRepository,
        categories: CategoryService,
        units: UnitRepository,
        users: UserRepository,
        photos: PhotoStore,
        clock: Clock,
        policy: ReportPolicy,
    ) -> None:
        self._reports = reports
        self._categories = categories
        self._units = units
        self._users = users
        self._photos = photos
        self._clock = clock
        self._policy = policy

    # --- categories ---------------------------------------------------------------------------

    def city_for(self, principal: Principal | None) -> str:
        return city_of(principal.scope) if principal and principal.scope else self._policy.default_city

    def categories(self, principal: Principal | None) -> list[Category]:
        return self._categories.active(self.city_for(principal))

    # --- filing --------------------------------------------------------------------------------

    def file(self, principal: Principal, new: NewReport) -> Report:
        """File a report in the caller's grid (a resident) or, for staff, on a resident's behalf.

        An open report of the same category close by is offered back (409 possible_duplicate)
        unless the caller says to file anyway.
        """
        grid_id, reporter_id = self._where_and_who(principal, new)
        category = self._categories.get(city_of(grid_id), new.category)
        new.location.check()
        description = new.description.strip()
        if not 1 <= len(description) <= 2000:
            raise InvalidInput("description", "must be 1 to 2000 characters")
        dup_key = duplicate_key(category.code, grid_id, new.location)
        if not new.ignore_duplicates:
            self._offer_duplicates(dup_key, new.location)
        now = self._clock.now()
        window = self._window(category, accept=True, urgency=new.urgency)
        if new.report_id is not None and (existing := self._reports.get(new.report_id)) is not None:
            return existing
        report = Report(
            report_id=new.report_id or new_id(),
            category=category.code,
            department=category.department,
            description=description,
            urgency=new.urgency,
            grid_id=grid_id,
            location=new.location,
            reporter_id=reporter_id,
            filed_by=principal.user_id,
            channel=new.channel,
            status=Status.SUBMITTED,
            created_at=now,
            updated_at=now,
            deadlines=deadline_ladder(now, 0, window),
        )
        data = {"channel": new.channel.value}
        if reporter_id != principal.user_id:
            data["on_behalf_of"] = reporter_id
        self._reports.create(report, entry(now, principal, "filed", None, report, data=data))
        return report

    def _where_and_who(self, principal: Principal, new: NewReport) -> tuple[str, str]:
        if principal.role is Role.RESIDENT:
            if not principal.scope or level_of(principal.scope) is not Level.GRID:
                raise Forbidden("bind to your grid first (scan your grid's QR code)", code="not_bound")
            if new.grid_id and new.grid_id != principal.scope:
                raise Forbidden("residents report in their own grid")
            if new.on_behalf_of:
                raise Forbidden("only staff file reports on someone's behalf")
            return principal.scope, principal.user_id
        if not new.grid_id:
            raise InvalidInput("grid_id", "staff say which grid the report is in")
        require_staff_over(principal, new.grid_id)
        grid = self._units.get(new.grid_id)
        if grid is None or grid.level is not Level.GRID:
            raise InvalidInput("grid_id", f"{new.grid_id} is not a grid")
        reporter = principal.user_id
        if new.on_behalf_of:
            resident = self._users.get(new.on_behalf_of)
            if resident is None or resident.erased or resident.role is not Role.RESIDENT:
                raise InvalidInput("on_behalf_of", "is not a resident")
            reporter = resident.user_id
        return new.grid_id, reporter

    def _offer_duplicates(self, dup_key: str, location: Location) -> None:
        nearby = []
        for candidate in self._reports.open_nearby(dup_key, 10):
            distance = distance_m(candidate.location, location)
            if distance is None or distance <= DUPLICATE_RADIUS_M:
                nearby.append(
                    {
                        "report_id": candidate.report_id,
                        "status": candidate.status.value,
                        "description": candidate.description[:140],
                        "created_at": candidate.created_at.isoformat(),
                        "distance_m": round(distance) if distance is not None else None,
                    }
                )
        if nearby:
            raise Conflict(
                "a report of the same kind is already open close by; follow it, or file anyway with ignore_duplicates",
                code="possible_duplicate",
                details={"candidates": nearby[:5]},
            )

    # --- reading --------------------------------------------------------------------------------

    def view(self, principal: Principal, report_id: str) -> ReportView:
        """The report with its timeline: its reporter, followers, and staff over its grid."""
        found = self._reports.view(report_id, TIMELINE_SHOWN)
        if found is None or not (can_read(principal, found.report) or principal.user_id in found.followers):
            raise NotFound(f"no report {report_id}", code="report_not_found")
        return found

    def mine(self, principal: Principal, limit: int | None, cursor: str | None) -> Page[Report]:
        return self._reports.for_reporter(principal.user_id, check_limit(limit), cursor)

    def for_unit(
        self, principal: Principal, unit_id: str, report_filter: ReportFilter, limit: int | None, cursor: str | None
    ) -> Page[Report]:
        """Reports in a unit for staff over it, newest first, each page one Query."""
        require_staff_over(principal, unit_id)
        return self._reports.for_unit(
            unit_id, level_of(unit_id), report_filter, self._clock.now(), check_limit(limit), cursor
        )

    # --- the lifecycle ----------------------------------------------------------------------------

    def act(self, principal: Principal, report_id: str, request: ActionRequest) -> Report:
        """Apply one lifecycle action: 403 if it is not the caller's to take, 409 if not now."""
        report = self._load(principal, report_id)
        check_transition(request.action, report, actor_kinds(principal, report))
        category = self._categories.find(city_of(report.grid_id), report.category)
        note = (request.note or "").strip() or None
        data: dict[str, Any] = {}
        target_grid = target_department = duplicate_of = None
        if request.action is Action.REJECT and not note:
            raise InvalidInput("note", "give the reason for rejecting")
        if request.action is Action.TRANSFER:
            target_grid, target_department = self._transfer_target(principal, report, request)
            data = {"grid_id": target_grid, "department": target_department}
        if request.action is Action.MARK_DUPLICATE:
            duplicate_of = self._original(report, request.duplicate_of)
            data = {"duplicate_of": duplicate_of}
        now = self._clock.now()
        changed = transition(
            report,
            request.action,
            now,
            self._scaled(category),
            grid_id=target_grid,
            department=target_department,
            duplicate_of=duplicate_of,
        )
        return self._reports.save(changed, entry(now, principal, request.action.value, report, changed, note, data))

    def _transfer_target(self, principal: Principal, report: Report, request: ActionRequest) -> tuple[str, str]:
        grid_id = request.grid_id or report.grid_id
        department = (request.department or "").strip() or report.department
        if grid_id == report.grid_id and department == report.department:
            raise InvalidInput("grid_id", "name another grid or another department to transfer to")
        if grid_id != report.grid_id:
            grid = self._units.get(grid_id)
            if grid is None or grid.level is not Level.GRID:
                raise InvalidInput("grid_id", f"{grid_id} is not a grid")
            if (
                principal.role not in ADMIN_LEVEL
                and not is_within(principal.scope, grid_id)
                and parent_of(grid_id) != parent_of(report.grid_id)
            ):
                # A grid worker hands over to a neighbouring grid; further goes through the community office.
                raise Forbidden("transfers outside your community go through the community office")
        return grid_id, department

    def _original(self, report: Report, duplicate_of: str | None) -> str:
        if not duplicate_of or duplicate_of == report.report_id:
            raise InvalidInput("duplicate_of", "name the report this one repeats")
        original = self._reports.get(duplicate_of)
        if original is None or original.status in TERMINAL - {Status.CLOSED}:
            raise InvalidInput("duplicate_of", "is not a report that is being handled")
        return original.report_id

    def supervise(self, principal: Principal, report_id: str, deadline: datetime, note: str) -> Report:
        """A supervision order (督办) by a community, street or district office over the report."""
        if principal.role not in ADMIN_LEVEL:
            raise Forbidden("supervision orders come from community, street, district or city offices")
        report = self._load(principal, report_id)
        if not is_within(principal.scope, report.grid_id):
            raise Forbidden(f"{report.grid_id} is outside your scope")
        note = note.strip()
        if not note:
            raise InvalidInput("note", "say what is to be done")
        now = self._clock.now()
        category = self._categories.find(city_of(report.grid_id), report.category)
        order = Supervision(by=principal.user_id, role=principal.role, deadline=deadline, note=note, at=now)
        window = self._window(category, accept=report.status.awaits_acceptance, urgency=report.urgency)
        changed = supervise(report, order, window)
        return self._reports.save(
            changed, entry(now, principal, "supervised", report, changed, note, {"deadline": deadline.isoformat()})
        )

    def rate(self, principal: Principal, report_id: str, stars: int, comment: str | None) -> Report:
        """The reporter confirms a resolved report: 3-5 stars close it, 1-2 reopen it."""
        report = self._load(principal, report_id)
        if principal.user_id != report.reporter_id:
            raise Forbidden("only the person who reported it can rate it")
        if report.status is not Status.RESOLVED:
            raise Conflict(
                f"only a resolved report can be rated; this one is {report.status.value}", code="invalid_transition"
            )
        if not 1 <= stars <= 5:
            raise InvalidInput("stars", "must be 1 to 5")
        now = self._clock.now()
        comment = (comment or "").strip()[:500] or None
        category = self._categories.find(city_of(report.grid_id), report.category)
        action = Action.CLOSE if stars >= 3 else Action.REOPEN
        changed = transition(report, action, now, self._scaled(category))
        changed = replace(changed, rating=Rating(stars=stars, comment=comment, at=now))
        data = {"stars": stars}
        return self._reports.save(
            changed,
            entry(now, principal, "rated" if action is Action.CLOSE else "reopened", report, changed, comment, data),
        )

    def follow(self, principal: Principal, report_id: str) -> Report:
        """Follow an open report instead of filing the same thing again."""
        report = self._reports.get(report_id)
        if report is None or not report.status.is_open:
            raise NotFound(f"no open report {report_id}", code="report_not_found")
        if principal.role is not Role.RESIDENT:
            raise Forbidden("residents follow reports; staff see them by scope")
        if principal.user_id != report.reporter_id:
            self._reports.follow(report_id, principal.user_id, self._clock.now())
        return report

    # --- photos -------------------------------------------------------------------------------

    def photo_upload(self, principal: Principal, report_id: str, content_type: str) -> dict[str, Any]:
        """A presigned upload straight to S3, limited in type and size; the key joins the report."""
        report = self._load(principal, report_id)
        kinds = actor_kinds(principal, report)
        if not kinds & {Actor.REPORTER, Actor.HANDLER}:
            raise Forbidden("only the reporter and the staff handling it add photos")
        extension = PHOTO_TYPES.get(content_type)
        if extension is None:
            raise InvalidInput("content_type", f"must be one of {', '.join(PHOTO_TYPES)}")
        if report.status in TERMINAL:
            raise Conflict(f"the report is {report.status.value}", code="invalid_transition")
        if len(report.photos) >= MAX_PHOTOS:
            raise Conflict(f"a report holds at most {MAX_PHOTOS} photos", code="too_many_photos")
        key = f"reports/{report.report_id}/{new_id()}.{extension}"
        form = self._photos.upload_form(key, content_type, self._policy.photo_max_bytes, 900)
        self._reports.save(replace(report, photos=(*report.photos, key), updated_at=self._clock.now()), None)
        return {"photo_key": key, "upload": form, "max_bytes": self._policy.photo_max_bytes, "expires_in": 900}

    def photo_urls(self, report: Report) -> list[str]:
        return [self._photos.view_url(key, 3600) for key in report.photos]

    # --- the schedule ---------------------------------------------------------------------------

    def close_unrated(self, day: str, now: datetime) -> int:
        """Close the reports resolved on ``day`` that are still unrated after the grace period."""
        closed = 0
        cursor: str | None = None
        cutoff = now - timedelta(days=self._policy.autoclose_days)
        while True:
            page = self._reports.resolved_on(day, 100, cursor)
            for report in page.items:
                if report.status is Status.RESOLVED and report.resolved_at and report.resolved_at <= cutoff:
                    category = self._categories.find(city_of(report.grid_id), report.category)
                    changed = transition(report, Action.CLOSE, now, self._scaled(category))
                    try:
                        self._reports.save(
                            changed,
                            entry(
                                now,
                                None,
                                "auto_closed",
                                report,
                                changed,
                                "closed after the grace period without a rating",
                            ),
                        )
                        closed += 1
                    except Conflict:
                        continue  # rated or reopened at this very moment: theirs wins
            cursor = page.next_cursor
            if cursor is None:
                return closed

    # --- helpers ------------------------------------------------------------------------------

    def _load(self, principal: Principal, report_id: str) -> Report:
        report = self._reports.get(report_id)
        if report is None or not can_read(principal, report):
            raise NotFound(f"no report {report_id}", code="report_not_found")
        return report

    def _window(self, category: Category, *, accept: bool, urgency: Urgency) -> timedelta:
        return self._scaled(category).window(accept, urgency)

    def _scaled(self, category: Category) -> Deadlines:
        return replace(category.deadlines, scale=self._policy.deadline_scale)
