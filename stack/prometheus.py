"""A throwaway Prometheus for the tests: Debian's ``prometheus`` package is installed when missing
(as root), and :class:`LocalPrometheus` runs it on a free loopback port, scraping the targets it
is given every second, with its config and TSDB in a temp dir removed on exit. ``promtool``
comes with it and checks the production config, rules and rule tests under ``deploy/``.

HTTP goes through ``urllib`` in a worker thread so the module adds no dependency."""

import asyncio
import json
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from stack.errors import StackError
from stack.ports import free_port
from stack.system_packages import ensure_packages


def find_prometheus() -> tuple[Path, Path] | None:
    """``prometheus`` and ``promtool`` from PATH (or Debian's /usr/bin), else None."""
    found: list[Path] = []
    for name in ("prometheus", "promtool"):
        path = shutil.which(name) or shutil.which(name, path="/usr/bin")
        if path is None:
            return None
        found.append(Path(path))
    return found[0], found[1]


def ensure_prometheus() -> tuple[Path, Path]:
    """The ``prometheus`` and ``promtool`` binaries; Debian's ``prometheus`` package is
    installed (``apt-get install -y --no-install-recommends prometheus``) when they are missing
    and the process runs as root, otherwise StackError says what to install. (On a host booted
    with systemd the package also starts its own service on :9090; nothing here uses it.)"""
    found = find_prometheus()
    if found:
        return found
    ensure_packages(["prometheus"])
    found = find_prometheus()
    if found is None:
        raise StackError(
            "Debian's prometheus package is installed but `prometheus`/`promtool` are not on "
            "PATH or in /usr/bin: put both on PATH"
        )
    return found


def promtool(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Runs ``promtool`` with ``args`` (installing it if needed); the caller reads the exit
    code and the output (stdout and stderr together)."""
    _, tool = ensure_prometheus()
    return subprocess.run(
        [str(tool), *(str(arg) for arg in args)],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _get_json(url: str, timeout: float) -> dict[str, Any]:
    """GETs ``url`` and parses Prometheus' JSON envelope, error responses (HTTP 400/422/503)
    included: their body names the error."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        body = error.read()
        if not body:
            raise
    parsed: dict[str, Any] = json.loads(body)
    return parsed


class LocalPrometheus:
    """``async with LocalPrometheus({"job": ["127.0.0.1:9464"]}) as prom:`` starts Prometheus
    scraping every target each second and returns once every target is up; ``await
    prom.query(promql)`` runs an instant query. ``rule_files`` are loaded and evaluated each
    second too."""

    def __init__(
        self,
        targets: Mapping[str, Sequence[str]],
        *,
        rule_files: Sequence[Path] = (),
        scrape_interval_seconds: int = 1,
        startup_timeout: float = 60.0,
    ) -> None:
        if not targets or any(not hosts for hosts in targets.values()):
            raise StackError("LocalPrometheus needs at least one job, each with a host:port")
        self._targets = {job: list(hosts) for job, hosts in targets.items()}
        self._rule_files = [Path(path).resolve() for path in rule_files]
        self._interval = f"{scrape_interval_seconds}s"
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._dir: Path | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        if self._dir is None:
            raise StackError("LocalPrometheus is not running: use it as `async with`")
        return self._dir / "prometheus.log"

    def config(self) -> dict[str, Any]:
        """The generated configuration (written as JSON, which Prometheus reads as YAML)."""
        return {
            "global": {"scrape_interval": self._interval, "evaluation_interval": self._interval,
                       "scrape_timeout": self._interval},
            "rule_files": [str(path) for path in self._rule_files],
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": hosts}]}
                for job, hosts in self._targets.items()
            ],
        }

    def _spawn(self, prometheus: Path) -> None:
        """Writes the config into a fresh temp dir and starts Prometheus on a free port."""
        self._dir = Path(tempfile.mkdtemp(prefix="caseflow-prometheus-"))
        config_file = self._dir / "prometheus.yml"
        config_file.write_text(json.dumps(self.config(), indent=2))
        self.port = free_port()
        with self.log_file.open("wb") as log:
            self._process = subprocess.Popen(
                [str(prometheus), f"--config.file={config_file}",
                 f"--storage.tsdb.path={self._dir / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )

    async def __aenter__(self) -> Self:
        prometheus, _ = await asyncio.to_thread(ensure_prometheus)
        try:
            await asyncio.to_thread(self._spawn, prometheus)
            await self._wait_until_scraped()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    def _log_tail(self) -> str:
        try:
            lines = self.log_file.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return lines[-1] if lines else "empty log"

    async def _wait_until_scraped(self) -> None:
        """Returns once every configured target reports ``up == 1``."""
        expected = {(job, host) for job, hosts in self._targets.items() for host in hosts}
        deadline = time.monotonic() + self._startup_timeout
        down: set[tuple[str, str]] = expected
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise StackError(
                    f"prometheus exited with code {self._process.returncode}: {self._log_tail()}"
                )
            try:
                series = await self.query("up == 1")
            except (OSError, ValueError, StackError):
                series = []  # not listening yet, or no scrape finished yet
            up = {(s["metric"].get("job", ""), s["metric"].get("instance", "")) for s in series}
            down = expected - up
            if not down:
                return
            await asyncio.sleep(0.25)
        missing = ", ".join(f"{job}={host}" for job, host in sorted(down))
        raise StackError(
            f"Prometheus on {self.url} did not scrape {missing} within "
            f"{self._startup_timeout:.0f} s (last log line: {self._log_tail()})"
        )

    async def _api(self, path: str, params: Mapping[str, str | Sequence[str]]) -> Any:
        if self._process is None:
            raise StackError("LocalPrometheus is not running: use it as `async with`")
        query = urllib.parse.urlencode(params, doseq=True)
        url = f"{self.url}{path}?{query}"
        reply = await asyncio.to_thread(_get_json, url, 30.0)
        if reply.get("status") != "success":
            raise StackError(
                f"Prometheus {path} failed for {dict(params)}: "
                f"{reply.get('errorType', '?')}: {reply.get('error', reply)}"
            )
        return reply.get("data")

    async def query(self, promql: str, *, at: float | None = None) -> list[dict[str, Any]]:
        """An instant query: the result's series (``metric`` and ``value``); a scalar or string
        result comes back as one series without labels. Raises StackError on an error status."""
        params = {"query": promql} | ({"time": f"{at:.3f}"} if at is not None else {})
        data = await self._api("/api/v1/query", params)
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        result: list[dict[str, Any]] = data["result"]
        return result

    async def query_range(
        self, promql: str, *, start: float, end: float, step_seconds: float
    ) -> list[dict[str, Any]]:
        """A range query: the result's series (``metric`` and ``values``)."""
        data = await self._api("/api/v1/query_range", {
            "query": promql, "start": f"{start:.3f}", "end": f"{end:.3f}",
            "step": f"{step_seconds:g}",
        })
        result: list[dict[str, Any]] = data["result"]
        return result

    async def label_values(self, label: str, match: str | None = None) -> list[str]:
        """The values of ``label``, optionally only on series matching selector ``match``."""
        params = {"match[]": [match]} if match else {}
        values: list[str] = await self._api(
            f"/api/v1/label/{urllib.parse.quote(label)}/values", params
        )
        return values

    async def rules(self) -> list[dict[str, Any]]:
        """The loaded rule groups, as ``/api/v1/rules`` reports them."""
        data = await self._api("/api/v1/rules", {})
        groups: list[dict[str, Any]] = data["groups"]
        return groups

    async def stop(self) -> None:
        """Stops Prometheus and removes its temp dir (idempotent)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                await asyncio.to_thread(process.wait, 15)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
