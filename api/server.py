"""Serving the app with uvicorn (tests pass ``sockets=`` to ``server.serve`` instead)."""

import asyncio
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from api.app import create_app
from api.services import Services, open_services
from api.settings import ApiSettings


class QuietServer(uvicorn.Server):
    """uvicorn, without its signal handlers, which re-raise the signal once it has stopped (so
    the process would die of it instead of exiting 0): ``serve`` installs its own."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def server_for(services: Services, *, host: str, port: int) -> QuietServer:
    return QuietServer(uvicorn.Config(create_app(services), host=host, port=port,
                                      log_level="warning", lifespan="off",
                                      server_header=False, access_log=False,
                                      timeout_graceful_shutdown=5))


async def serve(settings: ApiSettings) -> None:
    async with open_services(settings) as services:
        server = server_for(services, host=settings.host, port=settings.port)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, lambda: setattr(server, "should_exit", True))
        print(f"caseflow api: serving on http://{settings.host}:{settings.port}/ "
              f"(docs at /docs)", flush=True)
        await server.serve()
        if not server.started:
            raise OSError(f"cannot serve on {settings.host}:{settings.port} (check the "
                          "settings CASEFLOW_API_HOST / CASEFLOW_API_PORT)")
