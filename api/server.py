"""Serving the app with uvicorn: as the process (``python -m api``), or beside other work in
the same event loop (the demo's ``--serve``)."""

import asyncio
import signal
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

import uvicorn
from fastapi import FastAPI

from api.app import create_app
from api.services import Services, open_services
from api.settings import ApiSettings

AppFactory = Callable[[Services], FastAPI]
"""What is served over the services: the API alone (``create_app``), or the API with a front
end composed above it (the console's ``create_site``)."""


class QuietServer(uvicorn.Server):
    """uvicorn, without its signal handlers, which re-raise the signal once it has stopped (so
    the process would die of it instead of exiting 0): ``serve`` installs its own."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def server_for(services: Services, *, host: str, port: int,
               app_factory: AppFactory = create_app) -> QuietServer:
    return QuietServer(uvicorn.Config(app_factory(services), host=host, port=port,
                                      log_level="warning", lifespan="off",
                                      server_header=False, access_log=False,
                                      timeout_graceful_shutdown=5))


async def serve(settings: ApiSettings, app_factory: AppFactory = create_app) -> None:
    async with open_services(settings) as services:
        server = server_for(services, host=settings.host, port=settings.port,
                            app_factory=app_factory)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, lambda: setattr(server, "should_exit", True))
        print(f"caseflow api: serving on http://{settings.host}:{settings.port}/ "
              f"(docs at /docs)", flush=True)
        await server.serve()
        if not server.started:
            raise OSError(f"cannot serve on {settings.host}:{settings.port} (check the "
                          "settings CASEFLOW_API_HOST / CASEFLOW_API_PORT)")


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket already accepting connections on ``host:port`` (0: a free port): clients can
    connect before the server's first poll. OSError naming the settings when it is taken."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                         socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise OSError(f"cannot serve the API on {host}:{port}: {error.strerror or error} "
                      "(check the settings CASEFLOW_API_HOST / CASEFLOW_API_PORT)") from error
    sock.listen(128)
    return sock


@asynccontextmanager
async def serving_beside(settings: ApiSettings,
                         app_factory: AppFactory = create_app) -> AsyncIterator[str]:
    """The API serving in this event loop for as long as the block runs; yields its URL."""
    sock = listening_socket(settings.host, settings.port)
    try:
        async with open_services(settings) as services:
            host, port = sock.getsockname()[:2]
            server = server_for(services, host=host, port=port, app_factory=app_factory)
            task = asyncio.create_task(server.serve(sockets=[sock]))
            try:
                yield f"http://{host}:{port}"
            finally:
                server.should_exit = True
                await task
    finally:
        sock.close()
