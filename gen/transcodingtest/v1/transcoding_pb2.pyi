import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import wrappers_pb2 as _wrappers_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Genre(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GENRE_UNSPECIFIED: _ClassVar[Genre]
    GENRE_FICTION: _ClassVar[Genre]
    GENRE_SCIENCE: _ClassVar[Genre]
    GENRE_HISTORY: _ClassVar[Genre]
GENRE_UNSPECIFIED: Genre
GENRE_FICTION: Genre
GENRE_SCIENCE: Genre
GENRE_HISTORY: Genre

class GetMessageRequest(_message.Message):
    __slots__ = ("name", "user_id", "message_id", "sub", "revision")
    NAME_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    SUB_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    name: str
    user_id: str
    message_id: str
    sub: SubMessage
    revision: int
    def __init__(self, name: _Optional[str] = ..., user_id: _Optional[str] = ..., message_id: _Optional[str] = ..., sub: _Optional[_Union[SubMessage, _Mapping]] = ..., revision: _Optional[int] = ...) -> None: ...

class SubMessage(_message.Message):
    __slots__ = ("subfield",)
    SUBFIELD_FIELD_NUMBER: _ClassVar[int]
    subfield: str
    def __init__(self, subfield: _Optional[str] = ...) -> None: ...

class Message(_message.Message):
    __slots__ = ("name", "text")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    name: str
    text: str
    def __init__(self, name: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class Book(_message.Message):
    __slots__ = ("name", "title", "author_name", "genre", "tags", "pages", "metadata", "published", "rating")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_NAME_FIELD_NUMBER: _ClassVar[int]
    GENRE_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    PAGES_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    name: str
    title: str
    author_name: str
    genre: Genre
    tags: _containers.RepeatedScalarFieldContainer[str]
    pages: int
    metadata: _struct_pb2.Struct
    published: _timestamp_pb2.Timestamp
    rating: float
    def __init__(self, name: _Optional[str] = ..., title: _Optional[str] = ..., author_name: _Optional[str] = ..., genre: _Optional[_Union[Genre, str]] = ..., tags: _Optional[_Iterable[str]] = ..., pages: _Optional[int] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., published: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., rating: _Optional[float] = ...) -> None: ...

class GetBookRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class PageRange(_message.Message):
    __slots__ = ("min", "max")
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    min: int
    max: int
    def __init__(self, min: _Optional[int] = ..., max: _Optional[int] = ...) -> None: ...

class BookFilter(_message.Message):
    __slots__ = ("author", "pages")
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    PAGES_FIELD_NUMBER: _ClassVar[int]
    author: str
    pages: PageRange
    def __init__(self, author: _Optional[str] = ..., pages: _Optional[_Union[PageRange, _Mapping]] = ...) -> None: ...

class ListBooksRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "tags", "genre", "genres", "filter", "min_pages", "in_print", "labels", "since", "read_mask", "min_rating", "cursor", "language", "max_id", "max_age", "years", "extra")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    GENRE_FIELD_NUMBER: _ClassVar[int]
    GENRES_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    MIN_PAGES_FIELD_NUMBER: _ClassVar[int]
    IN_PRINT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    READ_MASK_FIELD_NUMBER: _ClassVar[int]
    MIN_RATING_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    MAX_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_AGE_FIELD_NUMBER: _ClassVar[int]
    YEARS_FIELD_NUMBER: _ClassVar[int]
    EXTRA_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    genre: Genre
    genres: _containers.RepeatedScalarFieldContainer[Genre]
    filter: BookFilter
    min_pages: _wrappers_pb2.Int32Value
    in_print: _wrappers_pb2.BoolValue
    labels: _struct_pb2.Struct
    since: _timestamp_pb2.Timestamp
    read_mask: _field_mask_pb2.FieldMask
    min_rating: float
    cursor: bytes
    language: str
    max_id: int
    max_age: _duration_pb2.Duration
    years: _containers.RepeatedScalarFieldContainer[int]
    extra: _struct_pb2.Value
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., genre: _Optional[_Union[Genre, str]] = ..., genres: _Optional[_Iterable[_Union[Genre, str]]] = ..., filter: _Optional[_Union[BookFilter, _Mapping]] = ..., min_pages: _Optional[_Union[_wrappers_pb2.Int32Value, _Mapping]] = ..., in_print: _Optional[_Union[_wrappers_pb2.BoolValue, _Mapping]] = ..., labels: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., read_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., min_rating: _Optional[float] = ..., cursor: _Optional[bytes] = ..., language: _Optional[str] = ..., max_id: _Optional[int] = ..., max_age: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., years: _Optional[_Iterable[int]] = ..., extra: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class ListBooksResponse(_message.Message):
    __slots__ = ("books", "next_page_token")
    BOOKS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    books: _containers.RepeatedCompositeFieldContainer[Book]
    next_page_token: str
    def __init__(self, books: _Optional[_Iterable[_Union[Book, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CreateBookRequest(_message.Message):
    __slots__ = ("parent", "book", "book_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    BOOK_FIELD_NUMBER: _ClassVar[int]
    BOOK_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    book: Book
    book_id: str
    def __init__(self, parent: _Optional[str] = ..., book: _Optional[_Union[Book, _Mapping]] = ..., book_id: _Optional[str] = ...) -> None: ...

class UpdateBookRequest(_message.Message):
    __slots__ = ("book", "update_mask")
    BOOK_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    book: Book
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, book: _Optional[_Union[Book, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteBookRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class MoveBookRequest(_message.Message):
    __slots__ = ("name", "other_shelf_name")
    NAME_FIELD_NUMBER: _ClassVar[int]
    OTHER_SHELF_NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    other_shelf_name: str
    def __init__(self, name: _Optional[str] = ..., other_shelf_name: _Optional[str] = ...) -> None: ...

class GetFileRequest(_message.Message):
    __slots__ = ("path",)
    PATH_FIELD_NUMBER: _ClassVar[int]
    path: str
    def __init__(self, path: _Optional[str] = ...) -> None: ...

class File(_message.Message):
    __slots__ = ("path", "content")
    PATH_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    path: str
    content: bytes
    def __init__(self, path: _Optional[str] = ..., content: _Optional[bytes] = ...) -> None: ...

class ListShelfNamesRequest(_message.Message):
    __slots__ = ("limit",)
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    limit: int
    def __init__(self, limit: _Optional[int] = ...) -> None: ...

class ListShelfNamesResponse(_message.Message):
    __slots__ = ("names", "total")
    NAMES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    names: _containers.RepeatedScalarFieldContainer[str]
    total: int
    def __init__(self, names: _Optional[_Iterable[str]] = ..., total: _Optional[int] = ...) -> None: ...

class Nested(_message.Message):
    __slots__ = ("name", "amount")
    NAME_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    amount: int
    def __init__(self, name: _Optional[str] = ..., amount: _Optional[int] = ...) -> None: ...

class Everything(_message.Message):
    __slots__ = ("string_value", "int32_value", "int64_value", "uint32_value", "uint64_value", "sint32_value", "fixed64_value", "float_value", "double_value", "bool_value", "bytes_value", "enum_value", "nested", "nested_list", "string_list", "string_map", "nested_map", "struct_value", "any_json", "list_json", "wrapped_string", "wrapped_int64", "timestamp_value", "duration_value", "optional_int32", "choice_text", "choice_number")
    class StringMapEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class NestedMapEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: Nested
        def __init__(self, key: _Optional[int] = ..., value: _Optional[_Union[Nested, _Mapping]] = ...) -> None: ...
    STRING_VALUE_FIELD_NUMBER: _ClassVar[int]
    INT32_VALUE_FIELD_NUMBER: _ClassVar[int]
    INT64_VALUE_FIELD_NUMBER: _ClassVar[int]
    UINT32_VALUE_FIELD_NUMBER: _ClassVar[int]
    UINT64_VALUE_FIELD_NUMBER: _ClassVar[int]
    SINT32_VALUE_FIELD_NUMBER: _ClassVar[int]
    FIXED64_VALUE_FIELD_NUMBER: _ClassVar[int]
    FLOAT_VALUE_FIELD_NUMBER: _ClassVar[int]
    DOUBLE_VALUE_FIELD_NUMBER: _ClassVar[int]
    BOOL_VALUE_FIELD_NUMBER: _ClassVar[int]
    BYTES_VALUE_FIELD_NUMBER: _ClassVar[int]
    ENUM_VALUE_FIELD_NUMBER: _ClassVar[int]
    NESTED_FIELD_NUMBER: _ClassVar[int]
    NESTED_LIST_FIELD_NUMBER: _ClassVar[int]
    STRING_LIST_FIELD_NUMBER: _ClassVar[int]
    STRING_MAP_FIELD_NUMBER: _ClassVar[int]
    NESTED_MAP_FIELD_NUMBER: _ClassVar[int]
    STRUCT_VALUE_FIELD_NUMBER: _ClassVar[int]
    ANY_JSON_FIELD_NUMBER: _ClassVar[int]
    LIST_JSON_FIELD_NUMBER: _ClassVar[int]
    WRAPPED_STRING_FIELD_NUMBER: _ClassVar[int]
    WRAPPED_INT64_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_VALUE_FIELD_NUMBER: _ClassVar[int]
    DURATION_VALUE_FIELD_NUMBER: _ClassVar[int]
    OPTIONAL_INT32_FIELD_NUMBER: _ClassVar[int]
    CHOICE_TEXT_FIELD_NUMBER: _ClassVar[int]
    CHOICE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    string_value: str
    int32_value: int
    int64_value: int
    uint32_value: int
    uint64_value: int
    sint32_value: int
    fixed64_value: int
    float_value: float
    double_value: float
    bool_value: bool
    bytes_value: bytes
    enum_value: Genre
    nested: Nested
    nested_list: _containers.RepeatedCompositeFieldContainer[Nested]
    string_list: _containers.RepeatedScalarFieldContainer[str]
    string_map: _containers.ScalarMap[str, str]
    nested_map: _containers.MessageMap[int, Nested]
    struct_value: _struct_pb2.Struct
    any_json: _struct_pb2.Value
    list_json: _struct_pb2.ListValue
    wrapped_string: _wrappers_pb2.StringValue
    wrapped_int64: _wrappers_pb2.Int64Value
    timestamp_value: _timestamp_pb2.Timestamp
    duration_value: _duration_pb2.Duration
    optional_int32: int
    choice_text: str
    choice_number: int
    def __init__(self, string_value: _Optional[str] = ..., int32_value: _Optional[int] = ..., int64_value: _Optional[int] = ..., uint32_value: _Optional[int] = ..., uint64_value: _Optional[int] = ..., sint32_value: _Optional[int] = ..., fixed64_value: _Optional[int] = ..., float_value: _Optional[float] = ..., double_value: _Optional[float] = ..., bool_value: _Optional[bool] = ..., bytes_value: _Optional[bytes] = ..., enum_value: _Optional[_Union[Genre, str]] = ..., nested: _Optional[_Union[Nested, _Mapping]] = ..., nested_list: _Optional[_Iterable[_Union[Nested, _Mapping]]] = ..., string_list: _Optional[_Iterable[str]] = ..., string_map: _Optional[_Mapping[str, str]] = ..., nested_map: _Optional[_Mapping[int, Nested]] = ..., struct_value: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., any_json: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., list_json: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ..., wrapped_string: _Optional[_Union[_wrappers_pb2.StringValue, _Mapping]] = ..., wrapped_int64: _Optional[_Union[_wrappers_pb2.Int64Value, _Mapping]] = ..., timestamp_value: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., duration_value: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., optional_int32: _Optional[int] = ..., choice_text: _Optional[str] = ..., choice_number: _Optional[int] = ...) -> None: ...

class FailRequest(_message.Message):
    __slots__ = ("code", "message", "field", "sleep_ms", "crash")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    SLEEP_MS_FIELD_NUMBER: _ClassVar[int]
    CRASH_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    field: str
    sleep_ms: int
    crash: bool
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., field: _Optional[str] = ..., sleep_ms: _Optional[int] = ..., crash: _Optional[bool] = ...) -> None: ...

class InspectRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CallInfo(_message.Message):
    __slots__ = ("door", "method", "metadata", "request_id", "time_remaining")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DOOR_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_REMAINING_FIELD_NUMBER: _ClassVar[int]
    door: str
    method: str
    metadata: _containers.ScalarMap[str, str]
    request_id: str
    time_remaining: _wrappers_pb2.DoubleValue
    def __init__(self, door: _Optional[str] = ..., method: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., request_id: _Optional[str] = ..., time_remaining: _Optional[_Union[_wrappers_pb2.DoubleValue, _Mapping]] = ...) -> None: ...
