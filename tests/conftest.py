"""Suite-wide audits: no secret in any output, and no mutating request from any tap.

Every test's captured stdout/stderr, and every tap, CLI and Meltano output the harness saw, is
scanned for every credential any emulator accepts or has issued (tokens, keys, refresh tokens,
access tokens). At the end of the session, every request any emulator served to a tap is
checked to be a read: no DELETE, PUT or PATCH, and POST only to token routes and to PM2's
read-only data routes. (tests/emulator/ exercises the emulators themselves, mutating routes
included, so its servers are left out of that check.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from api_emulator import EmulatorServer
from tests.harness import OUTPUTS

READ_ONLY_POSTS = re.compile(
    r"^(/api/oauth/token|/auth/api-key|/auth/refresh"
    r"|/api/bucket/[0-9a-f]{24}/data/(events(/stats)?|processEvents(/deployments)?|issues/list))$"
)
OWNERS: dict[int, str] = {}  # id(server) -> nodeid of the test that created it ("" at import)


@pytest.fixture(autouse=True)
def _no_secret_in_any_output(
    request: pytest.FixtureRequest, capfd: pytest.CaptureFixture[str]
) -> Iterator[None]:
    OUTPUTS.clear()
    known = len(EmulatorServer.created)
    for server in EmulatorServer.created:
        OWNERS.setdefault(id(server), "")
    yield
    for server in EmulatorServer.created[known:]:
        OWNERS[id(server)] = request.node.nodeid
    captured = capfd.readouterr()
    texts = [captured.out, captured.err, *OUTPUTS]
    secrets = {s for server in EmulatorServer.created for s in server.app.secrets()}
    leaks = sorted({secret for secret in secrets for text in texts if secret in text})
    assert leaks == [], f"secrets in the output of {request.node.nodeid}: {len(leaks)}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any tap ever sent a mutating request."""
    mutating = [
        f"{entry.method} {entry.path}"
        for server in EmulatorServer.created
        if not OWNERS.get(id(server), "").startswith("tests/emulator/")
        for entry in server.log.entries()
        if entry.method in ("DELETE", "PUT", "PATCH")
        or (entry.method == "POST" and not READ_ONLY_POSTS.match(entry.path))
    ]
    if mutating:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"MUTATING REQUESTS FROM TAPS: {sorted(set(mutating))}", red=True)
