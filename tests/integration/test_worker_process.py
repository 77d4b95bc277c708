"""The real worker process (``python worker.py``) on the session's Temporal dev server and a
fresh PostgreSQL store: it serves /metrics and the SDK's metrics, works requests submitted to
its task queue, and stops cleanly on SIGTERM; a bad setting is one line on stderr naming it and a
non-zero exit. Also the agents' CLI on an unknown request, and ``python -m stack install`` run
again."""

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from temporalio.testing import WorkflowEnvironment

from domain.catalog import Catalog
from eventstore.engine import create_engine
from eventstore.personal import MASTER_KEYS_SETTING
from runtime.converter import PAYLOAD_KEYS_SETTING
from schema.tables import events
from stack.paths import REPO_ROOT
from stack.ports import free_port
from tests.integration.requests import billing_dispute, temporal_address
from tests.paths import FAST_CONFIG
from workflows import client as calls

STOP_WITHIN = 15.0
FAIL_WITHIN = 60.0


@dataclass(frozen=True)
class WorkerSettings:
    temporal_address: str
    database_url: str
    task_queue: str
    metrics_port: int
    sdk_metrics_port: int
    config_dir: str = str(FAST_CONFIG)

    def env(self, **overrides: str) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("CASEFLOW_")}
        return {
            **inherited,
            "CASEFLOW_TEMPORAL_ADDRESS": self.temporal_address,
            "CASEFLOW_DATABASE_URL": self.database_url,
            "CASEFLOW_TASK_QUEUE": self.task_queue,
            "CASEFLOW_METRICS_PORT": str(self.metrics_port),
            "CASEFLOW_SDK_METRICS_PORT": str(self.sdk_metrics_port),
            "CASEFLOW_CONFIG_DIR": self.config_dir,
            PAYLOAD_KEYS_SETTING: os.environ[PAYLOAD_KEYS_SETTING],
            MASTER_KEYS_SETTING: os.environ[MASTER_KEYS_SETTING],
            "PYTHONUNBUFFERED": "1",
            **overrides,
        }


@pytest.fixture
def settings(temporal_env: WorkflowEnvironment, pg_store_url: str) -> WorkerSettings:
    return WorkerSettings(
        temporal_address=temporal_address(temporal_env), database_url=pg_store_url,
        task_queue=f"caseflow-process-{uuid.uuid4().hex[:8]}", metrics_port=free_port(),
        sdk_metrics_port=free_port())


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


async def run(args: list[str], env: dict[str, str], *, within: float) -> Finished:
    """Runs ``python *args`` in the repository root to its end (killed after ``within`` s)."""
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable, *args, cwd=REPO_ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(process.communicate(), within)
    except TimeoutError:
        process.kill()
        out, err = await process.communicate()
        raise AssertionError(f"python {' '.join(args)} still ran after {within} s; stderr:\n"
                             f"{err.decode(errors='replace')}") from None
    return Finished(await process.wait(), out.decode(errors="replace"),
                    err.decode(errors="replace"), time.monotonic() - started)


async def http_get(url: str) -> str:
    def fetch() -> str:
        with urllib.request.urlopen(url, timeout=5) as response:
            body: bytes = response.read()
            return body.decode()
    return await asyncio.to_thread(fetch)


@dataclass
class WorkerProcess:
    process: asyncio.subprocess.Process
    stderr_file: Path

    def stderr(self) -> str:
        return self.stderr_file.read_text(errors="replace")

    async def poll(self, url: str, contains: str, *, within: float = 30.0) -> str:
        """The body at ``url`` once it contains ``contains``; fails early if the worker died."""
        deadline = time.monotonic() + within
        last = "nothing yet"
        while time.monotonic() < deadline:
            if self.process.returncode is not None:
                raise AssertionError(f"the worker exited ({self.process.returncode}) while "
                                     f"waiting for {url}:\n{self.stderr()}")
            try:
                body = await http_get(url)
            except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
                last = repr(error)
            else:
                if contains in body:
                    return body
                last = f"{len(body)} bytes without {contains!r}"
            await asyncio.sleep(0.2)
        raise AssertionError(f"{url} did not serve {contains!r} in {within} s ({last}); "
                             f"worker stderr:\n{self.stderr()}")


@pytest.fixture
async def worker_process(settings: WorkerSettings,
                         tmp_path: Path) -> AsyncIterator[WorkerProcess]:
    stderr_file = tmp_path / "worker.stderr"
    with stderr_file.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "worker.py", cwd=REPO_ROOT, env=settings.env(),
            stdout=asyncio.subprocess.DEVNULL, stderr=stderr)
    try:
        yield WorkerProcess(process, stderr_file)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_the_worker_serves_works_requests_and_stops_on_sigterm(
        worker_process: WorkerProcess, settings: WorkerSettings,
        temporal_env: WorkflowEnvironment, fast_catalog: Catalog) -> None:
    worker = worker_process
    metrics_url = f"http://127.0.0.1:{settings.metrics_port}/metrics"
    await worker.poll(metrics_url, "caseflow_requests_submitted")

    submission = billing_dispute(fast_catalog, subject="十月发票金额与合同不符")
    submitted = await asyncio.wait_for(calls.submit_request(
        temporal_env.client, fast_catalog, submission, task_queue=settings.task_queue), 30)
    assert submitted.view.owner_id in {
        m.id for m in fast_catalog.departments["customer_service"].members}
    assert submitted.view.steps[0].step_key == "triage.1"

    counted = ('caseflow_requests_submitted_total{channel="phone",request_type="billing_dispute",'
               'tier="key"} 1.0')
    await worker.poll(metrics_url, counted)
    sdk = await worker.poll(f"http://127.0.0.1:{settings.sdk_metrics_port}/metrics",
                            "temporal_")
    assert any(line.startswith("temporal_") for line in sdk.splitlines()), sdk[:500]

    stopping = time.monotonic()
    worker.process.send_signal(signal.SIGTERM)
    try:
        returncode = await asyncio.wait_for(worker.process.wait(), STOP_WITHIN)
    except TimeoutError:
        raise AssertionError(f"the worker did not stop within {STOP_WITHIN} s of SIGTERM:\n"
                             f"{worker.stderr()}") from None
    stderr = worker.stderr()
    assert returncode == 0, stderr
    assert time.monotonic() - stopping < STOP_WITHIN
    assert "Traceback" not in stderr
    assert "stopping: finishing running tasks" in stderr


@contextmanager
def listening_port() -> Iterator[int]:
    """A port something already listens on (on every interface, as the worker binds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("0.0.0.0", 0))
        sock.listen()
        yield sock.getsockname()[1]


def broken_config(tmp_path: Path) -> Path:
    """The fast configuration with an SLA policy whose reopen window is not a duration."""
    directory = tmp_path / "config"
    (directory / "processes").mkdir(parents=True)
    for source in FAST_CONFIG.rglob("*.toml"):
        (directory / source.relative_to(FAST_CONFIG)).write_text(source.read_text())
    sla = directory / "sla.toml"
    sla.write_text(sla.read_text().replace('reopen_window = "20s"', 'reopen_window = "七天"'))
    return directory


BAD_SETTINGS = ["unreachable-temporal", "malformed-database-url", "unreachable-database",
                "metrics-port-in-use", "sdk-metrics-port-in-use", "missing-config-dir",
                "invalid-config", "metrics-port-not-a-number", "unreadable-tls-ca",
                "invalid-payload-keys", "negative-graceful-shutdown",
                "workflow-task-slots-not-a-number", "cache-smaller-than-task-slots"]


@pytest.mark.parametrize("problem", BAD_SETTINGS)
async def test_a_bad_setting_is_one_line_naming_it(
        settings: WorkerSettings, tmp_path: Path, problem: str) -> None:
    nowhere = free_port()
    with listening_port() as busy:
        overrides, fragments = {
            "unreachable-temporal": (
                {"CASEFLOW_TEMPORAL_ADDRESS": f"127.0.0.1:{nowhere}"},
                [f"cannot reach Temporal at 127.0.0.1:{nowhere}", "CASEFLOW_TEMPORAL_ADDRESS"]),
            "malformed-database-url": (
                {"CASEFLOW_DATABASE_URL": "notadb://x"},
                ["event store notadb://x is unavailable", "unsupported driver 'notadb'",
                 "CASEFLOW_DATABASE_URL"]),
            "unreachable-database": (
                {"CASEFLOW_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{nowhere}/x"},
                [f"event store postgresql+asyncpg://postgres@127.0.0.1:{nowhere}/x is "
                 "unavailable", "Connect call failed", "CASEFLOW_DATABASE_URL"]),
            "metrics-port-in-use": (
                {"CASEFLOW_METRICS_PORT": str(busy)},
                [f"cannot serve /metrics on port {busy}", "Address already in use",
                 "CASEFLOW_METRICS_PORT"]),
            "sdk-metrics-port-in-use": (
                {"CASEFLOW_SDK_METRICS_PORT": str(busy)},
                [f"cannot serve SDK metrics on port {busy}", "Address already in use",
                 "CASEFLOW_SDK_METRICS_PORT"]),
            "missing-config-dir": (
                {"CASEFLOW_CONFIG_DIR": str(tmp_path / "nowhere")},
                [f"{tmp_path / 'nowhere'}: configuration directory not found",
                 "CASEFLOW_CONFIG_DIR"]),
            "invalid-config": (
                {"CASEFLOW_CONFIG_DIR": str(broken_config(tmp_path))},
                ["sla.toml", "reopen_window", "CASEFLOW_CONFIG_DIR"]),
            "metrics-port-not-a-number": (
                {"CASEFLOW_METRICS_PORT": "九四六四"},
                ["CASEFLOW_METRICS_PORT='九四六四' is not a TCP port"]),
            "unreadable-tls-ca": (
                {"CASEFLOW_TEMPORAL_TLS_CA": str(tmp_path / "missing-ca.crt")},
                [f"CASEFLOW_TEMPORAL_TLS_CA={tmp_path / 'missing-ca.crt'}: cannot read"]),
            "invalid-payload-keys": (
                {PAYLOAD_KEYS_SETTING: '{"current": "k1", "keys": {}}'},
                ["CASEFLOW_PAYLOAD_KEYS: the current key 'k1' is not among the ring's keys"]),
            "negative-graceful-shutdown": (
                {"CASEFLOW_GRACEFUL_SHUTDOWN_SECONDS": "-5"},
                ["CASEFLOW_GRACEFUL_SHUTDOWN_SECONDS='-5' is not a number of seconds"]),
            "workflow-task-slots-not-a-number": (
                {"CASEFLOW_MAX_CONCURRENT_WORKFLOW_TASKS": "many"},
                ["CASEFLOW_MAX_CONCURRENT_WORKFLOW_TASKS='many' is not a whole number "
                 "(2-10000)"]),
            "cache-smaller-than-task-slots": (
                {"CASEFLOW_MAX_CACHED_WORKFLOWS": "10"},
                ["CASEFLOW_MAX_CACHED_WORKFLOWS=10 is below "
                 "CASEFLOW_MAX_CONCURRENT_WORKFLOW_TASKS=100"]),
        }[problem]
        finished = await run(["worker.py"], settings.env(**overrides), within=FAIL_WITHIN)
    lines = finished.stderr.strip().splitlines()
    assert finished.returncode != 0, finished
    assert "Traceback" not in finished.stderr, finished.stderr
    assert len(lines) == 1, f"one line on stderr, got:\n{finished.stderr}"
    assert lines[0].startswith("caseflow worker: "), lines[0]
    missing = [fragment for fragment in fragments if fragment not in lines[0]]
    assert not missing, f"{lines[0]!r} lacks {missing}"


async def test_status_of_an_unknown_request_is_refused(settings: WorkerSettings) -> None:
    unknown = str(uuid.uuid4())
    finished = await run(["starter.py", "status", unknown], settings.env(), within=FAIL_WITHIN)
    assert finished.returncode == 2, finished
    assert finished.stderr.strip() == f"caseflow: unknown request {unknown}", finished.stderr
    assert finished.stdout == ""


async def test_stack_install_again_is_a_fast_no_op() -> None:
    env = dict(os.environ)
    first = await run(["-m", "stack", "install"], env, within=900)
    assert first.returncode == 0, first
    again = await run(["-m", "stack", "install"], env, within=60)
    assert again.returncode == 0, again
    cli = again.stdout.strip().splitlines()
    assert len(cli) == 1, again.stdout
    assert cli[0].startswith("temporal CLI: "), again.stdout
    assert await asyncio.to_thread(Path(cli[0].removeprefix("temporal CLI: ")).is_file)
    assert cli == first.stdout.strip().splitlines()[-1:]
    assert again.stderr == ""
    assert again.seconds < 10, f"a second install took {again.seconds:.1f} s"


async def test_the_worker_logs_and_metrics_hold_no_personal_data_and_no_key(
        worker_process: WorkerProcess, settings: WorkerSettings,
        temporal_env: WorkflowEnvironment, fast_catalog: Catalog) -> None:
    """A request that breaches and escalates (the fast organisation's SLA is seconds long):
    the worker's whole log and its metrics (labels included) name neither the customer nor
    their text, nor any key used."""
    worker = worker_process
    await worker.poll(f"http://127.0.0.1:{settings.metrics_port}/metrics",
                      "caseflow_requests_submitted")
    mark = uuid.uuid4().hex[:6]
    secrets = {"name": f"厦门鹭岛物流有限公司{mark}", "subject": f"运单{mark}丢件赔偿",
               "description": f"联系人陈晨{mark}，手机13912345678"}
    submission = billing_dispute(fast_catalog, subject=secrets["subject"])
    submission = submission.model_copy(update={
        "description": secrets["description"],
        "customer": submission.customer.model_copy(update={"name": secrets["name"]})})
    submitted = await asyncio.wait_for(calls.submit_request(
        temporal_env.client, fast_catalog, submission, task_queue=settings.task_queue), 30)
    deadline = time.monotonic() + FAIL_WITHIN
    while f"of request {submitted.request_id} is breached" not in worker.stderr():
        assert time.monotonic() < deadline, f"no escalation was logged:\n{worker.stderr()}"
        await asyncio.sleep(0.2)
    metrics = (await http_get(f"http://127.0.0.1:{settings.metrics_port}/metrics")
               + await http_get(f"http://127.0.0.1:{settings.sdk_metrics_port}/metrics"))
    worker.process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(worker.process.wait(), STOP_WITHIN)

    logged = worker.stderr() + metrics
    for ring_setting in (PAYLOAD_KEYS_SETTING, MASTER_KEYS_SETTING):
        ring = json.loads(os.environ[ring_setting])
        secrets.update({f"{ring_setting} {key_id}": key for key_id, key in ring["keys"].items()})
    leaked = [what for what, text in secrets.items() if text in logged]
    assert not leaked, f"the worker's log holds {leaked}"


async def _until(what: str, check: Callable[[], Awaitable[bool]], *,
                 within: float = FAIL_WITHIN) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def test_sigterm_lets_a_running_append_finish(
        worker_process: WorkerProcess, settings: WorkerSettings,
        temporal_env: WorkflowEnvironment, fast_catalog: Catalog) -> None:
    """The first append of a request is held by a lock on the log; SIGTERM arrives while it
    waits; once the lock goes the append completes (its events are in the log) and the worker
    exits cleanly. Without a graceful shutdown timeout the SDK cancels it at once."""
    worker = worker_process
    await worker.poll(f"http://127.0.0.1:{settings.metrics_port}/metrics",
                      "caseflow_requests_submitted")
    store = create_engine(settings.database_url)
    submitting: asyncio.Task[object] | None = None
    try:
        async with store.connect() as holder:
            await holder.execute(text("BEGIN"))
            await holder.execute(text("LOCK TABLE events IN EXCLUSIVE MODE"))
            submitting = asyncio.create_task(calls.submit_request(
                temporal_env.client, fast_catalog, billing_dispute(fast_catalog),
                task_queue=settings.task_queue))

            async def append_waits() -> bool:
                async with store.connect() as conn:
                    waiting = await conn.scalar(text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND query LIKE 'INSERT INTO events%'"))
                return bool(waiting)

            await _until("the append to wait on the lock", append_waits)
            worker.process.send_signal(signal.SIGTERM)

            async def stopping() -> bool:
                return "stopping: finishing running tasks" in worker.stderr()

            await _until("the worker to begin stopping", stopping, within=STOP_WITHIN)
            await holder.execute(text("COMMIT"))
        returncode = await asyncio.wait_for(worker.process.wait(), STOP_WITHIN)
        assert returncode == 0, worker.stderr()
        async with store.connect() as conn:
            appended = await conn.scalar(select(func.count()).select_from(events))
        assert appended, f"the running append was cancelled:\n{worker.stderr()}"
    finally:
        if submitting is not None:
            submitting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await submitting
        await store.dispose()
