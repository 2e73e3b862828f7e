"""Finding the app's event handlers, as Chalice registers them."""

from __future__ import annotations

from chalice.app import Blueprint, Chalice, Rate

from chalicelib.local.sources import discover, table_from_stream_arn


def test_handlers_of_blueprints_and_of_the_app_are_found() -> None:
    app = Chalice(app_name="sources")
    bp = Blueprint(__name__)

    @bp.on_sqs_message(queue_arn="arn:aws:sqs:us-east-1:123456789012:orders", batch_size=3)
    def orders(event: object) -> None: ...

    @bp.on_dynamodb_record(stream_arn="arn:aws:dynamodb:us-east-1:1:table/users/stream/x", batch_size=7)
    def users(event: object) -> None: ...

    @app.schedule(Rate(5, unit=Rate.MINUTES))
    def sweep(event: object) -> None: ...

    @app.on_s3_event(bucket="photos")
    def photos(event: object) -> None: ...

    app.register_blueprint(bp, name_prefix="bp_")
    found = discover(app)

    assert [(s.name, s.queue_name, s.batch_size) for s in found.sqs] == [("bp_orders", "orders", 3)]
    assert [(s.name, s.table_name, s.batch_size) for s in found.streams] == [("bp_users", "users", 7)]
    assert [(s.name, s.expression) for s in found.schedules] == [("sweep", "rate(5 minutes)")]
    assert found.unsupported == ["photos"]
    assert found.sqs[0].handler is app.handler_map["bp_orders"]


def test_the_table_is_read_from_a_stream_arn() -> None:
    assert table_from_stream_arn("arn:aws:dynamodb:eu-west-1:1:table/weilinli-local-users/stream/2024") == (
        "weilinli-local-users"
    )
    assert table_from_stream_arn("arn:aws:sqs:eu-west-1:1:queue") is None
