"""Per-stage knobs, and the build context read from ``.chalice/config.json``.

The Lambda functions get exactly the environment Chalice gives them for the stage (config.json's
top-level and stage variables) plus what only the template knows (account, bucket name).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.settings import Settings, parse_settings
from infra.cfn import BuildError
from infra.groups import EndpointGroup

PROJECT = Path(__file__).resolve().parents[1]

# The API groups share this part of the account's concurrency as reservations; the rest stays
# unreserved for the authorizer, the consumers and headroom.
API_SHARE = 0.6

# CloudWatch Logs accepts only these retention periods.
RETENTION_DAYS: tuple[int, ...] = (
    *(1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365),
    *(400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653),
)


@dataclass(frozen=True)
class StageProfile:
    name: str
    api_rate: float  # stage-wide steady requests per second
    api_burst: int
    reserve_concurrency: bool  # default of the ReserveConcurrency template parameter
    account_concurrency: int  # the Lambda concurrency quota reservations are sized for
    retain_data: bool  # tables and bucket survive a stack deletion; deletion protection on
    log_retention_cap: int | None  # days; None keeps each function's own
    api_5xx_rate_alarm: float  # share of requests answered 5xx that pages someone


PROFILES: dict[str, StageProfile] = {
    "dev": StageProfile(
        name="dev",
        api_rate=50,
        api_burst=100,
        reserve_concurrency=False,  # a fresh account may have a concurrency quota of 10
        account_concurrency=1000,
        retain_data=False,
        log_retention_cap=7,
        api_5xx_rate_alarm=0.05,
    ),
    "prod": StageProfile(
        name="prod",
        # API Gateway's default account quota is 10,000 rps with a 5,000 burst per region.
        api_rate=5000,
        api_burst=2500,
        reserve_concurrency=True,
        account_concurrency=1000,
        retain_data=True,
        log_retention_cap=None,
        api_5xx_rate_alarm=0.01,
    ),
}


@dataclass(frozen=True)
class BuildContext:
    app_name: str
    stage: str
    profile: StageProfile
    settings: Settings  # the stage's settings (names only; region and account are the template's)
    environment: dict[str, str]  # what Chalice sets on every function for this stage
    api_stage: str
    account_concurrency: int

    @property
    def prefix(self) -> str:
        return self.settings.resource_prefix

    @property
    def api_name(self) -> str:
        return f"{self.prefix}-api"

    def function_name(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def log_retention(self, days: int) -> int:
        wanted = min(days, self.profile.log_retention_cap) if self.profile.log_retention_cap else days
        return max(d for d in RETENTION_DAYS if d <= wanted)

    def reserved_concurrency(self, group: EndpointGroup, routed: list[EndpointGroup]) -> int:
        """The group's share of the API's part of the account's concurrency (at least 1)."""
        pool = int(self.account_concurrency * API_SHARE)
        total = sum(g.concurrency_weight for g in routed)
        return max(1, pool * group.concurrency_weight // total)


def chalice_config(project: Path = PROJECT) -> dict[str, Any]:
    config: dict[str, Any] = json.loads((project / ".chalice" / "config.json").read_text(encoding="utf-8"))
    return config


def stage_environment(config: dict[str, Any], stage: str) -> dict[str, str]:
    stages = config.get("stages", {})
    if stage not in stages:
        raise BuildError(f"stage {stage!r} is not in .chalice/config.json (it has {', '.join(stages)})")
    return {
        **{str(k): str(v) for k, v in config.get("environment_variables", {}).items()},
        **{str(k): str(v) for k, v in stages[stage].get("environment_variables", {}).items()},
    }


def load_context(stage: str, project: Path = PROJECT, account_concurrency: int | None = None) -> BuildContext:
    if stage not in PROFILES:
        raise BuildError(f"stage {stage!r} is not deployable; infra/stages.py knows {', '.join(PROFILES)}")
    config = chalice_config(project)
    environment = stage_environment(config, stage)
    if environment.get("STAGE") != stage:
        raise BuildError(f".chalice/config.json stage {stage} must set STAGE={stage}")
    # Region and account here are stand-ins: the template names its ARNs with AWS::Region/AccountId.
    settings = parse_settings({**environment, "AWS_REGION": "us-east-1", "AWS_ACCOUNT_ID": "000000000000"})
    profile = PROFILES[stage]
    api_stage = config["stages"][stage].get("api_gateway_stage", config.get("api_gateway_stage", "api"))
    return BuildContext(
        app_name=str(config["app_name"]),
        stage=stage,
        profile=profile,
        settings=settings,
        environment=environment,
        api_stage=str(api_stage),
        account_concurrency=account_concurrency or profile.account_concurrency,
    )
