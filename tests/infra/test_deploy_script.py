"""infra/deploy.sh against a stand-in `aws` that records what it is asked to do."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.infra.conftest import Built

SCRIPT = Path(__file__).resolve().parents[2] / "infra" / "deploy.sh"

FAKE_AWS = """#!/usr/bin/env bash
echo "$*" >> "$AWS_LOG"
if [[ $1 == s3api ]]; then exit 1; fi   # head-object: not uploaded yet
exit 0
"""


def _run(built: Built, tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "aws"
    fake.write_text(FAKE_AWS, encoding="utf-8")
    fake.chmod(0o755)
    log = tmp_path / "aws.log"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "AWS_LOG": str(log),
        "BUILD_DIR": str(built.result.template.parent),
    }
    result = subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, check=False)
    calls = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return result, calls


def test_deploy_uploads_the_package_then_deploys_the_stack(prod: Built, tmp_path: Path) -> None:
    result, calls = _run(prod, tmp_path, "prod", "my-artifacts", "AlarmEmail=ops@example.org")
    assert result.returncode == 0, result.stderr
    key = prod.result.artifact_key
    assert calls[0] == f"s3api head-object --bucket my-artifacts --key {key}"
    assert calls[1] == f"s3 cp {prod.result.package} s3://my-artifacts/{key}"
    deploy = calls[2]
    assert deploy.startswith("cloudformation deploy --stack-name weilinli-prod ")
    assert f"--template-file {prod.result.template}" in deploy
    assert "--capabilities CAPABILITY_NAMED_IAM" in deploy
    assert f"ArtifactBucket=my-artifacts ArtifactKey={key} AlarmEmail=ops@example.org" in deploy
    assert calls[3].startswith("cloudformation describe-stacks --stack-name weilinli-prod")


def test_deploy_refuses_a_package_of_another_stage(prod: Built, tmp_path: Path) -> None:
    result, calls = _run(prod, tmp_path, "dev", "my-artifacts")
    assert result.returncode == 1
    assert "packaged for stage prod" in result.stderr
    assert calls == []


def test_deploy_without_arguments_explains_itself(prod: Built, tmp_path: Path) -> None:
    result, calls = _run(prod, tmp_path)
    assert result.returncode == 2 and "infra/deploy.sh <stage> <artifact-bucket>" in result.stderr
    assert calls == []
