"""The API process and its helpers.

    python -m api                  serve on CASEFLOW_API_HOST:CASEFLOW_API_PORT
    python -m api token wang.fang  a development token for a roster person (development mode)
    python -m api key              a new integration API key and the hash for the keys file

A bad setting, an unreachable Temporal or store, or an invalid configuration is one line on
stderr and exit status 2."""

import argparse
import asyncio
import logging
import sys

from api.api_keys import new_key
from api.app import create_app
from api.server import AppFactory, serve
from api.services import dev_issuer, roster_of
from api.settings import ApiSettings, api_settings_from_env
from catalog.loader import load_catalog_around
from catalog.problems import ConfigError
from eventstore.errors import StoreUnavailable
from runtime.connection import TemporalUnavailable
from runtime.exit import exit_now


def _token(settings: ApiSettings, person_id: str) -> str:
    catalog = load_catalog_around(settings.base.config_dir)
    if person_id not in roster_of(catalog):
        raise ValueError(f"{person_id!r} is not a person on any roster in "
                         f"{settings.base.config_dir}")
    return dev_issuer(settings).issue(person_id, claim=settings.person_claim)


def main(argv: list[str] | None = None, *, app_factory: AppFactory = create_app) -> int:
    """``app_factory``: what is served (``python -m console`` serves the console too)."""
    parser = argparse.ArgumentParser(prog="python -m api", description="caseflow HTTP API")
    sub = parser.add_subparsers(dest="command")
    token = sub.add_parser("token", help="print a development token for a roster person")
    token.add_argument("person_id")
    sub.add_parser("key", help="print a new API key and its SHA-256 for the keys file")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = api_settings_from_env()
        if args.command == "token":
            print(_token(settings, args.person_id))
        elif args.command == "key":
            key, digest = new_key()
            print(f"key:        {key}\nkey_sha256: {digest}")
        else:
            asyncio.run(serve(settings, app_factory))
    except (TemporalUnavailable, StoreUnavailable, ValueError, OSError) as error:
        print(f"caseflow api: {error}", file=sys.stderr)
        return 2
    except ConfigError as error:
        problems = "; ".join(str(problem) for problem in error.problems)
        print(f"caseflow api: invalid configuration: {problems} (check the setting "
              "CASEFLOW_CONFIG_DIR)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    exit_now(main())
