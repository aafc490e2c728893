"""FakePostgrest: a FAKE of Supabase's REST endpoint (PostgREST), which cannot run here.

It serves `POST /rest/v1/<table>` on 127.0.0.1, keeps every request it receives so a test can
check the wire contract, and stores the rows in the REAL PostgreSQL the way PostgREST does:
`json_populate_recordset` over the table's row type, restricted to the `columns` parameter, and
`ON CONFLICT (<on_conflict>) DO NOTHING` when asked `Prefer: resolution=ignore-duplicates`.
A test can make it answer with an error instead, as PostgREST does when its database is down.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import asyncpg
from aiohttp import web


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: Any


@dataclass(frozen=True)
class Failure:
    status: int
    code: str
    message: str


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class FakePostgrest:
    def __init__(self, dsn: str, schema: str) -> None:
        self._dsn = dsn
        self.schema = schema
        self.requests: list[ReceivedRequest] = []
        self.failure: Failure | None = None
        self._runner: web.AppRunner | None = None
        self._db: asyncpg.Connection[Any] | None = None
        self.url = ""

    async def __aenter__(self) -> FakePostgrest:
        self._db = await asyncpg.connect(self._dsn, server_settings={"search_path": self.schema})
        app = web.Application()
        app.router.add_post("/rest/v1/{table}", self._insert)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._runner is not None
        assert self._db is not None
        await self._runner.cleanup()
        await self._db.close()

    async def _insert(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(
            ReceivedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
            )
        )
        if self.failure is not None:
            return _error(self.failure.status, self.failure.code, self.failure.message)
        if request.headers.get("Content-Profile", "public") != self.schema:
            return _error(
                406, "PGRST106", "The schema must be one of the following: " + self.schema
            )
        table = _identifier(request.match_info["table"])
        columns = ", ".join(
            _identifier(c.strip().strip('"')) for c in request.query["columns"].split(",")
        )
        prefer = {p.strip() for p in request.headers.get("Prefer", "").split(",")}
        conflict = ""
        if "resolution=ignore-duplicates" in prefer and "on_conflict" in request.query:
            conflict = f" ON CONFLICT ({_identifier(request.query['on_conflict'])}) DO NOTHING"
        sql = (
            f"INSERT INTO {table} ({columns}) SELECT {columns} "
            f"FROM json_populate_recordset(NULL::{table}, $1::json) _{conflict}"
        )
        assert self._db is not None
        try:
            await self._db.execute(sql, json.dumps(body))
        except asyncpg.PostgresError as exc:
            status = 409 if exc.sqlstate == "23505" else 400
            return _error(status, exc.sqlstate or "", str(exc))
        return web.Response(status=201)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response(
        {"code": code, "message": message, "details": None, "hint": None}, status=status
    )
