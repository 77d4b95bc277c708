"""Starts the Temporal dev server through the SDK's own test environment, with the CLI found or
built by :mod:`stack.temporal_cli`, so nothing is downloaded at run time."""

from datetime import timedelta
from pathlib import Path

from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from stack.errors import StackError
from stack.ports import free_port, port_in_use
from stack.temporal_cli import ensure_temporal_cli

# SQLite in WAL mode keeps the file-backed dev server fast; a restart keeps every workflow
# and timer because all of it lives in that file.
_SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000")


async def start_dev_server(
    *,
    data_converter: DataConverter,
    namespace: str = "default",
    port: int | None = None,
    db_file: Path | None = None,
    ui: bool = False,
    dynamic_config: dict[str, str] | None = None,
) -> WorkflowEnvironment:
    """A running dev server on 127.0.0.1 and a client connected to it.

    ``port`` None picks a free port; ``db_file`` None keeps the server in memory;
    ``dynamic_config`` maps server dynamic-config keys to JSON values.
    """
    if port is not None and port_in_use(port):
        raise StackError(
            f"port {port} is already in use: stop what listens there or set "
            "CASEFLOW_TEMPORAL_PORT to a free port "
            "(or CASEFLOW_TEMPORAL_ADDRESS to use the server there)"
        )
    cli = ensure_temporal_cli()
    extra_args: list[str] = []
    for key, value in (dynamic_config or {}).items():
        extra_args += ["--dynamic-config-value", f"{key}={value}"]
    if db_file is not None:
        db_file.parent.mkdir(parents=True, exist_ok=True)
        for pragma in _SQLITE_PRAGMAS:
            extra_args += ["--sqlite-pragma", pragma]
    try:
        return await WorkflowEnvironment.start_local(
            namespace=namespace,
            data_converter=data_converter,
            port=port if port is not None else free_port(),
            ui=ui,
            dev_server_existing_path=str(cli),
            dev_server_database_filename=str(db_file) if db_file else None,
            dev_server_extra_args=extra_args,
            dev_server_startup_timeout=timedelta(seconds=60),
        )
    except Exception as error:
        raise StackError(f"the Temporal dev server ({cli}) did not start: {error}") from error
