"""Redis and PostgreSQL for the test session: the ones at REDIS_URL / DATABASE_URL (or the
defaults) when they answer, else throwaway ones of the session's own in a temporary directory,
else a stop at once with one message naming what to install.

Called from tests/conftest.py before any test module is imported, so every module that reads
REDIS_URL or DATABASE_URL sees the server that is actually there.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
START_TIMEOUT = 30.0
# Where Debian's packages put initdb and pg_ctl, off the PATH.
DEBIAN_POSTGRESQL = Path("/usr/lib/postgresql")


class MissingService(Exception):
    """Neither a running server nor the binaries to start one; the message says what to do."""


def ensure_services(
    environ: dict[str, str] | os._Environ[str] = os.environ,
    *,
    debian_postgresql: Path = DEBIAN_POSTGRESQL,
) -> list[str]:
    """Makes REDIS_URL and DATABASE_URL point at servers that answer; returns what it started.

    Raises `MissingService` naming every service that is neither running nor startable
    (binaries are looked up on `environ["PATH"]`, PostgreSQL's also under `debian_postgresql`),
    before starting any."""
    redis_url = environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    database_url = environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    search = environ.get("PATH")
    need_redis = not _answers(redis_url)
    need_postgres = not _answers(database_url)
    redis = shutil.which("redis-server", path=search) if need_redis else None
    postgres = _postgres_binaries(search, debian_postgresql) if need_postgres else None
    missing = []
    if need_redis and redis is None:
        missing.append(
            f"no Redis at {redis_url} and no redis-server to start one: "
            "install it (apt-get install redis-server) or set REDIS_URL"
        )
    if need_postgres and postgres is None:
        missing.append(
            f"no PostgreSQL at {database_url} and no initdb/pg_ctl to start one: "
            "install it (apt-get install postgresql) or set DATABASE_URL"
        )
    if missing:
        raise MissingService("; ".join(missing))
    started = []
    if redis is not None:
        environ["REDIS_URL"] = _start_redis(redis)
        started.append(f"redis-server at {environ['REDIS_URL']}")
    if postgres is not None:
        environ["DATABASE_URL"] = _start_postgres(postgres)
        started.append(f"PostgreSQL at {environ['DATABASE_URL']}")
    return started


def _answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), 1.0):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_listening(port: int, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not _answers(f"tcp://127.0.0.1:{port}"):
        if time.monotonic() > deadline:
            raise MissingService(f"{what} did not start within {START_TIMEOUT:g}s")
        time.sleep(0.05)


def _start_redis(binary: str) -> str:
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    atexit.register(_stop, process)
    _wait_until_listening(port, "redis-server")
    return f"redis://127.0.0.1:{port}/0"


def _postgres_binaries(search: str | None, debian: Path) -> Path | None:
    """The directory of initdb and pg_ctl, if there is one."""
    found = shutil.which("initdb", path=search)
    if found:
        return Path(found).parent
    installed = sorted(debian.glob("*/bin/initdb"))
    return installed[-1].parent if installed else None


def _start_postgres(binaries: Path) -> str:
    directory = Path(tempfile.mkdtemp(prefix="mcpc-test-pg-"))
    data = directory / "data"
    # PostgreSQL refuses to run as root: as root, run it as the postgres user.
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if run_as:
        shutil.chown(directory, "postgres")
    user = "postgres" if run_as else os.environ.get("USER", "postgres")
    port = _free_port()
    subprocess.run(
        [*run_as, str(binaries / "initdb"), "-D", str(data), "-U", user, "--auth=trust"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    options = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [*run_as, str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-w", "start"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    atexit.register(_stop_postgres, [*run_as, str(binaries / "pg_ctl"), "-D", str(data)], directory)
    asyncio.run(_create_database(f"postgresql://{user}@127.0.0.1:{port}/postgres", "test"))
    return f"postgresql://{user}@127.0.0.1:{port}/test"


async def _create_database(dsn: str, name: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=10)


def _stop_postgres(pg_ctl: list[str], directory: Path) -> None:
    subprocess.run([*pg_ctl, "-m", "immediate", "stop"], check=False, stdout=subprocess.DEVNULL)
    shutil.rmtree(directory, ignore_errors=True)
