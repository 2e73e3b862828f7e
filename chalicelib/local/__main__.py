"""``python -m chalicelib.local run|token``: the local stack's command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from chalicelib.local.environment import (
    Ports,
    StackConfigError,
    apply_environment,
    duplicate_port,
    first_taken_port,
    load_chalice_config,
    stage_environment,
)

EXIT_USAGE = 2
EXIT_FAILED = 1
# The module whose `app` the stack serves; overridable to run the stack around a stand-in app.
APP_MODULE_VARIABLE = "WEILINLI_LOCAL_APP_MODULE"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.local", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="start the local stack (Ctrl-C stops it and keeps the data)")
    run.add_argument("--data-dir", type=Path, default=Path(".local"), help="where data survives restarts")
    run.add_argument("--api-port", type=int, default=8000)
    run.add_argument("--aws-port", type=int, default=4566)
    run.add_argument("--sandbox-port", type=int, default=8025)
    run.add_argument("--host", default="127.0.0.1", help="address every server binds to")
    run.add_argument(
        "--schedule-speedup",
        type=float,
        default=1.0,
        help="run schedules this many times faster than the wall clock (e.g. 60: a minute per second)",
    )
    run.add_argument("--no-demo", action="store_true", help="start without the demo data and hooks")
    run.add_argument(
        "--deadline-scale",
        type=float,
        default=None,
        help="how fast report deadlines run (the local stage's default 0.01 turns an hour into 36 s)",
    )
    run.add_argument("--app-module", default=os.environ.get(APP_MODULE_VARIABLE, "app"), help=argparse.SUPPRESS)
    run.set_defaults(handler=run_stack)

    token = commands.add_parser("token", help="print a local access token")
    token.add_argument("--role", required=True)
    token.add_argument("--scope", required=True, help="a tree path, e.g. wuhan/wuchang")
    token.add_argument("--user", default=None, help="user id (subject); the demo picks one when omitted")
    token.add_argument("--aws-port", type=int, default=4566, help="the running stack's AWS port")
    token.add_argument("--host", default="127.0.0.1", help="the running stack's address")
    token.set_defaults(handler=print_token)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    for noisy in ("botocore", "urllib3", "werkzeug", "pynamodb"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Powertools warns on every invocation that publishes no metric; locally that is most of them.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    code: int = args.handler(args)
    return code


def run_stack(args: argparse.Namespace) -> int:
    """``run``: check the ports, set the local stage's environment, then start the stack."""
    ports = Ports(host=args.host, api=args.api_port, aws=args.aws_port, sandbox=args.sandbox_port)
    shared = duplicate_port(ports)
    if shared:
        first, second, port = shared
        return _usage_error(f"--{first}-port and --{second}-port are both {port}; give each server its own port")
    taken = first_taken_port(ports)
    if taken:
        name, port = taken
        return _usage_error(
            f"port {port} ({name}) on {ports.host} is already in use: stop whatever listens there "
            f"(another local stack?) or choose another port with --{name}-port"
        )
    project_dir = Path.cwd()
    try:
        config = load_chalice_config(project_dir)
    except StackConfigError as exc:
        return _usage_error(str(exc))
    environment = stage_environment(config, ports)
    if args.deadline_scale is not None:
        environment["DEADLINE_SCALE"] = str(args.deadline_scale)
    apply_environment(environment)

    # Only now: importing the stack imports the settings, which read the environment once.
    from chalicelib.local.stack import LocalStack, StackOptions

    options = StackOptions(
        ports=ports,
        data_dir=args.data_dir,
        project_dir=project_dir,
        config_from_disk=config,
        app_module=args.app_module,
        schedule_speedup=args.schedule_speedup,
        use_demo=not args.no_demo,
    )
    try:
        return LocalStack(options).run_until_signalled()
    except Exception:
        logging.getLogger("chalicelib.local").exception("the local stack failed")
        return EXIT_FAILED


def print_token(args: argparse.Namespace) -> int:
    """``token``: a token signed with the local stage's secret, from the demo module."""
    try:
        config = load_chalice_config(Path.cwd())
    except StackConfigError as exc:
        return _usage_error(str(exc))
    # The token may be for a user the demo creates on the running stack: use its endpoint.
    apply_environment(stage_environment(config, Ports(host=args.host, aws=args.aws_port)))
    # As for `run`: the settings must see the stage's environment when they are first read.
    from chalicelib.local.stack import DEMO_MODULE, demo_function

    issue_token = demo_function("issue_token")
    if issue_token is None:
        print(f"{DEMO_MODULE}.issue_token(role, scope, user_id) does not exist yet", file=sys.stderr)
        return EXIT_FAILED
    print(issue_token(args.role, args.scope, args.user))
    return 0


def _usage_error(message: str) -> int:
    print(f"weilinli local stack: {message}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
