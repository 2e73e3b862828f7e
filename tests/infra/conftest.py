"""Infrastructure tests: package each deployable stage once per session and inspect the result."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.build import BuildResult, build
from infra.stages import BuildContext, load_context


@dataclass
class Built:
    result: BuildResult
    ctx: BuildContext
    template: dict[str, Any]
    sam: dict[str, Any]  # Chalice's own output, for feeding the transform variations

    @property
    def resources(self) -> dict[str, Any]:
        resources: dict[str, Any] = self.template["Resources"]
        return resources

    def of_type(self, kind: str) -> dict[str, Any]:
        return {k: v for k, v in self.resources.items() if v["Type"] == kind}


@pytest.fixture(scope="session")
def build_stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Built]]:
    cache: dict[str, Built] = {}

    def get(stage: str) -> Built:
        if stage not in cache:
            out: Path = tmp_path_factory.mktemp(f"build-{stage}")
            result = build(stage, out)
            cache[stage] = Built(
                result=result,
                ctx=load_context(stage),
                template=json.loads(result.template.read_text(encoding="utf-8")),
                sam=json.loads(result.chalice_template.read_text(encoding="utf-8")),
            )
        return cache[stage]

    yield get


@pytest.fixture(scope="session")
def prod(build_stage: Callable[[str], Built]) -> Built:
    return build_stage("prod")


@pytest.fixture(scope="session")
def dev(build_stage: Callable[[str], Built]) -> Built:
    return build_stage("dev")
