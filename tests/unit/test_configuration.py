"""Loading the organisation configuration: the shipped examples load, and every kind of mistake
is reported with its file, key path and problem - all of them at once."""

import pickle
import shutil
from datetime import date, time
from pathlib import Path

import pytest

from catalog.durations import BUSINESS_DAY_SECONDS, parse_duration
from catalog.loader import DEFAULT_CONFIG_DIR, load_catalog, load_catalog_around
from catalog.problems import ConfigError
from domain.catalog import Catalog
from domain.org import AssignmentRule
from domain.policy import EscalationLevel
from domain.process import StepAction
from domain.request import CustomerTier, Priority
from stack.paths import REPO_ROOT
from tests.paths import FAST_CONFIG

YEARS = (2025, 2026)

HOUR = 3600.0
def test_a_year_whose_chinese_schedule_is_unknown_is_a_notice_not_a_problem(config: Path) -> None:
    # 2031: no holidays release will hold the State Council's schedule for it for years.
    edit(config, ORG, 'timezone = "Asia/Shanghai"', 'timezone = "Asia/Shanghai"\ncountry = "CN"')

    assert load_catalog(config, years=[2025, 2026]).notices == ()
    notices = load_catalog(config, years=[2026, 2031]).notices
    assert len(notices) == 1
    assert notices[0].startswith(
        f"{config / ORG}: calendars.round_the_clock: China's 2031 holiday schedule (days off"
        " moved by the State Council, 调休 make-up working days) is not in holidays ")
    assert notices[0].endswith(": 2031 counts only the statutory holidays; list the announced"
                               " dates under closed and working, or upgrade holidays")


def test_listing_a_years_make_up_days_answers_the_notice(config: Path) -> None:
    edit(config, ORG, 'timezone = "Asia/Shanghai"',
         'timezone = "Asia/Shanghai"\ncountry = "CN"\nworking = ["2031-02-08"]')
    catalog = load_catalog(config, years=[2031])
    assert catalog.notices == ()
    assert date(2031, 2, 8) in catalog.departments["legal"].calendar.extra_working_dates


def test_other_countries_have_no_schedule_to_miss(config: Path) -> None:
    edit(config, ORG, 'timezone = "Asia/Shanghai"', 'timezone = "Asia/Shanghai"\ncountry = "HK"')
    assert load_catalog(config, years=[2031]).notices == ()


DAY = BUSINESS_DAY_SECONDS


# ---------------------------------------------------------------------------- examples


@pytest.fixture(scope="module")
def example() -> Catalog:
    return load_catalog(DEFAULT_CONFIG_DIR, years=YEARS)


def test_default_config_dir_is_the_repository_config() -> None:
    assert REPO_ROOT / "config" == DEFAULT_CONFIG_DIR


def test_example_organisation(example: Catalog) -> None:
    assert set(example.departments) == {
        "customer_service",
        "technical_support",
        "finance",
        "logistics",
        "legal",
        "sales_emea",
    }
    service = example.departments["customer_service"]
    assert service.name == "客户服务部"
    assert service.assignment is AssignmentRule.ROUND_ROBIN
    assert service.member("zhang.wei") is not None
    assert service.member("zhang.wei").name == "张伟"  # type: ignore[union-attr]
    assert service.member("chen.jing").available is False  # type: ignore[union-attr]
    assert service.supervisor_id == "zhou.min"
    assert service.head_id == "wu.jianguo"
    assert example.departments["technical_support"].assignment is AssignmentRule.LEAST_LOADED
    finance = example.departments["finance"]
    assert finance.assignment is AssignmentRule.SKILL_MATCH
    assert finance.member("guo.peng").skills == {"refund", "invoice"}  # type: ignore[union-attr]
    assert example.years == YEARS


def test_example_calendars(example: Catalog) -> None:
    shanghai = example.departments["customer_service"].calendar
    assert shanghai.timezone == "Asia/Shanghai"
    assert shanghai.weekly_hours[0] == [(time(9), time(12)), (time(13), time(18))]
    assert 5 not in shanghai.weekly_hours or shanghai.weekly_hours[5] == []
    assert date(2026, 10, 1) in shanghai.closed_dates  # 国庆节
    assert date(2026, 2, 17) in shanghai.closed_dates  # 春节
    assert date(2026, 9, 20) in shanghai.extra_working_dates  # 调休 Sunday worked
    assert date(2025, 9, 28) in shanghai.extra_working_dates
    assert date(2026, 12, 31) in shanghai.closed_dates  # the company's own closed day
    assert date(2027, 10, 1) not in shanghai.closed_dates  # only the years asked for

    chengdu = example.departments["technical_support"].calendar
    assert chengdu.makeup_day_hours == [(time(9), time(18))]

    berlin = example.departments["sales_emea"].calendar
    assert berlin.timezone == "Europe/Berlin"
    assert date(2026, 10, 3) in berlin.closed_dates  # Tag der Deutschen Einheit
    assert date(2026, 3, 8) in berlin.closed_dates  # Frauentag, Berlin only
    assert date(2026, 10, 1) not in berlin.closed_dates
    assert not berlin.extra_working_dates

    midnight_end = load_catalog(FAST_CONFIG, years=YEARS).departments["legal"].calendar
    assert midnight_end.weekly_hours[6] == [(time(0), time(0))]  # "00:00-24:00"


def test_example_templates(example: Catalog) -> None:
    assert set(example.templates) == {
        "billing_dispute",
        "delivery_complaint",
        "technical_fault",
        "contract_change",
    }
    billing = example.templates["billing_dispute"]
    assert billing.name == "账单争议"
    assert billing.version == 1
    assert billing.owner_department_id == "customer_service"
    assert [stage.id for stage in billing.stages] == [
        "triage",
        "investigate",
        "resolve_with_customer",
    ]
    investigate = billing.stages[1]
    assert [b.department_id for b in investigate.branches] == ["finance", "technical_support"]
    assert investigate.branches[0].skills == {"invoice"}
    assert StepAction.ASK_CUSTOMER not in investigate.branches[0].actions
    assert billing.stages[0].branches[0].actions == frozenset(StepAction)
    assert example.templates["contract_change"].department_ids() == {"sales_emea", "legal"}


def test_example_policy(example: Catalog) -> None:
    policy = example.policy
    assert policy.warning_thresholds == (0.5, 0.75, 0.9)
    assert policy.pause_cap_seconds == 5 * DAY
    assert policy.reopen_window_seconds == 7 * DAY
    assert policy.escalation.supervisor_after_seconds == 2 * HOUR
    assert policy.escalation.head_after_seconds == 4 * HOUR
    assert policy.escalation.auto_reassign_at is EscalationLevel.SUPERVISOR

    strategic_p1 = policy.targets_for("billing_dispute", Priority.P1, CustomerTier.STRATEGIC)
    assert strategic_p1 is not None
    assert strategic_p1.first_response_seconds == 30 * 60
    assert strategic_p1.resolution_seconds == DAY
    assert strategic_p1.step_target("investigate") == 4 * HOUR
    assert strategic_p1.step_target("resolve_with_customer") == 2 * HOUR

    standard_p4 = policy.targets_for("delivery_complaint", Priority.P4, CustomerTier.STANDARD)
    assert standard_p4 is not None
    assert (standard_p4.first_response_seconds, standard_p4.resolution_seconds) == (DAY, 10 * DAY)

    key_p1 = policy.targets_for("billing_dispute", Priority.P1, CustomerTier.KEY)
    assert key_p1 is not None
    assert key_p1.resolution_seconds == DAY + 4 * HOUR

    outage = policy.targets_for("technical_fault", Priority.P1, CustomerTier.STRATEGIC)
    assert outage is not None
    assert outage.first_response_seconds == 15 * 60
    assert outage.step_target("fix") == 4 * HOUR


def test_fast_config() -> None:
    catalog = load_catalog(FAST_CONFIG, years=[2026])
    assert set(catalog.departments) == {
        "customer_service",
        "finance",
        "technical_support",
        "legal",
    }
    for dept in catalog.departments.values():
        assert 3 <= len(dept.members) <= 4
        assert dept.calendar.weekly_hours == {day: [(time(0), time(0))] for day in range(7)}
        assert not dept.calendar.closed_dates
        assert not dept.calendar.extra_working_dates
    template = catalog.templates["billing_dispute"]
    assert [stage.id for stage in template.stages] == ["triage", "investigate", "confirm"]
    policy = catalog.policy
    targets = policy.targets_for("billing_dispute", Priority.P2, CustomerTier.KEY)
    assert targets is not None
    assert (targets.first_response_seconds, targets.resolution_seconds) == (3.0, 5.0)
    assert targets.step_target("investigate") == 4.0
    assert targets.step_target("triage") == 3.0
    assert policy.escalation.supervisor_after_seconds == 2.0
    assert policy.escalation.head_after_seconds == 2.0
    assert policy.reopen_window_seconds == 20.0


def test_default_catalog_covers_last_this_and_next_year() -> None:
    catalog = load_catalog_around(DEFAULT_CONFIG_DIR, date(2026, 5, 1))
    assert catalog.years == (2025, 2026, 2027)
    shanghai = catalog.departments["customer_service"].calendar
    assert date(2027, 1, 1) in shanghai.closed_dates


def test_catalog_is_frozen(example: Catalog) -> None:
    with pytest.raises(ValueError, match="frozen"):
        example.policy = example.policy  # type: ignore[misc]


def test_years_are_required() -> None:
    with pytest.raises(ValueError, match="at least one year"):
        load_catalog(FAST_CONFIG, years=[])


# ---------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("30m", 1800.0),
        ("4h", 4 * HOUR),
        ("2d", 2 * DAY),
        ("1h30m", 5400.0),
        ("1d4h", DAY + 4 * HOUR),
        ("1d2h3m4s", DAY + 2 * HOUR + 184.0),
        (" 2h 15m ", 2 * HOUR + 900.0),
        ("0s", 0.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_a_business_day_is_eight_hours() -> None:
    assert parse_duration("1d") == parse_duration("8h") == 8 * HOUR


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty duration"),
        ("   ", "empty duration"),
        ("4", "invalid duration '4': expected whole numbers with units"),
        ("h", "invalid duration 'h'"),
        ("1.5h", "invalid duration '1.5h'"),
        ("-5m", "invalid duration '-5m'"),
        ("30min", "unknown unit 'min' \\(use d, h, m, s\\)"),
        ("1H", "unknown unit 'H'"),
        ("2w", "unknown unit 'w'"),
        ("30m1h", "largest to smallest"),
        ("1h1h", "largest to smallest"),
        (5, "a duration is a string such as '4h'"),
    ],
)
def test_parse_duration_refuses(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_duration(text)


# ---------------------------------------------------------------------------- broken configs


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A writable copy of the fast config."""
    directory = tmp_path / "config"
    shutil.copytree(FAST_CONFIG, directory)
    return directory


def edit(directory: Path, file: str, old: str, new: str, count: int = 1) -> None:
    path = directory / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == count, f"{old!r} occurs {text.count(old)} times in {file}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def problems(directory: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_catalog(directory, years=YEARS)
    error = caught.value
    assert str(error) == "\n".join(str(problem) for problem in error.problems)
    return [str(problem) for problem in error.problems]


def only_problem(directory: Path) -> str:
    found = problems(directory)
    assert len(found) == 1, found
    return found[0]


ORG = "organisation.toml"
BILLING = "processes/billing_dispute.toml"
SLA = "sla.toml"
DEPARTMENTS = "customer_service, finance, legal, technical_support"


# One edit of one file, and the one problem it causes: (file, text replaced, replacement, key
# path, message).
ONE_MISTAKE = {
    "unknown branch department": (
        BILLING, 'department = "technical_support"', 'department = "legall"',
        "stages[1].branches[1].department", f"unknown department 'legall' (known: {DEPARTMENTS})"),
    "unknown owner department": (
        BILLING, 'owner_department = "customer_service"', 'owner_department = "cs"',
        "owner_department", f"unknown department 'cs' (known: {DEPARTMENTS})"),
    "role nobody holds": (
        BILLING, 'role = "engineer"', 'role = "developer"', "stages[1].branches[1].role",
        "no member of department 'technical_support' has role 'developer'"
        " (roles there: engineer, head, supervisor)"),
    "owner role nobody holds": (
        BILLING, 'owner_role = "agent"', 'owner_role = "manager"', "owner_role",
        "no member of department 'customer_service' has role 'manager'"
        " (roles there: agent, head, supervisor)"),
    "skills nobody has in a skill-match department": (
        BILLING, 'skills = ["invoice"]', 'skills = ["invoice", "tax"]',
        "stages[1].branches[0].skills",
        "no member of department 'finance' with role 'accountant' has all of the skills"
        " invoice, tax"),
    "unknown calendar": (
        ORG, 'calendar = "round_the_clock"\nassignment = "skill_match"',
        'calendar = "office"\nassignment = "skill_match"', "departments[1].calendar",
        "unknown calendar 'office' (known: round_the_clock)"),
    "duplicate department id": (
        ORG, 'id = "legal"', 'id = "finance"', "departments[3].id",
        "duplicate department id 'finance' (also departments[1])"),
    "duplicate member id": (
        ORG, 'id = "wang.fang"', 'id = "zhang.wei"', "departments[0].members[1].id",
        "duplicate member id 'zhang.wei' (also members[0])"),
    "unknown assignment rule": (
        ORG, 'assignment = "least_loaded"', 'assignment = "random"', "departments[2].assignment",
        "unknown assignment rule 'random' (known: round_robin, least_loaded, skill_match)"),
    "unknown time zone": (
        ORG, 'timezone = "Asia/Shanghai"', 'timezone = "Asia/Beijing"',
        "calendars.round_the_clock.timezone",
        "unknown time zone 'Asia/Beijing': expected an IANA name such as 'Asia/Shanghai'"),
    "unknown stage in step targets": (
        SLA, 'steps = { investigate = "4s" }', 'steps = { investgate = "4s" }',
        "targets[0].steps.investgate",
        "unknown stage 'investgate': not a stage of any process template"
        " (known: confirm, investigate, triage)"),
    "unknown request type": (
        SLA, 'request_type = "*"', 'request_type = "billing"', "targets[0].request_type",
        "unknown request type 'billing': no process template has that id"
        " (known: billing_dispute)"),
    "targets must cover every case": (
        SLA, 'priority = "*"', 'priority = "P1"', "targets",
        "no target covers billing_dispute P2/strategic, P2/key, P2/standard, P3/strategic,"
        " P3/key, P3/standard, P4/strategic, P4/key, P4/standard; add one (request_type,"
        ' priority and tier may be "*")'),
}


@pytest.mark.parametrize(("file", "old", "new", "key", "message"), ONE_MISTAKE.values(),
                         ids=ONE_MISTAKE.keys())
def test_one_mistake_is_one_problem(config: Path, file: str, old: str, new: str, key: str,
                                    message: str) -> None:
    edit(config, file, old, new)
    assert only_problem(config) == f"{config / file}: {key}: {message}"


def test_supervisor_and_head_must_be_members(config: Path) -> None:
    edit(config, ORG, 'supervisor = "zheng.li"', 'supervisor = "zheng.lee"')
    edit(config, ORG, 'head = "yu.wenbo"', 'head = "yu.wen"')
    assert problems(config) == [
        f"{config / ORG}: departments[1].supervisor: 'zheng.lee' is not a member of department"
        " 'finance' (known: guo.peng, he.guoqing, lin.xiaoyan, zheng.li)",
        f"{config / ORG}: departments[3].head: 'yu.wen' is not a member of department 'legal'"
        " (known: feng.qian, han.mei, yu.wenbo)",
    ]


def test_duplicate_template_id(config: Path) -> None:
    shutil.copy(config / BILLING, config / "processes" / "billing_dispute_v2.toml")
    assert only_problem(config) == (
        f"{config / 'processes' / 'billing_dispute_v2.toml'}: id: duplicate template id"
        f" 'billing_dispute' (also in {config / BILLING})"
    )


def test_toml_syntax_error_names_the_line(config: Path) -> None:
    edit(config, BILLING, 'name = "受理分诊"', 'name "受理分诊"')
    found = only_problem(config)
    assert found.startswith(f"{config / BILLING}: line 9, column 6: invalid TOML: ")
    assert "Expected '='" in found


def test_file_that_is_not_utf8(config: Path) -> None:
    (config / BILLING).write_bytes('name = "账单争议"\n'.encode("gb18030"))
    assert only_problem(config).startswith(f"{config / BILLING}: not UTF-8 text")


def test_missing_and_unknown_keys(config: Path) -> None:
    edit(config, BILLING, 'owner_role = "agent"\n', "")
    edit(config, BILLING, 'role = "engineer"', 'role = "engineer"\nskils = ["network"]')
    assert problems(config) == [
        f"{config / BILLING}: owner_role: required key missing",
        f"{config / BILLING}: stages[1].branches[1].skils: unknown key",
    ]


def test_pydantic_errors_become_key_paths(config: Path) -> None:
    edit(config, BILLING, "version = 1", "version = 0")
    edit(config, ORG, '  name = "王芳"\n  roles = ["agent"]', '  name = "王芳"\n  roles = "agent"')
    edit(config, ORG, '  name = "张伟"\n', '  name = "张伟"\n  available = "yes"\n')
    assert problems(config) == [
        f"{config / ORG}: departments[0].members[0].available:"
        " Input should be a valid boolean, got 'yes'",
        f"{config / ORG}: departments[0].members[1].roles: Input should be a valid list,"
        " got 'agent'",
        f"{config / BILLING}: version: Input should be greater than or equal to 1, got 0",
    ]


def test_broken_roster_does_not_cause_follow_on_errors(config: Path) -> None:
    edit(config, ORG, 'roles = ["engineer"]', 'roles = "engineer"', count=2)
    found = problems(config)
    assert len(found) == 2
    assert all("technical_support" not in problem for problem in found)
    assert all(problem.startswith(f"{config / ORG}: departments[2].members[") for problem in found)


def test_bad_working_hours(config: Path) -> None:
    edit(config, ORG, 'mon = ["00:00-24:00"]', 'mon = ["09:00-25:00"]')
    edit(config, ORG, 'tue = ["00:00-24:00"]', 'tue = ["09:00-12:00", "11:00-13:00"]')
    edit(config, ORG, 'wed = ["00:00-24:00"]', 'wed = ["18:00-09:00"]')
    edit(config, ORG, 'thu = ["00:00-24:00"]', 'thu = ["09:00-00:00"]')
    edit(config, ORG, 'fri = ["00:00-24:00"]', 'fri = ["9-17"]')
    edit(config, ORG, 'sat = ["00:00-24:00"]', 'saturday = ["00:00-24:00"]')
    where = f"{config / ORG}: calendars.round_the_clock.hours"
    assert problems(config) == [
        f"{where}.mon[0]: '25:00' is not a time of day (00:00-23:59, or 24:00 as an end)",
        f"{where}.tue: intervals 09:00-12:00 and 11:00-13:00 overlap",
        f"{where}.wed[0]: interval '18:00-09:00' must start before it ends",
        f"{where}.thu[0]: an interval cannot end at 00:00; write 24:00 for midnight",
        f"{where}.fri[0]: '9' is not a time HH:MM",
        f"{where}.saturday: unknown key",
    ]


def test_calendar_without_any_hours(config: Path) -> None:
    text = (config / ORG).read_text(encoding="utf-8")
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        text = text.replace(f'{day} = ["00:00-24:00"]\n', "")
    (config / ORG).write_text(text, encoding="utf-8")
    assert only_problem(config) == (
        f"{config / ORG}: calendars.round_the_clock.hours: no working hours on any weekday"
    )


@pytest.mark.parametrize(
    ("lines", "key", "problem"),
    [
        ('country = "ZZ"', "country", "unknown country 'ZZ': expected an ISO 3166-1 alpha-2"),
        ('subdivision = "BE"', "subdivision", "a subdivision needs a country"),
        (
            'country = "DE"\nsubdivision = "XX"',
            "subdivision",
            "unknown subdivision 'XX' of DE (known: ",
        ),
        (
            'closed = ["2026-10-10"]\nworking = ["2026-10-10"]',
            "working",
            "dates both closed and working: 2026-10-10",
        ),
        ('closed = ["2026-02-30"]', "closed[0]", "expected a date YYYY-MM-DD, got '2026-02-30'"),
        ("closed = [20261010]", "closed[0]", "expected a date YYYY-MM-DD, got 20261010"),
    ],
)
def test_bad_calendar_days(config: Path, lines: str, key: str, problem: str) -> None:
    edit(config, ORG, 'timezone = "Asia/Shanghai"', f'timezone = "Asia/Shanghai"\n{lines}')
    assert only_problem(config).startswith(
        f"{config / ORG}: calendars.round_the_clock.{key}: {problem}"
    )


def test_closed_and_working_days_override_holidays(config: Path) -> None:
    edit(
        config,
        ORG,
        'timezone = "Asia/Shanghai"',
        'timezone = "Asia/Shanghai"\ncountry = "CN"\n'
        "closed = [2026-04-30]\n"  # a TOML date works as well as an ISO string
        'working = ["2026-10-08"]',
    )
    calendar = load_catalog(config, years=YEARS).departments["legal"].calendar
    assert date(2026, 10, 1) in calendar.closed_dates
    assert date(2026, 4, 30) in calendar.closed_dates
    assert date(2026, 10, 8) in calendar.extra_working_dates


def test_bad_actions(config: Path) -> None:
    edit(
        config,
        BILLING,
        'role = "engineer"',
        'role = "engineer"\nactions = ["hand_off", "add_note"]',
    )
    edit(config, BILLING, 'skills = ["invoice"]', 'skills = ["invoice"]\nactions = ["escalate"]')
    assert problems(config) == [
        f"{config / BILLING}: stages[1].branches[0].actions: unknown action 'escalate'"
        " (known: complete, hand_off, ask_customer, add_note)",
        f"{config / BILLING}: stages[1].branches[1].actions: actions must include 'complete',"
        " or the step could never finish",
    ]


def test_duplicate_stage_and_branch(config: Path) -> None:
    edit(config, BILLING, 'id = "confirm"', 'id = "triage"')
    edit(config, BILLING, 'department = "technical_support"', 'department = "finance"')
    edit(config, BILLING, 'role = "engineer"', 'role = "accountant"')
    assert problems(config) == [
        f"{config / BILLING}: stages[1].branches[1].department: department 'finance' already"
        " has a branch in this stage (branches[0])",
        f"{config / BILLING}: stages[2].id: duplicate stage id 'triage' (also stages[0])",
    ]


def test_step_targets_of_a_request_type_name_its_own_stages(config: Path) -> None:
    with (config / SLA).open("a", encoding="utf-8") as sla:
        sla.write(
            '\n[[targets]]\nrequest_type = "billing_dispute"\npriority = "P1"\n'
            'first_response = "1s"\nresolution = "2s"\nstep_default = "1s"\n'
            'steps = { diagnose = "1s" }\n'
        )
    assert only_problem(config) == (
        f"{config / SLA}: targets[1].steps.diagnose: unknown stage 'diagnose': not a stage of"
        " billing_dispute (known: confirm, investigate, triage)"
    )


def test_bad_targets(config: Path) -> None:
    edit(config, SLA, 'request_type = "*"', 'request_type = "billing"')
    edit(config, SLA, 'priority = "*"', 'priority = "P5"')
    edit(config, SLA, 'tier = "*"', 'tier = "vip"')
    edit(config, SLA, 'first_response = "3s"', 'first_response = "3 seconds"')
    edit(config, SLA, 'resolution = "5s"', 'resolution = "0s"')
    edit(config, SLA, 'step_default = "3s"', "step_default = 3")
    edit(config, SLA, "warning_thresholds = [0.5, 0.75, 0.9]", "warning_thresholds = [50, 75]")
    edit(config, SLA, 'auto_reassign_at = "supervisor"', 'auto_reassign_at = "manager"')
    edit(config, SLA, 'reopen_window = "20s"\n', "")
    where = f"{config / SLA}"
    assert problems(config) == [
        f"{where}: warning_thresholds: warning threshold 50.0 is not a fraction between 0 and 1"
        " (the breach itself is 1)",
        f"{where}: reopen_window: required key missing",
        f"{where}: escalation.auto_reassign_at: unknown escalation level 'manager'"
        " (known: owner, supervisor, head)",
        f"{where}: targets[0].priority: unknown priority 'P5' (known: *, P1, P2, P3, P4)",
        f"{where}: targets[0].tier: unknown customer tier 'vip' (known: *, strategic, key,"
        " standard)",
        f"{where}: targets[0].first_response: invalid duration '3 seconds': unknown unit"
        " 'seconds' (use d, h, m, s)",
        f"{where}: targets[0].resolution: duration '0s' must be longer than zero",
        f"{where}: targets[0].step_default: a duration is a string such as '4h' or '1h30m', got 3",
    ]


def test_duplicate_and_ambiguous_targets(config: Path) -> None:
    extra = 'first_response = "1s"\nresolution = "2s"\nstep_default = "1s"\n'
    with (config / SLA).open("a", encoding="utf-8") as sla:
        sla.write(f'\n[[targets]]\npriority = "P1"\n{extra}')
        sla.write(f'\n[[targets]]\ntier = "key"\n{extra}')
        sla.write(f'\n[[targets]]\ntier = "key"\n{extra}')
    assert problems(config) == [
        f"{config / SLA}: targets[3]: duplicate target for request_type='*', priority='*',"
        " tier='key' (also targets[2])",
    ]
    shutil.copy(FAST_CONFIG / SLA, config / SLA)
    with (config / SLA).open("a", encoding="utf-8") as sla:
        sla.write(f'\n[[targets]]\npriority = "P1"\n{extra}')
        sla.write(f'\n[[targets]]\ntier = "key"\n{extra}')
    assert problems(config) == [
        f"{config / SLA}: targets: ambiguous targets for billing_dispute P1/key: targets[1] and"
        " targets[2] match equally specifically; add a more specific target for these cases",
    ]


def test_missing_files(tmp_path: Path) -> None:
    (tmp_path / "processes").mkdir()
    assert problems(tmp_path) == [
        f"{tmp_path / ORG}: file not found",
        f"{tmp_path / 'processes'}: no process templates (*.toml) found",
        f"{tmp_path / SLA}: file not found",
    ]
    assert problems(tmp_path / "nowhere") == [
        f"{tmp_path / 'nowhere'}: configuration directory not found"
    ]


def test_missing_processes_directory(config: Path) -> None:
    shutil.rmtree(config / "processes")
    found = problems(config)
    assert found[0] == (
        f"{config / 'processes'}: directory not found: put one process template per .toml here"
    )


def test_several_problems_are_reported_together(config: Path) -> None:
    edit(config, ORG, 'assignment = "least_loaded"', 'assignment = "fastest"')
    edit(config, ORG, 'supervisor = "feng.qian"', 'supervisor = "nobody"')
    edit(config, BILLING, 'department = "technical_support"', 'department = "it"')
    edit(config, ORG, 'name = "张伟"', 'name = ""')
    edit(config, SLA, 'head_after = "2s"', 'head_after = "2 secs"')
    edit(config, SLA, 'steps = { investigate = "4s" }', 'steps = { review = "4s" }')
    found = problems(config)
    assert [problem.split(": ")[1] for problem in found] == [
        "departments[0].members[0].name",
        "departments[2].assignment",
        "departments[3].supervisor",
        "stages[1].branches[1].department",
        "escalation.head_after",
        "targets[0].steps.review",
    ]
    with pytest.raises(ConfigError) as caught:
        load_catalog(config, years=YEARS)
    assert str(caught.value).count("\n") == len(found) - 1
    copy = pickle.loads(pickle.dumps(caught.value))
    assert copy.problems == caught.value.problems
    assert str(copy) == str(caught.value)


def test_problem_names_quoted_keys(config: Path) -> None:
    edit(config, ORG, "[calendars.round_the_clock]", '[calendars."24 x 7"]')
    edit(config, ORG, "[calendars.round_the_clock.hours]", '[calendars."24 x 7".hours]')
    edit(config, ORG, 'name = "全天候 24x7"', "name = 7")
    found = problems(config)
    assert found[0] == (
        f'{config / ORG}: calendars."24 x 7".name: Input should be a valid string, got 7'
    )
