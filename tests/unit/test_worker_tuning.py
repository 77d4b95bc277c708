"""Worker tuning settings: read from the environment, refused in one line naming the setting."""

import pytest

from runtime.settings import TUNING_SETTINGS, WorkerTuning, tuning_from


def test_unset_settings_keep_the_defaults() -> None:
    assert tuning_from({}) == WorkerTuning()


def test_every_setting_is_read() -> None:
    env = {setting: str(n + 2) for n, (setting, _) in enumerate(TUNING_SETTINGS.values())}
    env["CASEFLOW_MAX_CACHED_WORKFLOWS"] = "500"
    assert tuning_from(env) == WorkerTuning(workflow_tasks=2, activities=3, local_activities=4,
                                            cached_workflows=500, workflow_task_pollers=6,
                                            activity_task_pollers=7)


@pytest.mark.parametrize(("setting", "value", "message"), [
    ("CASEFLOW_MAX_CONCURRENT_ACTIVITIES", "0", "'0' is not a whole number (1-10000)"),
    ("CASEFLOW_MAX_CONCURRENT_WORKFLOW_TASKS", "1", "'1' is not a whole number (2-10000)"),
    ("CASEFLOW_WORKFLOW_TASK_POLLERS", "-3", "'-3' is not a whole number (2-100)"),
    ("CASEFLOW_MAX_CACHED_WORKFLOWS", "x" * 500, "'" + "x" * 40 + "' is not a whole number"),
    ("CASEFLOW_MAX_CACHED_WORKFLOWS", "50", "=50 is below CASEFLOW_MAX_CONCURRENT_WORKFLOW_"),
])
def test_a_bad_value_names_the_setting_and_the_limit(setting: str, value: str,
                                                     message: str) -> None:
    with pytest.raises(ValueError, match="^" + setting) as refused:
        tuning_from({setting: value})
    assert message in str(refused.value)
    assert len(str(refused.value)) < 200


def test_no_cache_allows_any_slot_count() -> None:
    assert tuning_from({"CASEFLOW_MAX_CACHED_WORKFLOWS": "0"}).cached_workflows == 0
