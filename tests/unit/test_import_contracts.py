"""The arrows between the packages hold: import-linter's contracts in pyproject.toml
([tool.importlinter]) are kept, and a contract the code breaks is reported as broken."""

import subprocess
import sys
from pathlib import Path

from stack.paths import REPO_ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_import_contracts_hold() -> None:
    result = _lint()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_import_against_a_contract_is_reported(tmp_path: Path) -> None:
    # workflows do import the domain, so a contract forbidding it must break.
    config = tmp_path / "contracts.toml"
    config.write_text(
        '[tool.importlinter]\nroot_packages = ["domain", "workflows"]\n\n'
        '[[tool.importlinter.contracts]]\nname = "workflows without the domain"\n'
        'type = "forbidden"\nsource_modules = ["workflows"]\nforbidden_modules = ["domain"]\n',
        encoding="utf-8")
    result = _lint(str(config))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "workflows without the domain BROKEN" in result.stdout
    assert "workflows.request -> domain." in result.stdout
