"""``python -m infra.build --stage prod``: package the app and write the production template.

Runs ``chalice package`` for the stage (Chalice caches the dependencies it downloads under
``.chalice/deployments``), transforms its SAM template (``infra/template.py``) and writes
``<out>/template.json`` beside ``<out>/deployment.zip``, the one package every function runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from infra.stages import PROJECT, load_context

# Dev-only code Chalice would ship: the local stack is never imported by the Lambda code.
EXCLUDED_FROM_PACKAGE = ("chalicelib/local/",)
# Variables that would change resource names at import time; the stage's config decides them.
_NAME_VARIABLES = ("STAGE", "RESOURCE_PREFIX", "AWS_ENDPOINT_URL", "AWS_ACCOUNT_ID", "PHOTOS_BUCKET")


@dataclass(frozen=True)
class BuildResult:
    template: Path
    package: Path
    artifact_key: str
    chalice_template: Path  # Chalice's own SAM output, kept for inspection and tests


def chalice_package(stage: str, destination: Path, project: Path = PROJECT) -> Path:
    """Run ``chalice package``; returns the directory holding ``sam.json`` and ``deployment.zip``."""
    env = {k: v for k, v in os.environ.items() if k not in _NAME_VARIABLES}
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # Chalice insists; the template uses AWS::Region
    # Chalice's CLI from this interpreter, wherever its console script was installed.
    chalice = [sys.executable, "-c", "import sys; from chalice.cli import main; sys.exit(main())"]
    command = [*chalice, "package", "--stage", stage, "--pkg-format", "cloudformation"]
    command += ["--template-format", "json", str(destination)]
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise RuntimeError(f"chalice package failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return destination


def copy_package(source: Path, destination: Path) -> str:
    """Copy the deployment package without the dev-only files; returns its SHA-256.

    Entries keep Chalice's fixed timestamps, so the same code gives the same bytes and the same
    key: an unchanged package does not update any function.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(destination, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename.startswith(EXCLUDED_FROM_PACKAGE):
                continue
            dst.writestr(info, src.read(info.filename), compress_type=zipfile.ZIP_DEFLATED)
    return hashlib.sha256(destination.read_bytes()).hexdigest()


def build(stage: str, out: Path, project: Path = PROJECT, account_concurrency: int | None = None) -> BuildResult:
    """Package ``stage`` into ``out``: ``template.json``, ``deployment.zip``, ``chalice-sam.json``."""
    from infra.template import build_template  # imports the app's definitions

    ctx = load_context(stage, project, account_concurrency)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chalice-package-") as tmp:
        packaged = chalice_package(stage, Path(tmp) / "out", project)
        sam = json.loads((packaged / "sam.json").read_text(encoding="utf-8"))
        digest = copy_package(packaged / "deployment.zip", out / "deployment.zip")
    chalice_template = out / "chalice-sam.json"
    chalice_template.write_text(json.dumps(sam, indent=2) + "\n", encoding="utf-8")
    artifact_key = f"{ctx.app_name}/{stage}/deployment-{digest[:20]}.zip"
    template = build_template(sam, ctx, artifact_key)
    template_path = out / "template.json"
    template_path.write_text(json.dumps(template, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return BuildResult(template_path, out / "deployment.zip", artifact_key, chalice_template)


def _use_stage_environment(stage: str) -> None:
    """Make this process's settings the stage's before the app's modules are imported, so a shell
    variable (say ``STAGE=prod`` from ``make package STAGE=prod``) cannot fail their parsing."""
    from infra.stages import chalice_config, stage_environment

    for name in _NAME_VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(stage_environment(chalice_config(), stage))


def _shown(path: Path) -> Path:
    return path.relative_to(PROJECT) if path.is_relative_to(PROJECT) else path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stage", default="dev", help="a stage of .chalice/config.json (default: dev)")
    parser.add_argument("--out", type=Path, help="output directory (default: build/<stage>)")
    parser.add_argument(
        "--account-concurrency",
        type=int,
        help="the account's Lambda concurrency quota to size reservations for (default: the stage's)",
    )
    args = parser.parse_args(argv)
    _use_stage_environment(args.stage)
    from infra.cfn import BuildError
    from infra.groups import UndeclaredHandler, UnmappedRoute

    try:
        out = args.out or PROJECT / "build" / args.stage
        result = build(args.stage, out, account_concurrency=args.account_concurrency)
    except (BuildError, UnmappedRoute, UndeclaredHandler) as exc:
        print(f"infra.build: {exc}", file=sys.stderr)
        return 1
    print(f"template  {_shown(result.template)}")
    print(f"package   {_shown(result.package)}")
    print(f"artifact  s3://<ArtifactBucket>/{result.artifact_key}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
