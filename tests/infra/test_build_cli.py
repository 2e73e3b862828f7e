"""`python -m infra.build`: the command line around the build (the build itself is stubbed)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from infra import build as build_module
from infra.build import BuildResult, main
from infra.cfn import BuildError
from infra.groups import UnmappedRoute
from infra.stages import chalice_config, load_context, stage_environment


@pytest.fixture
def isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # main() rewrites the process environment on purpose; keep it from leaking into other tests.
    monkeypatch.setattr(os, "environ", os.environ.copy())


def test_the_stage_config_decides_names_not_the_shell(
    isolated_environment: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.environ.update({"STAGE": "dev", "RESOURCE_PREFIX": "someone-else", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566"})
    calls: list[dict[str, Any]] = []

    def fake_build(stage: str, out: Path, account_concurrency: int | None = None) -> BuildResult:
        calls.append({"stage": stage, "out": out, "account_concurrency": account_concurrency, "env": dict(os.environ)})
        return BuildResult(out / "template.json", out / "deployment.zip", "weilinli/prod/deployment-x.zip", out)

    monkeypatch.setattr(build_module, "build", fake_build)
    assert main(["--stage", "prod", "--out", str(tmp_path), "--account-concurrency", "5000"]) == 0
    [call] = calls
    assert call["stage"] == "prod" and call["out"] == tmp_path and call["account_concurrency"] == 5000
    assert call["env"]["STAGE"] == "prod"
    assert call["env"]["JWT_SECRET_PARAM"] == "/weilinli/prod/jwt-secret"
    assert "RESOURCE_PREFIX" not in call["env"] and "AWS_ENDPOINT_URL" not in call["env"]
    assert "weilinli/prod/deployment-x.zip" in capsys.readouterr().out


def test_a_build_error_is_one_line_and_exit_status_1(
    isolated_environment: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def failing_build(stage: str, out: Path, account_concurrency: int | None = None) -> BuildResult:
        raise UnmappedRoute("/v2/unplanned")

    monkeypatch.setattr(build_module, "build", failing_build)
    assert main(["--stage", "prod"]) == 1
    assert "route /v2/unplanned belongs to no endpoint group" in capsys.readouterr().err


def test_a_stage_that_cannot_be_deployed_is_refused() -> None:
    with pytest.raises(BuildError, match="not deployable"):
        load_context("local")
    with pytest.raises(BuildError, match=r"not in \.chalice/config\.json"):
        stage_environment(chalice_config(), "staging")
