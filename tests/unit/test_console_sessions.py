"""The console's session cookie: signed, kind-checked (a sign-in's pending cookie is no
session), and refused when altered or signed with another key."""

from pathlib import Path

from fastapi import Request, Response

from console.sessions import PENDING_COOKIE, SESSION_COOKIE, Sessions


def _cookies(response: Response) -> dict[str, str]:
    found = {}
    for name, value in response.raw_headers:
        if name == b"set-cookie":
            pair = value.decode().split(";", 1)[0]
            key, _, cookie = pair.partition("=")
            found[key] = cookie.strip('"')
    return found


def _request(cookies: dict[str, str]) -> Request:
    header = "; ".join(f"{k}={v}" for k, v in cookies.items()).encode()
    return Request({"type": "http", "headers": [(b"cookie", header)]})


def test_a_started_session_names_its_person_with_a_csrf_token(tmp_path: Path) -> None:
    sessions = Sessions(tmp_path, secure=True)
    response = Response()
    sessions.start(response, "wang.fang")
    session = sessions.current(_request(_cookies(response)))
    assert session is not None
    assert session.person_id == "wang.fang"
    assert len(session.csrf) >= 24
    header = next(v.decode() for k, v in response.raw_headers if k == b"set-cookie"
                  and v.startswith(SESSION_COOKIE.encode()))
    for flag in ("HttpOnly", "Secure", "SameSite=lax", "Path=/console"):
        assert flag in header


def test_altered_foreign_or_pending_cookies_are_no_session(tmp_path: Path) -> None:
    sessions = Sessions(tmp_path / "a", secure=True)
    response = Response()
    sessions.start(response, "wang.fang")
    token = _cookies(response)[SESSION_COOKIE]
    altered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert sessions.current(_request({SESSION_COOKIE: altered})) is None
    other = Sessions(tmp_path / "b", secure=True)
    assert other.current(_request({SESSION_COOKIE: token})) is None
    pending = Response()
    sessions.pend(pending, {"csrf": "x"})
    as_session = {SESSION_COOKIE: _cookies(pending)[PENDING_COOKIE]}
    assert sessions.current(_request(as_session)) is None
    assert sessions.pending(_request({PENDING_COOKIE: _cookies(pending)[PENDING_COOKIE]})) == {
        "csrf": "x"}
