"""Weilinli: the Chalice app. Creates the app, wires observability and registers blueprints."""

from __future__ import annotations

from chalice import Chalice

from chalicelib import observability
from chalicelib.api import auth, chat, membership, meta, reports, units, webhooks
from chalicelib.api.security import security
from chalicelib.consumers import channels, notifications
from chalicelib.consumers import reports as report_consumers

app = Chalice(app_name="weilinli")
app.api.cors = False
observability.register(app)

app.register_blueprint(security)
for blueprint in (
    meta.bp,
    auth.bp,
    units.bp,
    membership.bp,
    reports.bp,
    chat.bp,
    webhooks.bp,
    notifications.bp,
    report_consumers.bp,
    channels.bp,
):
    app.register_blueprint(blueprint)
