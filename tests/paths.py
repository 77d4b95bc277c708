"""Paths the tests share."""

from stack.paths import REPO_ROOT

# The fast test organisation: 24x7 calendars, SLA targets of seconds.
FAST_CONFIG = REPO_ROOT / "tests" / "fixtures" / "config_fast"
