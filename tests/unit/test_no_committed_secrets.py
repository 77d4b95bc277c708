"""No secret is committed: no private key and no key ring with key material in any file git
tracks, and no password in a database URL outside the tests (whose made-up passwords check
that URLs are shown masked) unless it comes from the environment (``${...}``)."""

import re
import subprocess

from stack.paths import REPO_ROOT

EVERYWHERE = {
    "a PEM private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "a key ring with a key": re.compile(r'"keys"\s*:\s*\{\s*"[^"]+"\s*:\s*"[A-Za-z0-9+/]{43}='),
}
OUTSIDE_TESTS = {
    "a database URL with a password": re.compile(
        r"postgresql(\+asyncpg)?://[^:/@\s]+:(?!PASSWORD@|password@|\$\{)[^@\s]+@"),
}


def test_no_tracked_file_holds_a_secret() -> None:
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True,
                             check=True).stdout.decode().split("\0")
    found = []
    for name in filter(None, tracked):
        path = REPO_ROOT / name
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        patterns = EVERYWHERE if name.startswith("tests/") else EVERYWHERE | OUTSIDE_TESTS
        found += [f"{name}: {what}" for what, pattern in patterns.items() if pattern.search(text)]
    assert not found, found
