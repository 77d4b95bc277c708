"""``python -m console``: the API process with the console in front (the settings of
``python -m api`` and the console's ``CASEFLOW_CONSOLE_*``); its helpers and exits are those of
``python -m api`` (``python -m console token wang.fang`` works too)."""

from api.__main__ import main
from console.site import create_site
from runtime.exit import exit_now

if __name__ == "__main__":
    exit_now(main(app_factory=create_site))
