"""A small JSON client for the e2e tests: what a mobile app does over HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from tests.e2e.conftest import LocalStackProcess


class Http:
    def __init__(self, stack: LocalStackProcess) -> None:
        self.stack = stack

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.stack.api}{path}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            return error.code, json.loads(raw) if raw else None

    def get(self, path: str, token: str | None = None) -> Any:
        status, body = self.call("GET", path, token=token)
        assert status == 200, (path, status, body)
        return body

    def post(self, path: str, body: Any, token: str | None = None, expect: int = 200) -> Any:
        status, answer = self.call("POST", path, body, token)
        assert status == expect, (path, status, answer)
        return answer

    def sms_code(self, phone: str) -> str:
        query = urllib.parse.urlencode({"channel": "sms", "to": phone})
        with urllib.request.urlopen(f"{self.stack.sandbox}/_sandbox/outbox?{query}", timeout=10) as response:
            items = json.loads(response.read())["items"]
        text = str(items[-1]["body"])
        return next(word for word in text.replace("，", " ").split() if word.isdigit() and len(word) == 6)

    def sign_in(self, phone: str) -> dict[str, Any]:
        """Sign in as a person would: ask for a code, read the SMS, send the code back."""
        self.post("/v1/auth/sms/code", {"phone": phone}, expect=202)
        local = phone.removeprefix("+86")
        return dict(self.post("/v1/auth/sms/verify", {"phone": local, "code": self.sms_code(phone)}))
