"""A private PostgreSQL cluster for the demo and the tests, used when no
``CASEFLOW_DATABASE_URL`` is given: Debian's packages are installed when missing (as root) and
the cluster lives in a git-ignored folder on a free loopback port."""

import glob
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from stack.errors import StackError
from stack.paths import STATE_DIR
from stack.ports import free_port, port_in_use
from stack.system_packages import ensure_packages

SUPERUSER = "postgres"


def _is_root() -> bool:
    return os.geteuid() == 0


def _pg_bin_dir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def install_postgres() -> Path:
    """The PostgreSQL server binaries, installed from Debian's packages when missing."""
    ensure_packages(["postgresql"])
    found = _pg_bin_dir()
    if found is None:
        raise StackError("PostgreSQL server binaries not found (initdb): install Debian's "
                         "postgresql or set CASEFLOW_DATABASE_URL to a reachable database")
    return found


def _cluster_dir() -> Path:
    """The cluster folder; as root it must be reachable by the postgres user, so a checkout
    under a private home falls back to a folder under the system temp dir."""
    preferred = STATE_DIR / "postgres"
    if not _is_root():
        return preferred
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    probe = subprocess.run(["runuser", "-u", SUPERUSER, "--", "test", "-x", str(STATE_DIR)])
    if probe.returncode == 0:
        return preferred
    digest = hashlib.sha1(str(STATE_DIR).encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"caseflow-postgres-{digest}"


def _run_as_owner(args: list[str]) -> subprocess.CompletedProcess[str]:
    command = ["runuser", "-u", SUPERUSER, "--", *args] if _is_root() else args
    return subprocess.run(command, capture_output=True, text=True)


def _check(result: subprocess.CompletedProcess[str], what: str) -> None:
    if result.returncode != 0:
        tail = " ".join((result.stderr or result.stdout).strip().splitlines()[-2:])
        raise StackError(f"{what} failed: {tail}")


def _wait_accepting(bin_dir: Path, port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready = subprocess.run(
            [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-q"]
        )
        if ready.returncode == 0:
            return
        time.sleep(0.2)
    raise StackError(f"PostgreSQL on 127.0.0.1:{port} did not accept connections in 30 s")


def init_cluster(data: Path) -> Path:
    """Creates a cluster in ``data`` unless one is there; returns the server binaries."""
    bin_dir = install_postgres()
    if not (data / "PG_VERSION").is_file():
        data.mkdir(parents=True, exist_ok=True)
        if _is_root():
            shutil.chown(data, SUPERUSER, SUPERUSER)
        data.chmod(0o700)
        _check(
            _run_as_owner([str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER,
                           "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]),
            "initdb",
        )
    return bin_dir


def start_cluster(data: Path, port: int) -> None:
    """Starts the cluster in ``data`` on 127.0.0.1:``port`` and waits until it accepts."""
    bin_dir = install_postgres()
    _check(
        _run_as_owner([
            str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(data / "server.log"), "-w",
            "-o", f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off "
                  "-c max_connections=200",
            "start",
        ]),
        f"starting PostgreSQL (log: {data / 'server.log'})",
    )
    _wait_accepting(bin_dir, port)


def stop_cluster(data: Path) -> None:
    """A fast shutdown of the cluster in ``data``: sessions are disconnected at once."""
    bin_dir = install_postgres()
    _check(_run_as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w",
                          "stop"]), "stopping PostgreSQL")


def ensure_cluster() -> int:
    """Starts (or finds running) the private cluster and returns its port."""
    data = _cluster_dir()
    bin_dir = init_cluster(data)
    port_file = data / "caseflow.port"
    if port_file.is_file():
        port = int(port_file.read_text().strip())
        status = _run_as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "status"])
        if status.returncode == 0 and port_in_use(port):
            return port
    port = free_port()
    start_cluster(data, port)
    _run_as_owner(["sh", "-c", f"echo {port} > {port_file}"])
    return port


def create_database(port: int, name: str) -> str:
    """Creates database ``name`` in the private cluster if missing; returns its asyncpg URL."""
    bin_dir = install_postgres()
    psql = [str(bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", SUPERUSER, "-tA"]
    exists = subprocess.run(
        [*psql, "-c", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
        capture_output=True, text=True,
    )
    _check(exists, f"looking up database {name}")
    if exists.stdout.strip() != "1":
        _check(subprocess.run([*psql, "-c", f'CREATE DATABASE "{name}"'],
                              capture_output=True, text=True), f"CREATE DATABASE {name}")
    return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{port}/{name}"


def drop_database(port: int, name: str) -> None:
    """Drops database ``name`` from the private cluster (test clean-up)."""
    bin_dir = install_postgres()
    subprocess.run(
        [str(bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", SUPERUSER, "-tA",
         "-c", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'],
        capture_output=True, text=True,
    )
