"""Handlers of the test-only TranscodingService: they record what they receive.

Real handlers (no mocks): each is the `UnaryHandler` the gateway calls in
process, and the recorded request is what a table test compares against.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from google.protobuf import empty_pb2
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message
from transcodingtest.v1 import transcoding_pb2 as pb

from coordinator.calls import CallContext, ServiceHandlers, UnaryHandler
from coordinator.errors import CoordinatorError, ErrorCode

SERVICE: ServiceDescriptor = pb.DESCRIPTOR.services_by_name["TranscodingService"]


@dataclass
class RecordedCall:
    method: str
    request: Message
    context: CallContext


@dataclass
class RecordingService:
    calls: list[RecordedCall] = field(default_factory=list)

    def handlers(self) -> ServiceHandlers:
        return {
            "GetMessage": self._recorded(self._get_message),
            "GetBook": self._recorded(self._get_book),
            "ListBooks": self._recorded(self._list_books),
            "CreateBook": self._recorded(self._create_book),
            "UpdateBook": self._recorded(self._update_book),
            "DeleteBook": self._recorded(self._delete_book),
            "MoveBook": self._recorded(self._move_book),
            "GetFile": self._recorded(self._get_file),
            "ListShelfNames": self._recorded(self._list_shelf_names),
            "Echo": self._recorded(self._echo),
            "Fail": self._recorded(self._fail),
            "Inspect": self._recorded(self._inspect),
            "Hidden": self._recorded(self._hidden),
        }

    @property
    def last(self) -> RecordedCall:
        return self.calls[-1]

    def _recorded(self, handler: UnaryHandler) -> UnaryHandler:
        async def record(request: Message, context: CallContext) -> Message:
            self.calls.append(RecordedCall(context.method, request, context))
            return await handler(request, context)

        return record

    async def _get_message(self, request: Message, context: CallContext) -> Message:
        assert isinstance(request, pb.GetMessageRequest)
        return pb.Message(name=request.name or request.message_id, text="hello")

    async def _get_book(self, request: Message, context: CallContext) -> Message:
        assert isinstance(request, pb.GetBookRequest)
        return pb.Book(name=request.name, title="Dune", pages=412)

    async def _list_books(self, request: Message, context: CallContext) -> Message:
        assert isinstance(request, pb.ListBooksRequest)
        return pb.ListBooksResponse(books=[pb.Book(name=f"{request.parent}/books/1")])

    async def _create_book(self, request: Message, context: CallContext) -> Message:
        assert isinstance(request, pb.CreateBookRequest)
        book = pb.Book()
        book.CopyFrom(request.book)
        book.name = f"{request.parent}/books/{request.book_id or 'new'}"
        return book

    async def _update_book(self, request: Message, context: CallContext) -> Message:
        assert isinstance(request, pb.UpdateBookRequest)
        return request.book

    async def _delete_book(self, request: Message, context: CallContext) -> Message:
        return empty_pb2.Empty()

    async def _move_book(self, request: Message, context: CallContext) -> Message:
        assert isinstance(request, pb.MoveBookRequest)
        book_id = request.name.rsplit("/", 1)[-1]
        return pb.Book(name=f"{request.other_shelf_name}/books/{book_id}")

    async def _get_file(self, request: Message, context: CallContext) -> Message:
        assert isinstance(request, pb.GetFileRequest)
        return pb.File(path=request.path, content=b"\x00\x01")

    async def _list_shelf_names(self, request: Message, context: CallContext) -> Message:
        return pb.ListShelfNamesResponse(names=["shelves/1", "shelves/2"], total=2)

    async def _echo(self, request: Message, context: CallContext) -> Message:
        return request

    async def _fail(self, request: Message, context: CallContext) -> Message:
        assert isinstance(request, pb.FailRequest)
        if request.sleep_ms:
            await asyncio.sleep(request.sleep_ms / 1000)
        if request.crash:
            raise RuntimeError("handler bug: this text must not reach the client")
        if request.code:
            raise CoordinatorError(
                ErrorCode(request.code), request.message, field=request.field or None
            )
        return empty_pb2.Empty()

    async def _inspect(self, request: Message, context: CallContext) -> Message:
        info = pb.CallInfo(
            door=context.door,
            method=context.method,
            metadata=dict(context.metadata),
            request_id=context.request_id,
        )
        remaining = context.time_remaining()
        if remaining is not None:
            info.time_remaining.value = remaining
        return info

    async def _hidden(self, request: Message, context: CallContext) -> Message:
        return empty_pb2.Empty()
