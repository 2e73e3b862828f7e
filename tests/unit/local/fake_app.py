"""A stand-in Chalice app for tests of the local stack (and for running the stack without app.py).

Run the stack around it with ``WEILINLI_LOCAL_APP_MODULE=tests.unit.local.fake_app``.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Chalice

app = Chalice(app_name="weilinli-fake")


@app.route("/health")
def health() -> dict[str, Any]:
    return {"status": "ok", "app": "fake"}
