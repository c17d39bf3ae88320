"""The program is type-checked strictly, and the check catches a misspelt resource argument.

pulumi_gcp ships full signatures (keyword arguments, *Args classes), so mypy rejects a misspelt
argument before anything reaches `pulumi preview`. The package is ~290 MB of generated code:
mypy follows only the modules the program uses (others are skipped), which keeps a cold run to
seconds instead of a minute and 2 GB.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from mypy import api

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"


def used_gcp_modules() -> list[str]:
    """The pulumi_gcp modules infra/ imports (`from pulumi_gcp import a, b`)."""
    found: set[str] = set()
    for source in INFRA.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "pulumi_gcp":
                found |= {alias.name for alias in node.names}
            # `import pulumi_gcp as gcp` would reach the modules through the skipped package:
            # their types would be Any, and a misspelt argument would pass.
            elif isinstance(node, ast.Import | ast.ImportFrom):
                modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                assert not [m for m in modules if m.startswith("pulumi_gcp")], f"{source}: use from pulumi_gcp import x"
    return sorted(found)


@pytest.fixture(scope="module")
def mypy_config(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    folder = tmp_path_factory.mktemp("mypy")
    followed = ",".join(["pulumi_gcp._utilities", *(f"pulumi_gcp.{m},pulumi_gcp.{m}.*" for m in used_gcp_modules())])
    config = folder / "mypy.ini"
    config.write_text(
        f"""[mypy]
python_version = 3.11
plugins = pydantic.mypy
disallow_untyped_defs = true
check_untyped_defs = true
warn_unused_ignores = true
ignore_missing_imports = true
mypy_path = {REPO}:{INFRA}

[mypy-pulumi_gcp.*]
follow_imports = skip

[mypy-{followed}]
follow_imports = normal
"""
    )
    return ["--config-file", str(config), "--cache-dir", str(folder / "cache"), "--no-error-summary"]


def check(args: list[str], *paths: Path) -> tuple[int, str]:
    stdout, stderr, status = api.run([*args, *map(str, paths)])
    return status, stdout + stderr


def test_the_program_passes_strict_type_checking(mypy_config: list[str]) -> None:
    assert used_gcp_modules()
    status, report = check(mypy_config, INFRA)
    assert status == 0, report


SNIPPET = """\
import pulumi
from pulumi_gcp import pubsub, serviceaccount

from omtx_infra.config import ServiceConfig

account = serviceaccount.Account("a", {account_id}="omtx-x")
pubsub.Subscription(
    "s",
    topic="t",
    dead_letter_policy=pubsub.SubscriptionDeadLetterPolicyArgs({dead_letter_topic}="d", max_delivery_attempts=5),
)
ServiceConfig({max_instances}=3)
"""
RIGHT = {"account_id": "account_id", "dead_letter_topic": "dead_letter_topic", "max_instances": "max_instances"}
WRONG = {"account_id": "acount_id", "dead_letter_topic": "dead_leter_topic", "max_instances": "max_instance"}


def test_a_misspelt_argument_fails_the_type_check(mypy_config: list[str], tmp_path: Path) -> None:
    right, wrong = tmp_path / "right.py", tmp_path / "wrong.py"
    right.write_text(SNIPPET.format(**RIGHT))
    wrong.write_text(SNIPPET.format(**WRONG))

    status, report = check(mypy_config, right)
    assert status == 0, report

    status, report = check(mypy_config, wrong)
    assert status == 1
    for line, name in ((6, "acount_id"), (10, "dead_leter_topic"), (12, "max_instance")):
        assert re.search(rf"wrong\.py:{line}: error: Unexpected keyword argument \"{name}\"", report), report
