"""The agents' tool: submit a customer request, act on it, and see its status and timeline.

    python starter.py submit --key K --customer-id C --customer-name 名称 --type billing_dispute \
        --priority P2 --channel phone --subject 主题 --agent wang.fang
    python starter.py status REQUEST_ID
    python starter.py timeline REQUEST_ID
    python starter.py act claim REQUEST_ID --actor li.lei [--step triage.1]
    python starter.py act complete_step REQUEST_ID --actor li.lei --step triage.1

Every refusal (unknown type, a person who may not act, an invalid transition, bad input) is
one line on stderr and exit status 2; nothing is written."""

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain import commands as cmd
from domain.configuration import Catalog, ConfigError, load_catalog_around
from domain.plan import SubmissionRefused, plan_request
from domain.request import RequestSubmission, request_id_for, workflow_id_for
from eventstore.engine import create_engine
from eventstore.errors import StoreUnavailable
from eventstore.timeline import UnknownRequest, format_timeline, request_timeline
from runtime.connection import TemporalUnavailable, connect
from runtime.exit import exit_now
from runtime.settings import Settings, from_env
from workflows.messages import RequestView, RequestWorkflowInput, read_at
from workflows.request import CustomerRequestWorkflow


class ActionRefused(Exception):
    """A submission or action that was not carried out; the message says why."""


@dataclass(frozen=True)
class Submitted:
    request_id: str
    view: RequestView


ACTIONS = cmd.ACTIONS


def _handle(client: Client, request_id: str) -> WorkflowHandle[Any, Any]:
    return client.get_workflow_handle(workflow_id_for(request_id))


async def submit_request(client: Client, catalog: Catalog, submission: RequestSubmission, *,
                         task_queue: str) -> Submitted:
    """Starts the request's workflow, or returns the existing request for the same idempotency
    key (also under concurrent submission). The same key with different content is refused."""
    request_id = request_id_for(submission.idempotency_key)
    try:
        plan = plan_request(request_id, submission, templates=catalog.templates,
                            policy=catalog.policy, departments=catalog.departments)
    except SubmissionRefused as error:
        raise ActionRefused(str(error)) from error
    try:
        handle = await client.start_workflow(
            CustomerRequestWorkflow.run, RequestWorkflowInput(plan=plan),
            id=workflow_id_for(request_id), task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError as error:
        # USE_EXISTING covers a running request; REJECT_DUPLICATE refuses a finished one.
        raise ActionRefused(
            f"request {request_id} already exists and is closed (idempotency key "
            f"{submission.idempotency_key!r}): a new request needs a new key") from error
    existing = await handle.query(CustomerRequestWorkflow.submission)
    if existing != submission:
        raise ActionRefused(
            f"idempotency key {submission.idempotency_key!r} was already used for a different "
            f"request ({request_id}: {existing.subject!r})")
    try:
        view = await handle.execute_update(CustomerRequestWorkflow.submitted)
    except RPCError as error:  # it closed between the start and this call
        raise ActionRefused(_rpc_refusal(error, request_id)) from error
    return Submitted(request_id=request_id, view=view)


async def act(client: Client, request_id: str, action: str,
              command: cmd.RequestCommand) -> RequestView:
    """Runs ``action`` on the request and returns its new state, or raises ActionRefused."""
    try:
        result: RequestView = await _handle(client, request_id).execute_update(
            action, command, result_type=RequestView)
    except WorkflowUpdateFailedError as error:
        raise ActionRefused(_reasons(error.cause)) from error
    except RPCError as error:
        raise ActionRefused(_rpc_refusal(error, request_id)) from error
    return result


async def request_status(client: Client, request_id: str) -> RequestView:
    try:
        view: RequestView = await _handle(client, request_id).query(
            CustomerRequestWorkflow.status)
    except RPCError as error:
        raise ActionRefused(_rpc_refusal(error, request_id)) from error
    return view


def _reasons(cause: BaseException | None) -> str:
    """The messages of a failure and of what caused it (a payload the workflow could not
    decode carries pydantic's reason one level down)."""
    messages: list[str] = []
    while cause is not None:
        text = cause.message if isinstance(cause, ApplicationError) else str(cause)
        if text and text not in messages:
            messages.append(" ".join(text.split()))
        cause = cause.__cause__
    return ": ".join(messages) or "refused"


def _rpc_refusal(error: RPCError, request_id: str) -> str:
    if error.status == RPCStatusCode.NOT_FOUND:
        if "workflow execution already completed" in error.message:
            return f"request {request_id} is closed or cancelled: it takes no more actions"
        return f"unknown request {request_id}"
    return f"request {request_id}: {error.message}"


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
    return replace(base, **overrides)


async def _run(args: argparse.Namespace) -> None:
    settings = _settings(args)
    if args.command == "timeline":
        engine = create_engine(settings.database_url)
        try:
            print(format_timeline(await request_timeline(engine, args.request_id),
                                  tz=ZoneInfo(args.tz)))
        finally:
            await engine.dispose()
        return
    client = await connect(settings.temporal_address, settings.namespace)
    if args.command == "submit":
        submission = RequestSubmission.model_validate({
            "idempotency_key": args.key, "channel": args.channel,
            "request_type": args.request_type, "priority": args.priority,
            "subject": args.subject, "description": args.description,
            "submitted_by": args.agent,
            "customer": {"id": args.customer_id, "name": args.customer_name, "tier": args.tier},
        })
        catalog = load_catalog_around(settings.config_dir)
        result = await submit_request(client, catalog, submission, task_queue=settings.task_queue)
        _print(result.view)
    elif args.command == "status":
        # The workflow answers as of its last task: show the clocks as of now.
        _print(read_at(await request_status(client, args.request_id), datetime.now(UTC)))
    else:
        malformed = [pair for pair in args.field if "=" not in pair]
        if malformed:
            raise ActionRefused(f"--field {malformed[0]!r} is not NAME=VALUE")
        fields = dict(pair.split("=", 1) for pair in args.field)
        actor = {"id": args.actor, "kind": "customer" if args.customer else "staff"}
        command = ACTIONS[args.action].model_validate({"actor": actor, **fields})
        _print(await act(client, args.request_id, args.action, command))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        asyncio.run(_run(args))
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                             for e in error.errors())
        print(f"caseflow: invalid input: {problems}", file=sys.stderr)
        return 2
    except (ActionRefused, TemporalUnavailable, StoreUnavailable, UnknownRequest,
            ConfigError) as error:
        print(f"caseflow: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    exit_now(main())
