"""People: residents and staff, their binding to a grid, and how their identity is shown."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from .auth import Role
from .errors import InvalidInput

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalize_phone(raw: str, field_name: str = "phone") -> str:
    """E.164 form. A bare 11-digit mainland mobile number gets +86."""
    phone = re.sub(r"[\s\-()]", "", raw or "")
    if _CN_MOBILE.match(phone):
        phone = "+86" + phone
    elif phone.startswith("0086"):
        phone = "+" + phone[2:]
    if not _E164.match(phone):
        raise InvalidInput(field_name, "must be a mobile number such as 13812345678 or +8613812345678")
    return phone


def mask_phone(phone: str | None) -> str | None:
    """``+8613812345678`` → ``138****5678``: enough to recognise, not to dial."""
    if not phone:
        return None
    local = phone[3:] if phone.startswith("+86") else phone.lstrip("+")
    if len(local) < 7:
        return "*" * len(local)
    return f"{local[:3]}****{local[-4:]}"


class BindingStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REFUSED = "refused"


@dataclass(frozen=True)
class Binding:
    grid_id: str
    building: str
    unit: str
    room: str
    status: BindingStatus
    bound_at: datetime
    join_code_id: str
    verified_by: str | None = None
    verified_at: datetime | None = None
    note: str | None = None

    @property
    def address(self) -> str:
        return f"{self.building}-{self.unit}-{self.room}"


@dataclass(frozen=True)
class User:
    user_id: str
    role: Role
    scope: str
    created_at: datetime
    phone: str | None = None
    name: str | None = None
    wechat_openid: str | None = None
    department: str | None = None
    title: str | None = None
    binding: Binding | None = None
    erased: bool = False
    version: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def masked_phone(self) -> str | None:
        return mask_phone(self.phone)

    @property
    def display_name(self) -> str:
        if self.erased:
            return "已注销用户"
        return self.name or (f"居民{self.masked_phone[-4:]}" if self.masked_phone else "居民")

    def erase(self) -> User:
        """Drop everything that identifies the person, address included.

        The id stays, so the anonymous records that name it (reports, counts) still add up.
        """
        return replace(
            self,
            phone=None,
            name=None,
            wechat_openid=None,
            title=None,
            binding=None,
            erased=True,
            extra={},
        )
