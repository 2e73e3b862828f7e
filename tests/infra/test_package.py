"""The deployment package: the app without the local stack, and every handler the template names
imports from it with the environment the template gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from infra.build import copy_package
from tests.infra.conftest import Built

_IMPORT_HANDLERS = """
import importlib, importlib.util, json, sys
package = sys.argv[1]
sys.path.append(package)  # after the venv's site-packages: the app comes from the package
for handler in json.loads(sys.argv[2]):
    module, name = handler.rsplit(".", 1)
    assert callable(getattr(importlib.import_module(module), name)), handler
import app
assert app.__file__.startswith(package), app.__file__
assert importlib.util.find_spec("chalicelib.local") is None
print("ok")
"""


def test_the_package_ships_the_app_but_not_the_local_stack(prod: Built) -> None:
    with zipfile.ZipFile(prod.result.package) as package:
        names = package.namelist()
    assert "app.py" in names
    assert "chalicelib/api/http.py" in names and "chalicelib/consumers/reports.py" in names
    assert not [n for n in names if n.startswith("chalicelib/local/")]
    assert any(n.startswith("pydantic_core/") for n in names), "dependencies are packaged for Lambda"
    assert not any(n.startswith(("moto/", "pytest/", "tests/", "infra/")) for n in names)


def test_every_handler_in_the_template_imports_from_the_package(prod: Built, tmp_path: Path) -> None:
    extracted = tmp_path / "package"
    with zipfile.ZipFile(prod.result.package) as package:
        package.extractall(extracted)
    functions = [r["Properties"] for r in prod.resources.values() if r["Type"] == "AWS::Lambda::Function"]
    handlers = sorted({f["Handler"] for f in functions})
    environment = {
        k: v for k, v in functions[0]["Environment"]["Variables"].items() if isinstance(v, str)
    }  # what Lambda would set, less the two values CloudFormation fills in
    environment |= {"AWS_ACCOUNT_ID": "111122223333", "PHOTOS_BUCKET": "photos", "AWS_REGION": "eu-west-1"}
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), **environment}
    result = subprocess.run(
        [sys.executable, "-I", "-c", _IMPORT_HANDLERS, str(extracted), json.dumps(handlers)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stdout + result.stderr


def test_packaging_the_same_code_gives_the_same_bytes(prod: Built, tmp_path: Path) -> None:
    source = tmp_path / "source.zip"
    with zipfile.ZipFile(source, "w") as package:
        for name in ("app.py", "chalicelib/__init__.py", "chalicelib/local/stack.py"):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            package.writestr(info, f"# {name}\n")
    first = copy_package(source, tmp_path / "a.zip")
    second = copy_package(source, tmp_path / "b.zip")
    assert first == second
    with zipfile.ZipFile(tmp_path / "a.zip") as package:
        assert package.namelist() == ["app.py", "chalicelib/__init__.py"]
    assert prod.result.artifact_key.endswith(".zip")
