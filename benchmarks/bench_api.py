"""Benchmark of the hot request paths, in process on moto: figures and ratios to a baseline
(``GET /health``, which touches no AWS) measured in the same run, so a noisy machine moves both.

Run with ``make bench``. Not part of ``make test``: timings are not assertions here.
"""

from __future__ import annotations

import json
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

from chalice.test import Client
from moto import mock_aws

import tests.conftest  # noqa: F401  (the test environment: stage, fake credentials)
from chalicelib import bootstrap
from chalicelib.adapters import aws
from chalicelib.local import gateway
from chalicelib.local.demo import load_demo_data
from tests.counting import dynamodb_calls
from tests.integration.conftest import create_resources

ROUNDS = 150


def _timed(call: Callable[[int], Any], rounds: int = ROUNDS) -> list[float]:
    samples = []
    for i in range(rounds):
        start = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def _dynamodb_calls(call: Callable[[], Any]) -> int:
    with dynamodb_calls() as calls:
        call()
    return len(calls)


def main() -> None:
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    with mock_aws():
        aws.reset_clients()
        bootstrap.reset()
        create_resources()
        demo = load_demo_data()
        token = {label.split(" ")[0]: t for label, t in demo["tokens"].items()}
        from app import app

        gateway.install()
        with Client(app) as client:
            http = client.http

            def get(path: str, who: str | None = None) -> Any:
                headers = {"Authorization": f"Bearer {token[who]}"} if who else {}
                return http.get(path, headers=headers)

            def post(path: str, body: dict[str, Any], who: str, key: str | None = None) -> Any:
                headers = {"Authorization": f"Bearer {token[who]}", "Content-Type": "application/json"}
                if key:
                    headers["Idempotency-Key"] = key
                return http.post(path, headers=headers, body=json.dumps(body).encode())

            grid = "wuhan.wuchang.shuiguohu.dongting.g01"
            group = "grid~wuhan.wuchang.zhongnanlu.xinminzhulu.g01"
            report = post(
                "/v1/reports", {"category": "other", "description": "x", "location": {"building": "1"}}, "chenwen"
            )
            report_id = json.loads(report.body)["report_id"]
            paths: dict[str, Callable[[int], Any]] = {
                "GET /health (baseline)": lambda i: get("/health"),
                "GET /v1/me": lambda i: get("/v1/me", "chenwen"),
                "GET /v1/reports/{id}": lambda i: get(f"/v1/reports/{report_id}", "chenwen"),
                "GET /v1/units/{grid}/reports": lambda i: get(f"/v1/units/{grid}/reports?open=true", "zhangxinxin"),
                "POST /v1/reports": lambda i: post(
                    "/v1/reports",
                    {
                        "category": "other",
                        "description": f"#{i}",
                        "location": {"lat": 30.0 + (i % 5000) / 1000, "long": 114.3},
                    },
                    "chenwen",
                    key=f"bench-{i}",
                ),
                "POST chat message": lambda i: post(
                    f"/v1/conversations/{group}/messages", {"text": f"#{i}"}, "wangwei", key=f"m-{i}"
                ),
                "GET chat messages": lambda i: get(f"/v1/conversations/{group}/messages", "wangwei"),
            }
            bootstrap.report_service().categories(None)
            results = {name: _timed(call, ROUNDS if "chat message" not in name else 25) for name, call in paths.items()}
            calls = {
                "GET /v1/reports/{id}": _dynamodb_calls(lambda: get(f"/v1/reports/{report_id}", "chenwen")),
                "POST /v1/reports": _dynamodb_calls(lambda: paths["POST /v1/reports"](10_000)),
                "GET chat messages": _dynamodb_calls(lambda: get(f"/v1/conversations/{group}/messages", "wangwei")),
            }
    baseline = statistics.median(results["GET /health (baseline)"])
    print(f"{'path':32} {'median ms':>10} {'p95 ms':>8} {'x baseline':>11} {'DynamoDB calls':>15}")
    for name, samples in results.items():
        median = statistics.median(samples)
        p95 = sorted(samples)[int(len(samples) * 0.95) - 1]
        print(f"{name:32} {median:10.2f} {p95:8.2f} {median / baseline:11.1f} {calls.get(name, ''):>15}")
    print("(moto in process: absolute times say little about AWS; the ratios and call counts travel)")


if __name__ == "__main__":
    main()
