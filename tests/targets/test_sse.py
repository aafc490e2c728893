"""The event-stream reader on its own: lines cut anywhere by the network, the events and the
JSON-RPC messages they carry, and the resumption of a stream cut before the answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any

from coordinator.targets import sse


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def collect(parts: Iterable[bytes]) -> list[str]:
    return [line async for line in sse.lines(chunks(*parts), "t")]


async def test_lines_are_whole_however_the_chunks_cut_them() -> None:
    stream = b"data: one\r\n\r\ndata: t" + b"wo\n" + b"\n: a comment\nda" + b"ta: three"
    cut_every_byte = [stream[i : i + 1] for i in range(len(stream))]
    expected = ["data: one\r\n", "\r\n", "data: two\n", "\n", ": a comment\n", "data: three"]
    assert await collect([stream]) == expected
    assert await collect(cut_every_byte) == expected


async def test_messages_come_from_message_events_only_until_one_is_the_answer() -> None:
    stream = (
        b": keep-alive\n\n"
        b"event: ping\ndata: not a message\n\n"
        b"id: 7\nretry: 250\ndata: first\ndata: second\n\n"
        b"data: answer\n\n"
        b"data: after the answer\n\n"
    )
    seen: list[str] = []

    def on_data(data: str) -> str | None:
        seen.append(data)
        return data if data == "answer" else None

    parser = sse.SseParser()
    found = await sse.read_messages(chunks(stream), parser, on_data, "t")
    assert found == "answer"
    assert seen == ["first\nsecond", "answer"]
    assert (parser.last_event_id, parser.retry) == ("7", 250)


async def test_an_event_cut_by_the_end_of_the_stream_still_counts() -> None:
    found = await sse.read_messages(chunks(b"data: last"), sse.SseParser(), lambda d: d, "t")
    assert found == "last"


def cut_stream() -> tuple[sse.SseParser, asyncio.Future[Any]]:
    """A stream cut before its answer, whose server asked for no pause before reopening."""
    parser = sse.SseParser()
    parser.feed_line("retry: 0")
    return parser, asyncio.get_running_loop().create_future()


async def test_a_resumed_stream_that_carries_the_answer_ends_the_wait() -> None:
    parser, delivered = cut_stream()
    opened: list[int] = []

    async def reopen() -> Any:
        opened.append(1)
        return {"id": 1, "result": {}} if len(opened) == 3 else None

    assert await sse.resume(parser, delivered, reopen) == {"id": 1, "result": {}}
    assert len(opened) == 3


async def test_an_answer_delivered_on_another_stream_wins_over_the_reopened_one() -> None:
    parser, delivered = cut_stream()
    never = asyncio.Event()

    async def reopen() -> Any:
        delivered.set_result({"id": 1, "result": {"on": "the listener"}})
        await never.wait()  # this stream never answers

    assert await sse.resume(parser, delivered, reopen) == {
        "id": 1,
        "result": {"on": "the listener"},
    }


async def test_resuming_gives_up_after_its_limit() -> None:
    parser, delivered = cut_stream()
    opened: list[int] = []

    async def reopen() -> Any:
        opened.append(1)  # and the stream ends again without the answer

    assert await sse.resume(parser, delivered, reopen) is None
    assert len(opened) == sse.MAX_RESUMES
