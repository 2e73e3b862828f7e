"""Outbound HTTP providers: the SMS gateway (Twilio-style API) and WeChat's login exchange.

Both speak to ``*_API_BASE`` from settings: the real provider in AWS, the local sandbox on the
local stack, so this same client code runs everywhere.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import urllib3

from chalicelib.domain.errors import InvalidInput, Unavailable

_TIMEOUT = urllib3.Timeout(connect=2.0, read=5.0)


@lru_cache(maxsize=1)
def _http() -> urllib3.PoolManager:
    return urllib3.PoolManager(timeout=_TIMEOUT, retries=urllib3.Retry(total=2, backoff_factor=0.2))


class HttpSmsSender:
    def __init__(self, api_base: str, account_sid: str, auth_token: str, sender: str) -> None:
        self._url = f"{api_base}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._auth = urllib3.util.make_headers(basic_auth=f"{account_sid}:{auth_token}")
        self._sender = sender

    def send(self, phone: str, text: str) -> None:
        try:
            response = _http().request(
                "POST",
                self._url,
                body=urlencode({"To": phone, "From": self._sender, "Body": text}),
                headers={**self._auth, "Content-Type": "application/x-www-form-urlencoded"},
            )
        except urllib3.exceptions.HTTPError as exc:
            raise Unavailable("the SMS provider cannot be reached; try again shortly") from exc
        if response.status >= 300:
            raise Unavailable(f"the SMS provider refused the message ({response.status})")


class HttpWeChatLogin:
    def __init__(self, api_base: str, app_id: str, app_secret: str) -> None:
        self._url = f"{api_base}/sns/jscode2session"
        self._app_id = app_id
        self._app_secret = app_secret

    def openid_for(self, login_code: str) -> str:
        query = {
            "appid": self._app_id,
            "secret": self._app_secret,
            "js_code": login_code,
            "grant_type": "authorization_code",
        }
        try:
            response = _http().request("GET", f"{self._url}?{urlencode(query)}")
            answer: dict[str, Any] = json.loads(response.data or b"{}")
        except (urllib3.exceptions.HTTPError, ValueError):
            # "from None": urllib3's errors quote the URL, and this URL carries the app secret.
            raise Unavailable("WeChat cannot be reached; try again shortly") from None
        if answer.get("errcode") or not answer.get("openid"):
            raise InvalidInput("code", f"WeChat refused the login code ({answer.get('errmsg', 'no openid')})")
        return str(answer["openid"])
