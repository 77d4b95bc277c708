"""The agents' tool: submit a customer request, act on it, and see its status and timeline.

    python starter.py submit --key K --customer-id C --customer-name 名称 --type billing_dispute \
        --priority P2 --channel phone --subject 主题 --agent wang.fang
    python starter.py status REQUEST_ID
    python starter.py timeline REQUEST_ID
    python starter.py act claim REQUEST_ID --actor li.lei [--step triage.1]
    python starter.py act complete_step REQUEST_ID --actor li.lei --step triage.1

Every refusal (unknown type, a person who may not act, an invalid transition, bad input) is
one line on stderr and exit status 2; nothing is written. When no answer comes within --wait
seconds (Temporal unreachable, no worker running) it says what is known, with exit status 3."""

import argparse
import asyncio
import json
import sys
from dataclasses import replace
from datetime import UTC, datetime
from typing import NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel

from catalog.loader import load_catalog_around
from catalog.problems import ConfigError
from domain import commands as cmd
from domain.authorization import RefusalKind
from domain.request import RequestSubmission
from domain.validation import shorten
from eventstore.engine import create_engine
from eventstore.errors import StoreUnavailable
from eventstore.timeline import UnknownRequest, format_timeline, request_timeline
from privacy.keys import KeyRingError
from runtime.connection import TemporalUnavailable, connect
from runtime.exit import OUTCOME_UNKNOWN, exit_now, one_line, run_main
from runtime.settings import Settings, from_env, parse_seconds
from runtime.transport import TransportSettingError
from workflows.client import ActionRefused, OutcomeUnknown, act, request_status, submit_request
from workflows.messages import read_at

ACTIONS = cmd.ACTIONS


# --- command line -----------------------------------------------------------------------------

def _print(model: BaseModel) -> None:
    print(json.dumps(model.model_dump(mode="json"), ensure_ascii=False, indent=2))


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (not the usage block) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"caseflow: invalid arguments: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(description="caseflow: submit and work customer requests")
    parser.add_argument("--temporal-address")
    parser.add_argument("--namespace")
    parser.add_argument("--task-queue")
    parser.add_argument("--database-url")
    parser.add_argument("--wait", metavar="SECONDS",
                        help="how long to wait for an answer (default CASEFLOW_WAIT_SECONDS, "
                             "else 20)")
    sub = parser.add_subparsers(dest="command", required=True)
    submit = sub.add_parser("submit", help="submit a customer request")
    submit.add_argument("--key", required=True, help="idempotency key (e.g. the ticket number)")
    submit.add_argument("--customer-id", required=True)
    submit.add_argument("--customer-name", required=True)
    submit.add_argument("--tier", default="standard")
    submit.add_argument("--channel", required=True)
    submit.add_argument("--type", required=True, dest="request_type")
    submit.add_argument("--priority", required=True)
    submit.add_argument("--subject", required=True)
    submit.add_argument("--description", default="")
    submit.add_argument("--agent", required=True, help="the submitting agent's person id")
    sub.add_parser("status").add_argument("request_id")
    timeline = sub.add_parser("timeline", help="steps, owners and durations from the store")
    timeline.add_argument("request_id")
    timeline.add_argument("--tz", default="Asia/Shanghai", help="time zone to show times in")
    action = sub.add_parser("act", help="act on a request")
    action.add_argument("action", choices=list(ACTIONS))
    action.add_argument("request_id")
    action.add_argument("--actor", required=True, help="person id (or customer id)")
    action.add_argument("--customer", action="store_true", help="the actor is the customer")
    action.add_argument("--field", action="append", default=[], metavar="NAME=VALUE",
                        help="a field of the action, e.g. step_key=triage.1 (repeatable)")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    base = from_env()
    overrides = {k: v for k, v in (("temporal_address", args.temporal_address),
                                    ("namespace", args.namespace),
                                    ("task_queue", args.task_queue),
                                    ("database_url", args.database_url)) if v}
    if args.wait is not None:
        overrides["wait_seconds"] = parse_seconds(args.wait, "--wait")
    return replace(base, **overrides)


async def _run(args: argparse.Namespace) -> None:
    settings = _settings(args)
    wait = settings.wait_seconds
    if args.command == "timeline":
        zone = _zone(args.tz)
        engine = create_engine(settings.database_url)
        try:
            print(format_timeline(await request_timeline(engine, args.request_id), tz=zone))
        finally:
            await engine.dispose()
        return
    client = await connect(settings.temporal_address, settings.namespace,
                           transport=settings.temporal_transport)
    if args.command == "submit":
        submission = RequestSubmission.model_validate({
            "idempotency_key": args.key, "channel": args.channel,
            "request_type": args.request_type, "priority": args.priority,
            "subject": args.subject, "description": args.description,
            "submitted_by": args.agent,
            "customer": {"id": args.customer_id, "name": args.customer_name, "tier": args.tier},
        })
        catalog = load_catalog_around(settings.config_dir)
        result = await submit_request(client, catalog, submission, task_queue=settings.task_queue,
                                      wait=wait)
        _print(result.view)
    elif args.command == "status":
        # The workflow answers as of its last task: show the clocks as of now.
        _print(read_at(await request_status(client, args.request_id, wait=wait),
                       datetime.now(UTC)))
    else:
        malformed = [pair for pair in args.field if "=" not in pair]
        if malformed:
            raise ActionRefused(RefusalKind.INVALID,
                                f"--field {shorten(malformed[0])!r} is not NAME=VALUE")
        fields = dict(pair.split("=", 1) for pair in args.field)
        actor = {"id": args.actor, "kind": "customer" if args.customer else "staff"}
        command = ACTIONS[args.action].model_validate({"actor": actor, **fields})
        _print(await act(client, args.request_id, args.action, command, wait=wait))


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ActionRefused(RefusalKind.INVALID, f"--tz {shorten(name)!r} is not an IANA time "
                            "zone (e.g. Asia/Shanghai)") from error


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return run_main("caseflow", lambda: asyncio.run(_run(args)),
                        (ValueError, ActionRefused, TemporalUnavailable, StoreUnavailable,
                         UnknownRequest, ConfigError, KeyRingError, TransportSettingError))
    except OutcomeUnknown as error:
        print(f"caseflow: {one_line(error)}", file=sys.stderr)
        return OUTCOME_UNKNOWN


if __name__ == "__main__":
    exit_now(main())
