"""The codec server: the Temporal Web UI (or ``temporal --codec-endpoint``) sends it sealed
payloads and an authorised operator sees them decoded. The SDK's documented shape: ``POST
/decode`` and ``POST /encode`` take and return ``{"payloads": [...]}`` in protobuf JSON.

    python -m runtime.codec_server [--address HOST:PORT] [--allow-origin URL]

Bound to loopback by default (``CASEFLOW_CODEC_SERVER_ADDRESS``, default 127.0.0.1:8089).
Every request must carry ``Authorization: Bearer <token>`` with the token from
``CASEFLOW_CODEC_SERVER_TOKEN`` or the file ``CASEFLOW_CODEC_SERVER_TOKEN_FILE``; there is no
anonymous mode. ``CASEFLOW_CODEC_SERVER_ORIGIN`` (e.g. the Web UI's http://localhost:8233) is the
one browser origin allowed by CORS."""

import argparse
import hmac
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from privacy.keys import KeyRingError
from runtime.converter import EncryptionCodec, process_key_ring
from runtime.settings import parse_port

ADDRESS_SETTING = "CASEFLOW_CODEC_SERVER_ADDRESS"
TOKEN_SETTING = "CASEFLOW_CODEC_SERVER_TOKEN"
ORIGIN_SETTING = "CASEFLOW_CODEC_SERVER_ORIGIN"
DEFAULT_ADDRESS = "127.0.0.1:8089"
MAX_BODY_BYTES = 8 * 1024 * 1024
_MIN_TOKEN_CHARS = 24

log = logging.getLogger("caseflow.codec_server")


class CodecServerSettingError(ValueError):
    """A setting the codec server cannot start with; the message names it."""


@dataclass(frozen=True)
class CodecServerSettings:
    host: str
    port: int
    token: str
    allow_origin: str | None = None


def settings_from(env: Mapping[str, str], *, address: str | None = None,
                  allow_origin: str | None = None) -> CodecServerSettings:
    address = address or env.get(ADDRESS_SETTING) or DEFAULT_ADDRESS
    host, _, port = address.rpartition(":")
    if not host:
        raise CodecServerSettingError(f"{ADDRESS_SETTING}={address!r} is not HOST:PORT")
    token = env.get(TOKEN_SETTING, "")
    if not token and env.get(f"{TOKEN_SETTING}_FILE"):
        try:
            token = Path(env[f"{TOKEN_SETTING}_FILE"]).read_text().strip()
        except OSError as error:
            raise CodecServerSettingError(f"{TOKEN_SETTING}_FILE: cannot read "
                                          f"({error.strerror or error})") from None
    if len(token) < _MIN_TOKEN_CHARS:
        raise CodecServerSettingError(
            f"{TOKEN_SETTING} (or {TOKEN_SETTING}_FILE) must hold a token of at least "
            f"{_MIN_TOKEN_CHARS} characters: the codec server shows customers' data")
    return CodecServerSettings(host=host.strip("[]"), port=parse_port(port, ADDRESS_SETTING),
                               token=token,
                               allow_origin=allow_origin or env.get(ORIGIN_SETTING) or None)


class CodecServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, settings: CodecServerSettings, codec: EncryptionCodec) -> None:
        self.settings = settings
        self.codec = codec
        super().__init__((settings.host, settings.port), _CodecHandler)


class _CodecHandler(BaseHTTPRequestHandler):
    server: CodecServer

    def do_OPTIONS(self) -> None:
        # CORS preflight: the browser sends no credentials here.
        self._reply(HTTPStatus.NO_CONTENT, b"")

    def do_POST(self) -> None:
        if self.path.split("?")[0] not in ("/encode", "/decode"):
            self._reply(HTTPStatus.NOT_FOUND, b"only POST /encode and POST /decode\n")
            return
        if not self._authorised():
            self._reply(HTTPStatus.UNAUTHORIZED, b"missing or wrong bearer token\n")
            return
        declared = self.headers.get("Content-Length") or "0"
        if not declared.isdigit():
            self._reply(HTTPStatus.LENGTH_REQUIRED, b"a numeric Content-Length is required\n")
            return
        length = int(declared)
        if length > MAX_BODY_BYTES:
            self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                        f"body over {MAX_BODY_BYTES} bytes\n".encode())
            return
        try:
            payloads = json_format.Parse(self.rfile.read(length), Payloads())
        except (json_format.ParseError, UnicodeDecodeError):
            self._reply(HTTPStatus.BAD_REQUEST, b'expected {"payloads": [...]} (protobuf JSON)\n')
            return
        transform = self.server.codec.seal if self.path.startswith("/encode") \
            else self.server.codec.open
        try:
            result = Payloads(payloads=[transform(payload) for payload in payloads.payloads])
        except KeyRingError as error:
            self._reply(HTTPStatus.BAD_REQUEST, f"{error}\n".encode())
            return
        self._reply(HTTPStatus.OK, json_format.MessageToJson(result).encode(),
                    content_type="application/json")

    def _authorised(self) -> bool:
        given = self.headers.get("Authorization", "")
        expected = f"Bearer {self.server.settings.token}"
        return hmac.compare_digest(given.encode(), expected.encode())

    def _reply(self, status: HTTPStatus, body: bytes, *,
               content_type: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        origin = self.server.settings.allow_origin
        if origin:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
            self.send_header("Access-Control-Allow-Headers",
                             "Authorization, Content-Type, X-Namespace")
            self.send_header("Access-Control-Allow-Credentials", "true")
            self.send_header("Vary", "Origin")
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        # The request line and status only: never a body or a header.
        log.info("%s %s", self.address_string(), format % args)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    parser = argparse.ArgumentParser(description="caseflow codec server for the Temporal Web UI")
    parser.add_argument("--address", help=f"HOST:PORT (default {DEFAULT_ADDRESS})")
    parser.add_argument("--allow-origin", help="the Web UI's origin, allowed by CORS")
    args = parser.parse_args(argv)
    try:
        settings = settings_from(os.environ, address=args.address, allow_origin=args.allow_origin)
        server = CodecServer(settings, EncryptionCodec(process_key_ring()))
    except (ValueError, OSError) as error:
        print(f"caseflow codec server: {error}", file=sys.stderr)
        return 2
    log.info("codec server on %s:%d", settings.host, settings.port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
