"""A signing secret kept in the state folder: read if it is there, else made once (32 random
bytes, hex, mode 0600, written whole through a temporary file so a reader never sees half)."""

import secrets
from pathlib import Path


def load_or_create_secret(path: Path) -> bytes:
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    secret = secrets.token_bytes(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(secret.hex())
    temporary.chmod(0o600)
    temporary.replace(path)
    return secret
