"""A seeded fuzzer of hostile input: malformed commands sent raw to live requests (as updates
and as ``customer_replied`` signals) and malformed submissions (through the submission model,
through the client, and raw into the workflow's start). Every case carries at least one defect
that must get it refused, so any acceptance is a finding. The test suite runs it small; the
full size is ``python -m bench.fuzz_input``.

What it checks: every command and submission refused with a short one-line message, no event
written for any of them, no WorkflowTaskFailed in any history, and every live request still
taking a valid command afterwards."""

import asyncio
import contextlib
import math
import random
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from domain import commands as cmd
from domain.actors import Actor
from domain.catalog import Catalog
from domain.plan import plan_request
from domain.request import RequestSubmission, request_id_for, workflow_id_for
from domain.validation import describe
from tests.integration.hostile import MAX_REFUSAL, logged, task_failures
from tests.integration.requests import billing_dispute
from workflows import client as calls
from workflows.entry import INVALID_INPUT
from workflows.messages import WORKFLOW_NAME, RequestView

CONCURRENCY = 16
WAIT = 120.0
"""Seconds a call may take on a loaded machine before the fuzzer calls it stuck."""

# Characters the store cannot hold (C0 controls but tab, newline and carriage return).
_CONTROLS = [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"]
_NOT_TEXT: list[Any] = [123, -4.5, True, [], {}, ["备注"], {"text": "x"}]
_NOT_BOOL: list[Any] = ["也许", 2, -1, [], {}, 0.5, "真"]
_NOT_INT: list[Any] = ["五", 4.5, [], {}, "4.0.1", math.nan, math.inf, -math.inf]
_BAD_SCORES: list[Any] = [math.nan, math.inf, -math.inf, -1, 0, 6, -10**9, 10**12, 2.5]
_BAD_STEP_KEYS = ["", " ", "\t", "nope.1", "triage.99", "triage.1 x", "x" * 65, "投诉.1",
                  "../../etc", "triage.1\x00"]

# Each action's fields: text with its longest length, identifiers, step keys, enums, bools,
# the satisfaction score, and which are required.
_TEXT_MAX = {"text": 20_000, "question": 20_000, "message": 20_000, "outcome": 2_000,
             "reason": 2_000, "summary": 20_000, "comment": 20_000}
_IDS = {"to_department_id", "role", "to_person_id", "clock_id"}


@dataclass
class LiveRequest:
    request_id: str
    owner_id: str
    step_key: str
    customer_id: str
    handle: WorkflowHandle[Any, Any]


@dataclass
class FuzzReport:
    commands: int = 0
    signals: int = 0
    submissions: int = 0
    refused: int = 0
    accepted: list[str] = field(default_factory=list)
    long_refusals: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    events_written: int = 0
    task_failures: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    defects: Counter[str] = field(default_factory=Counter)

    @property
    def clean(self) -> bool:
        return not (self.accepted or self.long_refusals or self.unexpected
                    or self.events_written or self.task_failures or self.stuck)

    def summary(self) -> str:
        return (f"{self.commands} commands ({self.signals} of them signals) and "
                f"{self.submissions} submissions sent: {self.refused} refused, "
                f"{len(self.accepted)} accepted, {len(self.long_refusals)} refusals over "
                f"{MAX_REFUSAL} characters, {len(self.unexpected)} unexpected errors, "
                f"{self.events_written} events written, {len(self.task_failures)} workflow "
                f"task failures, {len(self.stuck)} stuck requests")

    def findings(self, limit: int = 10) -> str:
        found = (self.accepted + self.long_refusals + self.unexpected + self.task_failures
                 + self.stuck)
        return "\n".join(found[:limit])


def _base(action: str, live: LiveRequest) -> dict[str, Any]:
    """A plausible payload of ``action`` by the request owner (it may still be refused for
    the request's state: every fuzzed case adds a defect on top)."""
    owner = {"id": live.owner_id}
    bases: dict[str, dict[str, Any]] = {
        "claim": {"actor": owner, "step_key": live.step_key},
        "add_note": {"actor": owner, "text": "已联系客户"},
        "ask_customer": {"actor": owner, "question": "请提供发票号", "reason": "customer"},
        "record_customer_reply": {"actor": owner, "message": "发票号 123"},
        "complete_step": {"actor": owner, "step_key": live.step_key, "outcome": "完成"},
        "hand_off": {"actor": owner, "step_key": live.step_key, "to_department_id": "finance",
                     "reason": "需要财务核对"},
        "reassign": {"actor": owner, "to_person_id": live.owner_id, "reason": "休假"},
        "change_priority": {"actor": owner, "priority": "P1", "reason": "客户升级"},
        "resolve": {"actor": owner, "summary": "已退款"},
        "customer_feedback": {"actor": {"id": live.customer_id, "kind": "customer"},
                              "accepted": True, "satisfaction": 5},
        "reopen": {"actor": owner, "reason": "问题复现"},
        "cancel": {"actor": owner, "reason": "重复提交"},
        "acknowledge_escalation": {"actor": owner, "clock_id": "resolution"},
    }
    return bases[action]


def _required(action: str) -> list[str]:
    return [name for name, info in cmd.ACTIONS[action].model_fields.items() if info.is_required()]


def _texts(payload: dict[str, Any]) -> list[str]:
    return [name for name, value in payload.items() if isinstance(value, str)]


def _inside(rng: random.Random, text: str, char: str) -> str:
    """``text`` with ``char`` inside it: at either end, whitespace-stripping (of the models
    that strip) would remove the vertical tab and the separators U+001C-U+001F."""
    cut = rng.randrange(1, len(text))
    return text[:cut] + char + text[cut:]


def _malformed_command(rng: random.Random, live: LiveRequest) -> tuple[str, str, Any]:
    """(defect, action, payload): one command with at least one defect that must refuse it."""
    action = rng.choice(list(cmd.ACTIONS))
    payload: Any = _base(action, live)
    defect = rng.choice(["wrong_type", "huge_text", "control_char", "step_key", "wrong_actor",
                         "bad_score", "extra_field", "null", "missing", "unknown_action",
                         "actor_shape"])
    if defect == "wrong_type":
        name = rng.choice(sorted(payload))
        if name == "accepted":
            payload[name] = rng.choice(_NOT_BOOL)
        elif name == "satisfaction":
            payload[name] = rng.choice(_NOT_INT)
        elif name == "actor":
            payload[name] = rng.choice([*_NOT_TEXT[:4], "li.lei"])
        else:
            payload[name] = rng.choice(_NOT_TEXT)
    elif defect == "huge_text":
        names = [n for n in payload if n in _TEXT_MAX or n in _IDS or n == "step_key"]
        name = rng.choice(names) if names else "actor"
        limit = _TEXT_MAX.get(name, 64)
        huge = rng.choice(["x", "发", "🙂"]) * rng.choice([limit + 1, limit * 2, 200_000])
        if name == "actor":
            payload["actor"] = {"id": huge}
        else:
            payload[name] = huge
    elif defect == "control_char":
        char = rng.choice(_CONTROLS)
        names = _texts(payload)
        if not names or rng.random() < 0.3:
            payload["actor"] = {"id": _inside(rng, live.owner_id, char)}
        else:
            name = rng.choice(names)
            payload[name] = _inside(rng, payload[name], char)
    elif defect == "step_key":
        action = rng.choice(["claim", "complete_step", "hand_off"])
        payload = _base(action, live)
        payload["step_key"] = rng.choice(_BAD_STEP_KEYS)
    elif defect == "wrong_actor":
        payload["actor"] = rng.choice([
            {"id": f"nobody.{rng.randrange(10**6)}"},
            {"id": f"CUST-{rng.randrange(10**6)}", "kind": "customer"},
            {"id": live.owner_id, "kind": "system"},
            {"id": live.owner_id, "kind": "admin"},
            {"id": ""}, {"id": "   "},
        ])
    elif defect == "bad_score":
        action = "customer_feedback"
        payload = _base(action, live)
        payload["satisfaction"] = rng.choice(_BAD_SCORES)
    elif defect == "extra_field":
        where = rng.choice(["top", "actor"])
        extras: list[dict[str, Any]] = [{"refund": 100}, {"role": "head"}, {"admin": True},
                                        {"": None}, {"x" * 1000: "y"}]
        if where == "top":  # an extra must not be one of the action's own fields
            extras = [e for e in extras if not set(e) & set(cmd.ACTIONS[action].model_fields)]
        extra = rng.choice(extras)
        if where == "actor":
            payload["actor"] = {**payload["actor"], **extra}
        else:
            payload.update(extra)
    elif defect == "null":
        if rng.random() < 0.3:
            payload = None
        else:
            payload[rng.choice(_required(action))] = None
    elif defect == "missing":
        del payload[rng.choice(_required(action))]
    elif defect == "unknown_action":
        action = rng.choice(["close_now", "Claim", "claim ", "delete", "x" * 10_000, "认领",
                             "claim\x00", "submitted_"])
    else:  # actor_shape
        payload["actor"] = rng.choice([{}, {"kind": "staff"}, {"id": None}, [live.owner_id],
                                       {"id": {"id": live.owner_id}}])
    return defect, action, payload


def _malformed_submission(rng: random.Random, valid: dict[str, Any]) -> tuple[str, Any]:
    """(defect, raw submission) that the submission model must refuse."""
    raw: Any = {**valid, "customer": dict(valid["customer"])}
    defect = rng.choice(["wrong_type", "huge_text", "control_char", "extra_field", "null",
                         "missing", "bad_enum", "blank"])
    texts = ["idempotency_key", "request_type", "subject", "description", "submitted_by"]
    customer_texts = ["id", "name"]
    if defect == "wrong_type":
        raw[rng.choice([*texts, "customer", "channel", "priority"])] = rng.choice(_NOT_TEXT)
    elif defect == "huge_text":
        size = rng.choice([201, 20_001, 300_000])  # a megabyte: see test_callers.py
        if rng.random() < 0.3:
            raw["customer"]["name"] = "名" * size
        else:
            raw[rng.choice(["subject", "request_type", "idempotency_key", "submitted_by"])] = (
                "x" * size)
    elif defect == "control_char":
        char = rng.choice(_CONTROLS)
        if rng.random() < 0.4:
            name = rng.choice(customer_texts)
            raw["customer"][name] = _inside(rng, raw["customer"][name], char)
        else:
            name = rng.choice(texts)
            raw[name] = _inside(rng, raw[name], char)
    elif defect == "extra_field":
        raw[rng.choice(["urgency", "admin", "__proto__"])] = rng.choice(["high", True, None])
    elif defect == "null":
        if rng.random() < 0.2:
            raw = None
        else:
            raw[rng.choice([*texts[:3], "customer", "channel", "priority"])] = None
    elif defect == "missing":
        del raw[rng.choice(["idempotency_key", "customer", "channel", "request_type",
                            "priority", "subject", "submitted_by"])]
    elif defect == "bad_enum":
        where = rng.choice(["channel", "priority", "tier"])
        value = rng.choice(["fax", "P9", "vip", "", "P1 ", math.nan])
        if where == "tier":
            raw["customer"]["tier"] = value
        else:
            raw[where] = value
    else:  # blank
        raw[rng.choice(["subject", "idempotency_key", "request_type", "submitted_by"])] = "   "
    return defect, raw


class Fuzzer:
    def __init__(self, client: Client, engine: AsyncEngine, catalog: Catalog, task_queue: str,
                 seed: int) -> None:
        self.client = client
        self.engine = engine
        self.catalog = catalog
        self.task_queue = task_queue
        self.rng = random.Random(seed)
        self.report = FuzzReport()
        self._gate = asyncio.Semaphore(CONCURRENCY)

    def _refusal(self, where: str, message: str) -> None:
        self.report.refused += 1
        if len(message) > MAX_REFUSAL or "\n" in message or not message.strip():
            self.report.long_refusals.append(f"{where}: refusal of {len(message)} characters: "
                                             f"{message[:200]!r}")

    async def live_requests(self, count: int) -> list[LiveRequest]:
        async def one() -> LiveRequest:
            submission = billing_dispute(self.catalog)
            async with self._gate:
                submitted = await calls.submit_request(self.client, self.catalog, submission,
                                                       task_queue=self.task_queue, wait=WAIT)
            return LiveRequest(
                request_id=submitted.request_id, owner_id=submitted.view.owner_id,
                step_key=submitted.view.steps[0].step_key, customer_id=submission.customer.id,
                handle=self.client.get_workflow_handle(workflow_id_for(submitted.request_id)))
        return list(await asyncio.gather(*(one() for _ in range(count))))

    async def _command(self, live: LiveRequest, signal: bool) -> None:
        defect, action, payload = _malformed_command(self.rng, live)
        self.report.commands += 1
        self.report.defects[f"command:{defect}"] += 1
        where = f"{action[:40]!r} ({defect}) on {live.request_id}"
        async with self._gate:
            if signal:
                self.report.signals += 1
                try:
                    await live.handle.signal("customer_replied", payload)
                except Exception as error:  # e.g. the request was closed by an accepted case
                    self.report.unexpected.append(f"signal {where}: {type(error).__name__}: "
                                                  f"{str(error)[:200]}")
                    return
                self.report.refused += 1  # dropped: checked below through the log and history
                return
            try:
                async with asyncio.timeout(WAIT):
                    await live.handle.execute_update(action, payload, result_type=RequestView)
            except WorkflowUpdateFailedError as error:
                self._refusal(where, calls.reasons(error.cause))
                return
            except TimeoutError:
                self.report.stuck.append(f"{where}: no answer within {WAIT:g} s")
                return
            except Exception as error:  # anything else is a finding, not a refusal
                self.report.unexpected.append(f"{where}: {type(error).__name__}: "
                                              f"{str(error)[:200]}")
                return
        self.report.accepted.append(f"{where} was accepted: {str(payload)[:200]}")

    async def commands(self, lives: list[LiveRequest], count: int) -> None:
        before = {live.request_id: await logged(self.engine, live.request_id) for live in lives}
        await asyncio.gather(*(self._command(self.rng.choice(lives), self.rng.random() < 0.05)
                               for _ in range(count)))
        for live in lives:
            # A valid command after everything: it is applied (the request is not stuck), and
            # it is the only event written since the fuzzing began.
            try:
                await calls.act(self.client, live.request_id, "add_note",
                                cmd.AddNote(actor=Actor(id=live.owner_id), text="模糊测试之后"),
                                wait=WAIT)
            except (calls.ActionRefused, calls.OutcomeUnknown) as error:
                self.report.stuck.append(f"{live.request_id}: a valid note failed: {error}")
            grown = await logged(self.engine, live.request_id) - before[live.request_id]
            self.report.events_written += max(grown - 1, 0)
            await self._check_tasks(live.handle, "a live request")

    async def _submission(self, valid: dict[str, Any]) -> None:
        defect, raw = _malformed_submission(self.rng, valid)
        self.report.submissions += 1
        self.report.defects[f"submission:{defect}"] += 1
        where = f"submission ({defect})"
        # 1. Callers validate with the model: refused in one short line.
        try:
            RequestSubmission.model_validate(raw)
        except ValidationError as error:
            self._refusal(where, describe(error))
        else:
            self.report.accepted.append(f"{where}: the model accepted {str(raw)[:200]}")
            return
        # 2. Sent raw into the workflow's start (past every client check): the start fails at
        # once with the reason, and nothing is written.
        await self._raw_start(where, raw)

    async def _raw_start(self, where: str, raw: Any) -> None:
        template = billing_dispute(self.catalog)
        plan = plan_request(request_id_for(template.idempotency_key), template,
                            templates=self.catalog.templates, policy=self.catalog.policy,
                            departments=self.catalog.departments).model_dump(mode="json")
        plan["submission"] = raw
        workflow_id = f"request-fuzz-{uuid.uuid4()}"
        start: WithStartWorkflowOperation[Any, Any] = WithStartWorkflowOperation(
            WORKFLOW_NAME, {"plan": plan}, id=workflow_id, task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
        async with self._gate:
            try:
                await self.client.execute_update_with_start_workflow(
                    "submitted", raw, start_workflow_operation=start, result_type=RequestView)
            except WorkflowUpdateFailedError as error:
                cause = error.cause
                if not isinstance(cause, ApplicationError):
                    self.report.unexpected.append(f"{where}: raw start: {cause!r:.200}")
                    return
                self._refusal(f"{where} (raw start)", calls.reasons(cause))
            except RPCError as error:
                # The workflow failed at once, before the server answered the first attempt:
                # the client's retry finds it closed ("StartDeduped"). Its failure is the answer.
                if not await self._failed_at_once(where, workflow_id):
                    self.report.unexpected.append(f"{where}: raw start: RPCError: "
                                                  f"{error.message[:200]}")
                    return
            except Exception as error:
                self.report.unexpected.append(f"{where}: raw start: {type(error).__name__}: "
                                              f"{str(error)[:200]}")
                return
            else:
                self.report.accepted.append(f"{where}: a raw start was accepted")
                return
            finally:
                # The start operation holds the call's failure too: read it (see
                # workflows.client._settle), so it is not reported as never retrieved.
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    async with asyncio.timeout(1):
                        await start.workflow_handle()
            await self._check_tasks(self.client.get_workflow_handle(workflow_id), where)
        self.report.events_written += await logged(self.engine, plan["request_id"])

    async def _failed_at_once(self, where: str, workflow_id: str) -> bool:
        try:
            await asyncio.wait_for(self.client.get_workflow_handle(workflow_id).result(), 30)
        except WorkflowFailureError as failed:
            cause = failed.cause
            if isinstance(cause, ApplicationError) and cause.type == INVALID_INPUT:
                self._refusal(f"{where} (raw start, failed)", cause.message)
                return True
        except (RPCError, TimeoutError):
            pass
        return False

    async def _check_tasks(self, handle: WorkflowHandle[Any, Any], what: str) -> None:
        self.report.task_failures += [f"{handle.id} ({what}): workflow task failed: "
                                      f"{failure[:200]}" for failure in await task_failures(handle)]

    async def submissions(self, count: int) -> None:
        valid = billing_dispute(self.catalog).model_dump(mode="json")
        await asyncio.gather(*(self._submission(valid) for _ in range(count)))
        # Model-valid submissions the catalog refuses: through the client, refused before any
        # workflow starts.
        for refuse in _semantic_refusals(self.catalog)[: max(count // 20, 2)]:
            self.report.submissions += 1
            self.report.defects["submission:catalog"] += 1
            try:
                await calls.submit_request(self.client, self.catalog, refuse(),
                                           task_queue=self.task_queue)
            except calls.ActionRefused as refused:
                self._refusal("submission (catalog)", str(refused))
            else:
                self.report.accepted.append("submission (catalog) was accepted")


def _semantic_refusals(catalog: Catalog) -> list[Callable[[], RequestSubmission]]:
    def unknown_type() -> RequestSubmission:
        return billing_dispute(catalog).model_copy(update={"request_type": "保修申请"})

    def not_on_roster() -> RequestSubmission:
        return billing_dispute(catalog).model_copy(update={"submitted_by": "li.si"})

    return [unknown_type, not_on_roster] * 1000


async def fuzz(client: Client, engine: AsyncEngine, catalog: Catalog, task_queue: str, *,
               requests: int, commands: int, submissions: int, seed: int) -> FuzzReport:
    """Runs the fuzzer against a worker on ``task_queue``; ``catalog`` should fire no timer
    while it runs (e.g. tests.integration.requests.patient)."""
    fuzzer = Fuzzer(client, engine, catalog, task_queue, seed)
    lives = await fuzzer.live_requests(requests)
    await fuzzer.commands(lives, commands)
    await fuzzer.submissions(submissions)
    return fuzzer.report
