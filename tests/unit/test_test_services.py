"""The test session's services: with neither a server nor binaries to start one, one message
names everything missing, and the session stops at once with it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.services import DEFAULT_DATABASE_URL, MissingService, ensure_services

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port bound but not listening: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def test_every_missing_service_is_named_in_one_message_and_nothing_starts(
    closed_port: int, tmp_path: Path
) -> None:
    environ = {
        "REDIS_URL": f"redis://127.0.0.1:{closed_port}/0",
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{closed_port}/test",
        "PATH": str(tmp_path),  # no redis-server, initdb or pg_ctl here
    }
    before = dict(environ)
    with pytest.raises(MissingService) as raised:
        ensure_services(environ, debian_postgresql=tmp_path)
    assert str(raised.value) == (
        f"no Redis at redis://127.0.0.1:{closed_port}/0 and no redis-server to start one:"
        " install it (apt-get install redis-server) or set REDIS_URL;"
        f" no PostgreSQL at postgresql://postgres@127.0.0.1:{closed_port}/test and no"
        " initdb/pg_ctl to start one: install it (apt-get install postgresql) or set DATABASE_URL"
    )
    assert environ == before


@pytest.mark.slow
def test_the_session_stops_with_that_message_and_no_traceback(
    closed_port: int, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "REDIS_URL": f"redis://127.0.0.1:{closed_port}/0",
        "DATABASE_URL": os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        "PATH": str(tmp_path),
    }
    env.pop("MCPC_TEST_SERVICES", None)
    finished = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = finished.stdout + finished.stderr
    assert finished.returncode == 4, output
    assert (
        f"ERROR: cannot run the tests: no Redis at redis://127.0.0.1:{closed_port}/0"
        " and no redis-server to start one" in output
    )
    assert "Traceback" not in output
    assert "ImportError" not in output
