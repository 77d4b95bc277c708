"""The hostile-input fuzzer at a small size (the full size, with its recorded figures, is
``python -m bench.fuzz_input``): every malformed command and submission is refused in one
short line, nothing is written, no workflow task fails, no request is stuck."""

from tests.integration.conftest import Caseflow
from tests.integration.fuzzing import fuzz
from tests.integration.requests import patient


async def test_malformed_commands_and_submissions_are_all_refused(caseflow: Caseflow) -> None:
    report = await fuzz(caseflow.client, caseflow.engine, patient(caseflow.catalog),
                        caseflow.task_queue, requests=4, commands=300, submissions=60,
                        seed=20261202)
    assert (report.commands, report.submissions) == (300, 63), report.summary()
    assert report.clean, f"{report.summary()}\n{report.findings()}"
