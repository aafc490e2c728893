"""FakePostgrest: a FAKE of Supabase's REST endpoint (PostgREST), which cannot run here.

It serves `POST /rest/v1/<table>` and `POST /rest/v1/rpc/<function>` on 127.0.0.1, keeps every
request it receives so a test can check the wire contract, and stores the rows in the REAL
PostgreSQL the way PostgREST does:
`json_populate_recordset` over the table's row type, restricted to the `columns` parameter, and
`ON CONFLICT (<on_conflict>) DO NOTHING` when asked `Prefer: resolution=ignore-duplicates`.
A function call passes the JSON body's keys as named arguments, each cast to the parameter's
type, and answers as PostgREST does: a function returning rows, the rows as a JSON array, cut at
`max_rows` when given (PostgREST's db-max-rows, 1,000 by default on Supabase, cuts them without
an error); a function returning one value, that value.
A test can make it answer with an error instead, as PostgREST does when its database is down.
"""

from __future__ import annotations

import asyncio
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
    def __init__(self, dsn: str, schema: str, *, max_rows: int | None = None) -> None:
        self._dsn = dsn
        self.schema = schema
        self.max_rows = max_rows
        self.requests: list[ReceivedRequest] = []
        self.failure: Failure | None = None
        self._runner: web.AppRunner | None = None
        self._db: asyncpg.Connection[Any] | None = None
        # One connection: concurrent calls (the Usage reader sends three at once) take turns.
        self._db_turn = asyncio.Lock()
        self.url = ""

    async def __aenter__(self) -> FakePostgrest:
        self._db = await asyncpg.connect(self._dsn, server_settings={"search_path": self.schema})
        app = web.Application()
        app.router.add_post("/rest/v1/rpc/{function}", self._call)
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

    async def _call(self, request: web.Request) -> web.Response:
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
        async with self._db_turn:
            return await self._call_function(request.match_info["function"], body)

    async def _call_function(self, function: str, body: dict[str, Any]) -> web.Response:
        assert self._db is not None
        found = await self._db.fetchrow(
            "SELECT p.proargnames AS names, p.proretset AS returns_rows,"
            " array(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) t) AS types"
            " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = $1 AND p.proname = $2",
            self.schema,
            function,
        )
        if found is None:
            return _error(404, "PGRST202", f"Could not find the function {function}")
        types = dict(zip(found["names"], found["types"], strict=False))
        if unknown := set(body) - set(types):
            return _error(404, "PGRST202", f"{function} has no parameters {sorted(unknown)}")
        arguments = ", ".join(
            f"{_identifier(name)} => ($1::json ->> {_literal(name)})::{types[name]}"
            for name in body
        )
        call = f"{_identifier(function)}({arguments})"
        if found["returns_rows"]:
            limit = "" if self.max_rows is None else f" LIMIT {int(self.max_rows)}"
            rows = f"(SELECT * FROM {call}{limit}) _"
            sql = f"SELECT coalesce(json_agg(_), '[]'::json)::text FROM {rows}"
        else:
            sql = f"SELECT to_json({call})::text"
        try:
            rows = await self._db.fetchval(sql, json.dumps(body))
        except asyncpg.PostgresError as exc:
            return _error(400, exc.sqlstate or "", str(exc))
        return web.Response(status=200, text=rows, content_type="application/json")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response(
        {"code": code, "message": message, "details": None, "hint": None}, status=status
    )
