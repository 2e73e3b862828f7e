"""Join codes: what a grid's QR code carries, and when one may still be used."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, replace
from datetime import datetime

from .errors import Gone, InvalidInput

CODE_PREFIX = "wlj1"


@dataclass(frozen=True)
class JoinCode:
    code_id: str
    grid_id: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    max_uses: int
    uses: int = 0
    revoked: bool = False

    def check_usable(self, now: datetime) -> None:
        if self.revoked:
            raise Gone("this join code was revoked; ask your grid worker for a new one", code="join_code_revoked")
        if now >= self.expires_at:
            raise Gone("this join code has expired; ask your grid worker for a new one", code="join_code_expired")
        if self.uses >= self.max_uses:
            raise Gone("this join code has been used up; ask your grid worker for a new one", code="join_code_used_up")

    def used_once(self) -> JoinCode:
        return replace(self, uses=self.uses + 1)


def _signature(key: bytes, code_id: str, grid_id: str) -> str:
    mac = hmac.new(key, f"{CODE_PREFIX}|{code_id}|{grid_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:12]).decode().rstrip("=")


def sign_join_code(key: bytes, code: JoinCode) -> str:
    """The string the QR code carries: ``wlj1~<grid>~<code id>~<signature>`` (grid ids hold dots)."""
    return f"{CODE_PREFIX}~{code.grid_id}~{code.code_id}~{_signature(key, code.code_id, code.grid_id)}"


def parse_join_code(key: bytes, text: str, field: str = "code") -> tuple[str, str]:
    """Return (grid_id, code_id) of a genuine code; a forged or garbled one is refused unread."""
    parts = (text or "").strip().split("~")
    if len(parts) != 4 or parts[0] != CODE_PREFIX:
        raise InvalidInput(field, "is not a Weilinli join code", code="join_code_invalid")
    _, grid_id, code_id, signature = parts
    if not hmac.compare_digest(signature, _signature(key, code_id, grid_id)):
        raise InvalidInput(field, "is not a genuine join code", code="join_code_invalid")
    return grid_id, code_id
