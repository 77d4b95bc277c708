"""The processes a chaos run owns and breaks: a PostgreSQL cluster, a file-backed Temporal dev
server and caseflow worker processes, all on loopback; each can be killed and started again."""

import asyncio
import os
import shutil
import signal
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path

from temporalio.client import Client

from eventstore.personal import MASTER_KEYS_SETTING
from runtime.converter import DATA_CONVERTER, PAYLOAD_KEYS_SETTING
from runtime.settings import STATE_DIR_SETTING
from stack import postgres
from stack.paths import REPO_ROOT
from stack.ports import free_port
from stack.temporal_cli import ensure_temporal_cli
from tests.paths import FAST_CONFIG

READY_WITHIN = 60.0


class PlatformError(Exception):
    """A process of the run did not start; the message says which and where its log is."""


async def poll(what: str, ready: Callable[[], Awaitable[bool]], log: Path | None = None) -> None:
    """Returns once ``ready()`` is true; PlatformError after READY_WITHIN seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_WITHIN
    while not await ready():
        if loop.time() > deadline:
            where = f" (log: {log})" if log else ""
            raise PlatformError(f"{what} was not ready within {READY_WITHIN:.0f} s{where}")
        await asyncio.sleep(0.1)


def _serves(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class Database:
    """A private PostgreSQL cluster in its own folder, stopped fast and started on demand."""

    def __init__(self, work: Path) -> None:
        self.data = work / "postgres"
        self.port = free_port()

    async def start(self) -> None:
        await asyncio.to_thread(postgres.init_cluster, self.data)
        await asyncio.to_thread(postgres.start_cluster, self.data, self.port)

    async def stop(self) -> None:
        await asyncio.to_thread(postgres.stop_cluster, self.data)

    def create(self, name: str) -> str:
        return postgres.create_database(self.port, name)


class TemporalServer:
    """``temporal server start-dev`` on a file, so a kill -9 and a start keep every workflow."""

    def __init__(self, work: Path) -> None:
        self.port = free_port()
        self.db_file = work / "temporal.db"
        self.log = work / "temporal.log"
        self._process: asyncio.subprocess.Process | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        cli = ensure_temporal_cli()
        args = [str(cli), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(self.port),
                "--headless", "--db-filename", str(self.db_file), "--log-level", "error",
                "--dynamic-config-value", "frontend.enableUpdateWorkflowExecution=true"]
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000"):
            args += ["--sqlite-pragma", pragma]
        with self.log.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(*args, stdout=log, stderr=log)

        async def answers() -> bool:
            try:
                await Client.connect(self.address, data_converter=DATA_CONVERTER)
            except Exception:  # not up yet: any connection error
                return False
            return True

        await poll("the Temporal dev server", answers, self.log)

    async def kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            await self._process.wait()
            self._process = None


_KEY_RING_SETTINGS = frozenset({
    PAYLOAD_KEYS_SETTING, f"{PAYLOAD_KEYS_SETTING}_FILE",
    MASTER_KEYS_SETTING, f"{MASTER_KEYS_SETTING}_FILE", STATE_DIR_SETTING,
})


class Workers:
    """``python worker.py`` processes with the fast test organisation."""

    def __init__(self, work: Path, *, temporal_address: str, database_url: str,
                 task_queue: str, webhook_url: str) -> None:
        self._work = work
        self._env = {
            # The driver's key rings (Temporal payloads, the store's personal fields) go along:
            # workers must read what the driver writes and the other way round.
            **{k: v for k, v in os.environ.items()
               if not k.startswith("CASEFLOW_") or k in _KEY_RING_SETTINGS},
            "CASEFLOW_TEMPORAL_ADDRESS": temporal_address,
            "CASEFLOW_DATABASE_URL": database_url,
            "CASEFLOW_TASK_QUEUE": task_queue,
            "CASEFLOW_CONFIG_DIR": str(FAST_CONFIG),
            "CASEFLOW_WEBHOOK_URL": webhook_url,
            "PYTHONUNBUFFERED": "1",
        }
        self._processes: dict[int, asyncio.subprocess.Process] = {}

    async def start(self, slot: int) -> None:
        metrics_port = free_port()
        env = {**self._env, "CASEFLOW_METRICS_PORT": str(metrics_port),
               "CASEFLOW_SDK_METRICS_PORT": str(free_port())}
        log_path = self._work / f"worker-{slot}.log"
        with log_path.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "worker.py", cwd=REPO_ROOT, env=env, stdout=log, stderr=log)
        self._processes[slot] = process

        async def serving() -> bool:
            if process.returncode is not None:
                raise PlatformError(f"worker {slot} exited with {process.returncode} "
                                    f"(log: {log_path})")
            return await asyncio.to_thread(_serves, f"http://127.0.0.1:{metrics_port}/metrics")

        await poll(f"worker {slot}", serving, log_path)

    async def kill(self, slot: int) -> None:
        process = self._processes.pop(slot)
        process.kill()
        await process.wait()

    async def stop_all(self) -> None:
        for process in self._processes.values():
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in self._processes.values():
            try:
                await asyncio.wait_for(process.wait(), 60)
            except TimeoutError:
                process.kill()
                await process.wait()
        self._processes.clear()


def work_dir() -> Path:
    """A folder the postgres user can use (the cluster lives in it)."""
    work = Path(tempfile.mkdtemp(prefix="caseflow-chaos-"))
    work.chmod(0o755)
    return work


def remove(work: Path) -> None:
    shutil.rmtree(work, ignore_errors=True)
