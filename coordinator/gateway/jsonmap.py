"""proto3 JSON mapping between messages and parsed JSON values.

A `MessageCodec` is compiled once per message descriptor: the hot path walks a
precomputed plan instead of the descriptor, which makes it several times
faster than `google.protobuf.json_format` for the shapes a gateway sees.

Output follows protojson with `UseProtoNames` and `EmitUnpopulated` (what
grpc-gateway emits): proto field names, every field present, an unset
singular message or proto3 `optional` field as null, an unset member of a real
oneof left out, 64-bit integers as strings. Input accepts both the proto name
and the lowerCamel JSON name, rejects unknown fields and names the field at
fault (`book.tags[2]`, `labels["k"]`) in every error.

Path variables and query parameters arrive as text; `TextFieldSetter` parses
them by the field's type (enums by name or number, wrappers by their value,
Struct/Value/ListValue as JSON text).
"""

from __future__ import annotations

import base64
import binascii
import keyword
import math
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.internal import type_checkers
from google.protobuf.message import Message

from coordinator.errors import CoordinatorError, invalid_argument
from coordinator.structjson import walkers

JsonValue = Any
Encoder = Callable[[Any], JsonValue]
Converter = Callable[[Any, str], Any]

_F = FieldDescriptor
INT32_TYPES = {_F.TYPE_INT32, _F.TYPE_SINT32, _F.TYPE_SFIXED32}
UINT32_TYPES = {_F.TYPE_UINT32, _F.TYPE_FIXED32}
INT64_TYPES = {_F.TYPE_INT64, _F.TYPE_SINT64, _F.TYPE_SFIXED64}
UINT64_TYPES = {_F.TYPE_UINT64, _F.TYPE_FIXED64}
_RANGES = {
    **dict.fromkeys(INT32_TYPES, (-(2**31), 2**31 - 1)),
    **dict.fromkeys(UINT32_TYPES, (0, 2**32 - 1)),
    **dict.fromkeys(INT64_TYPES, (-(2**63), 2**63 - 1)),
    **dict.fromkeys(UINT64_TYPES, (0, 2**64 - 1)),
}
_FLOAT32_MAX = 3.4028234663852886e38
# Beyond 2**53 a float no longer holds every integer: JSON integers outside
# 64 bits reach us as floats, and would be silently rounded.
_EXACT_FLOAT_LIMIT = 2.0**53

WRAPPER_TYPES = {
    "google.protobuf.DoubleValue",
    "google.protobuf.FloatValue",
    "google.protobuf.Int64Value",
    "google.protobuf.UInt64Value",
    "google.protobuf.Int32Value",
    "google.protobuf.UInt32Value",
    "google.protobuf.BoolValue",
    "google.protobuf.StringValue",
    "google.protobuf.BytesValue",
}
_STRING_FORM = {
    "google.protobuf.Timestamp",
    "google.protobuf.Duration",
    "google.protobuf.FieldMask",
}
_STRUCT = "google.protobuf.Struct"
_VALUE = "google.protobuf.Value"
_LIST_VALUE = "google.protobuf.ListValue"
_EMPTY = "google.protobuf.Empty"
_ANY = "google.protobuf.Any"
JSON_TEXT_TYPES = frozenset({_STRUCT, _VALUE, _LIST_VALUE})
WELL_KNOWN_TYPES = frozenset(WRAPPER_TYPES | _STRING_FORM | JSON_TEXT_TYPES | {_EMPTY, _ANY})

_INTEGER_TEXT = re.compile(r"-?[0-9]+\Z")
_UNPAIRED_SURROGATE = re.compile(r"[\ud800-\udfff]")


def message_type_of(field: FieldDescriptor) -> Descriptor:
    descriptor = field.message_type
    if descriptor is None:
        raise TypeError(f"{field.full_name} is not a message field")
    return descriptor


def enum_type_of(field: FieldDescriptor) -> EnumDescriptor:
    descriptor = field.enum_type
    if descriptor is None:
        raise TypeError(f"{field.full_name} is not an enum field")
    return descriptor


def _bad(path: str, problem: str) -> CoordinatorError:
    return invalid_argument(path or "body", problem)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


# --- scalar conversions -------------------------------------------------------


def _integer_converter(field_type: int) -> Converter:
    low, high = _RANGES[field_type]

    def convert(value: Any, path: str) -> int:
        if isinstance(value, bool):
            raise _bad(path, "expected an integer, got a boolean")
        if isinstance(value, int):
            number = value
        elif isinstance(value, float):
            if not value.is_integer():
                raise _bad(path, f"expected an integer, got {value!r}")
            if abs(value) >= _EXACT_FLOAT_LIMIT:
                raise _bad(path, "integer too large for a JSON number; send it as a string")
            number = int(value)
        elif isinstance(value, str):
            number = _integer_from_text(value, path)
        else:
            raise _bad(path, f"expected an integer, got {_describe(value)}")
        if not low <= number <= high:
            raise _bad(path, f"integer {number} out of range [{low}, {high}]")
        return number

    return convert


def _integer_from_text(text: str, path: str) -> int:
    if _INTEGER_TEXT.match(text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not number.is_integer() or text.strip() != text:
        raise _bad(path, f"expected an integer, got {text!r}")
    return int(number)


def _float_converter(single_precision: bool) -> Converter:
    def convert(value: Any, path: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _bad(path, f"expected a number, got {_describe(value)}")
        try:
            number = _float_from_text(value, path) if isinstance(value, str) else float(value)
        except OverflowError:
            raise _bad(path, f"number {value} out of range") from None
        if single_precision and math.isfinite(number) and abs(number) > _FLOAT32_MAX:
            raise _bad(path, f"number {value!r} out of range for a 32-bit float")
        return number

    return convert


def _float_from_text(text: str, path: str) -> float:
    if text == "NaN":
        return math.nan
    if text == "Infinity":
        return math.inf
    if text == "-Infinity":
        return -math.inf
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or text.strip() != text:
        raise _bad(path, f"expected a number, got {text!r}")
    return number


def _bool_converter(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise _bad(path, f"expected true or false, got {_describe(value)}")
    return value


def _bool_from_text(text: str, path: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise _bad(path, f"expected true or false, got {text!r}")


def _string_converter(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _bad(path, f"expected a string, got {_describe(value)}")
    if not value.isascii() and _UNPAIRED_SURROGATE.search(value):
        raise _bad(path, "string contains an unpaired surrogate")
    return value


def _bytes_converter(value: Any, path: str) -> bytes:
    if not isinstance(value, str):
        raise _bad(path, f"expected base64 text, got {_describe(value)}")
    text = value.rstrip("=")
    text += "=" * (-len(text) % 4)
    altchars = b"-_" if ("-" in text or "_" in text) else None
    try:
        return base64.b64decode(text, altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        raise _bad(path, "expected base64 text") from None


def _enum_converter(enum: EnumDescriptor) -> Converter:
    by_name = {v.name: v.number for v in enum.values}
    known_numbers = {v.number for v in enum.values}

    def convert(value: Any, path: str) -> int:
        if isinstance(value, str):
            number = by_name.get(value)
            if number is not None:
                return number
            if _INTEGER_TEXT.match(value):
                value = int(value)
            else:
                raise _bad(path, f"unknown value {value!r} for enum {enum.full_name}")
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad(path, f"expected an enum name or number, got {_describe(value)}")
        if not -(2**31) <= value < 2**31 or (enum.is_closed and value not in known_numbers):
            raise _bad(path, f"unknown value {value} for enum {enum.full_name}")
        return value

    return convert


def scalar_converter(field: FieldDescriptor) -> Converter:
    """Converter from a parsed JSON value to the field's Python value."""
    field_type = field.type
    if field_type in _RANGES:
        return _integer_converter(field_type)
    if field_type in (_F.TYPE_DOUBLE, _F.TYPE_FLOAT):
        return _float_converter(field_type == _F.TYPE_FLOAT)
    if field_type == _F.TYPE_BOOL:
        return _bool_converter
    if field_type == _F.TYPE_STRING:
        return _string_converter
    if field_type == _F.TYPE_BYTES:
        return _bytes_converter
    if field_type == _F.TYPE_ENUM:
        return _enum_converter(enum_type_of(field))
    raise TypeError(f"{field.full_name} is not a scalar field")


def text_converter(field: FieldDescriptor) -> Converter:
    """Converter from path or query text to the field's Python value."""
    field_type = field.type
    if field_type == _F.TYPE_BOOL:
        return _bool_from_text
    if field_type in _RANGES:
        convert_json = _integer_converter(field_type)

        def convert_integer(text: Any, path: str) -> Any:
            if not _INTEGER_TEXT.match(text):
                raise _bad(path, f"expected an integer, got {text!r}")
            return convert_json(int(text), path)

        return convert_integer
    return scalar_converter(field)


def _scalar_encoder(field: FieldDescriptor) -> Encoder | None:
    """Encoder of one scalar value; None when the Python value is already JSON."""
    field_type = field.type
    if field_type in INT64_TYPES or field_type in UINT64_TYPES:
        return str
    if field_type == _F.TYPE_DOUBLE:
        return _encode_double
    if field_type == _F.TYPE_FLOAT:
        return _encode_float
    if field_type == _F.TYPE_BYTES:
        return _encode_bytes
    if field_type == _F.TYPE_ENUM:
        names = {v.number: v.name for v in enum_type_of(field).values}
        return lambda number: names.get(number, number)
    return None


def _encode_double(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def _encode_float(value: float) -> float | str:
    if math.isfinite(value):
        return float(type_checkers.ToShortestFloat(value))
    return _encode_double(value)


def _encode_bytes(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _map_key_encoder(field: FieldDescriptor) -> Encoder:
    if field.type == _F.TYPE_BOOL:
        return lambda key: "true" if key else "false"
    if field.type == _F.TYPE_STRING:
        return lambda key: key
    return str


# --- Struct / Value -----------------------------------------------------------


def _refuse_non_finite(number: float) -> JsonValue:
    raise ValueError("google.protobuf.Value cannot hold NaN or Infinity in JSON")


# The core's walker (`coordinator.structjson`), refusing what RFC 8259 JSON cannot hold.
struct_to_json, value_to_json = walkers(_refuse_non_finite)


class EncodedDocuments:
    """JSON forms of recently encoded Struct/Value documents, by their wire bytes.

    A cached answer goes out many times with the same content; walking it
    field by field costs about ten times as much as serializing it (C) and
    looking the bytes up. Equal bytes mean equal content, so a hit is always
    the right JSON; the returned objects are shared and must not be mutated
    (the gateway only dumps them). Bounded by the total of their wire bytes;
    small and very large documents are not kept.
    """

    MIN_BYTES = 128
    MAX_BYTES = 64 * 1024

    def __init__(self, convert: Callable[[Message], JsonValue], budget: int = 2 << 20) -> None:
        self._convert = convert
        self._budget = budget
        self._used = 0
        self._known: OrderedDict[bytes, JsonValue] = OrderedDict()

    def __call__(self, document: Message) -> JsonValue:
        wire = document.SerializeToString()
        if not self.MIN_BYTES <= len(wire) <= self.MAX_BYTES:
            return self._convert(document)
        known = self._known.get(wire, _MISSING)
        if known is not _MISSING:
            self._known.move_to_end(wire)
            return known
        encoded = self._convert(document)
        self._known[wire] = encoded
        self._used += len(wire)
        while self._used > self._budget:
            evicted, _ = self._known.popitem(last=False)
            self._used -= len(evicted)
        return encoded


_MISSING = object()


def _set_value(target: Message, value: JsonValue, path: str) -> None:
    if value is None:
        target.null_value = 0  # type: ignore[attr-defined]
    elif isinstance(value, bool):
        target.bool_value = value  # type: ignore[attr-defined]
    elif isinstance(value, int | float):
        try:
            target.number_value = float(value)  # type: ignore[attr-defined]
        except OverflowError:
            raise _bad(path, f"number {value} out of range") from None
    elif isinstance(value, str):
        target.string_value = _string_converter(value, path)  # type: ignore[attr-defined]
    elif isinstance(value, dict):
        _fill_struct(target.struct_value, value, path)  # type: ignore[attr-defined]
    elif isinstance(value, list):
        _fill_list(target.list_value, value, path)  # type: ignore[attr-defined]
    else:
        raise _bad(path, f"unsupported JSON value {type(value).__name__}")


def _fill_struct(struct: Message, value: dict[str, JsonValue], path: str) -> None:
    fields = struct.fields  # type: ignore[attr-defined]
    for key, item in value.items():
        _set_value(fields[_string_converter(key, path)], item, f'{path}["{key}"]')


def _fill_list(target: Message, value: list[JsonValue], path: str) -> None:
    values = target.values  # type: ignore[attr-defined]
    for index, item in enumerate(value):
        _set_value(values.add(), item, f"{path}[{index}]")


# --- message codecs -----------------------------------------------------------

_ALWAYS, _NULL_WHEN_UNSET, _OMIT_WHEN_UNSET = 0, 1, 2


class CodecRegistry:
    """One codec per message type, compiled on first use and then shared."""

    def __init__(self) -> None:
        self._codecs: dict[str, MessageCodec] = {}

    def codec(self, descriptor: Descriptor) -> MessageCodec:
        codec = self._codecs.get(descriptor.full_name)
        if codec is None:
            codec = MessageCodec(descriptor, self)
            self._codecs[descriptor.full_name] = codec
            codec.compile()
        return codec

    def field_encoder(self, field: FieldDescriptor) -> Encoder:
        """Encoder of the whole field value (list and map included)."""
        single = self._single_encoder(field)
        if is_map_field(field):
            key_field, value_field = _map_fields(field)
            encode_key = _map_key_encoder(key_field)
            encode_value = self._single_encoder(value_field) or _identity
            return lambda mapping: {encode_key(k): encode_value(v) for k, v in mapping.items()}
        if field.is_repeated:
            if single is None:
                return list
            return lambda values: [single(v) for v in values]
        return single or _identity

    def _single_encoder(self, field: FieldDescriptor) -> Encoder | None:
        if field.type == _F.TYPE_MESSAGE:
            return self.codec(message_type_of(field)).encode
        return _scalar_encoder(field)


def _identity(value: Any) -> Any:
    return value


def is_map_field(field: FieldDescriptor) -> bool:
    return (
        field.is_repeated
        and field.type == _F.TYPE_MESSAGE
        and message_type_of(field).GetOptions().map_entry
    )


def _map_fields(field: FieldDescriptor) -> tuple[FieldDescriptor, FieldDescriptor]:
    entry = message_type_of(field)
    return entry.fields_by_name["key"], entry.fields_by_name["value"]


FieldDecoder = Callable[[Message, JsonValue, str], None]


class MessageCodec:
    """JSON encoder and decoder of one message type."""

    def __init__(self, descriptor: Descriptor, registry: CodecRegistry) -> None:
        self.descriptor = descriptor
        self._registry = registry
        self._plan: list[tuple[str, Encoder | None, int]] = []
        self._decoders: dict[str, tuple[str, FieldDecoder, str | None]] = {}
        self._special = descriptor.full_name in WELL_KNOWN_TYPES
        self._encode: Callable[[Message], JsonValue] = self._encode_special
        if descriptor.full_name == _STRUCT:
            self._documents: EncodedDocuments | None = EncodedDocuments(struct_to_json)
        elif descriptor.full_name == _VALUE:
            self._documents = EncodedDocuments(value_to_json)
        else:
            self._documents = None

    def compile(self) -> None:
        if self._special:
            return
        for field in self.descriptor.fields:
            oneof = field.containing_oneof
            if oneof is not None and not is_synthetic_oneof(field):
                mode = _OMIT_WHEN_UNSET
            elif field.has_presence:
                mode = _NULL_WHEN_UNSET
            else:
                mode = _ALWAYS
            encoder = self._registry.field_encoder(field)
            self._plan.append((field.name, None if encoder is _identity else encoder, mode))
            entry = (
                field.name,
                self._field_decoder(field),
                oneof.name if oneof is not None and not is_synthetic_oneof(field) else None,
            )
            self._decoders[field.name] = entry
            self._decoders.setdefault(field.json_name, entry)
        self._encode = self._generate_encoder()

    # encoding

    def encode(self, message: Message) -> JsonValue:
        if self._special:
            return self._encode_special(message)
        return self._encode(message)

    def _generate_encoder(self) -> Callable[[Message], JsonValue]:
        """Compiles the plan into straight-line Python: one attribute read per
        field, no loop, no descriptor access (about twice as fast as a loop)."""
        namespace: dict[str, Any] = {}
        entries: list[tuple[str, str, int]] = []
        for index, (name, encoder, mode) in enumerate(self._plan):
            access = f"m.{name}" if _is_plain_attribute(name) else f"getattr(m, {name!r})"
            if encoder is not None:
                namespace[f"e{index}"] = encoder
                access = f"e{index}({access})"
            entries.append((name, access, mode))
        if any(mode == _OMIT_WHEN_UNSET for _, _, mode in entries):
            lines = ["def encode(m):", "    o = {}"]
            for name, expression, mode in entries:
                if mode == _ALWAYS:
                    lines.append(f"    o[{name!r}] = {expression}")
                elif mode == _NULL_WHEN_UNSET:
                    lines.append(
                        f"    o[{name!r}] = {expression} if m.HasField({name!r}) else None"
                    )
                else:
                    lines.append(f"    if m.HasField({name!r}): o[{name!r}] = {expression}")
            lines.append("    return o")
        else:
            items = [
                f"{name!r}: {expression}"
                if mode == _ALWAYS
                else f"{name!r}: ({expression} if m.HasField({name!r}) else None)"
                for name, expression, mode in entries
            ]
            lines = ["def encode(m):", f"    return {{{', '.join(items)}}}"]
        exec("\n".join(lines), namespace)  # source made of field names only
        encode: Callable[[Message], JsonValue] = namespace["encode"]
        return encode

    def _encode_special(self, message: Message) -> JsonValue:
        name = self.descriptor.full_name
        if name in WRAPPER_TYPES:
            field = self.descriptor.fields_by_name["value"]
            encoder = _scalar_encoder(field) or _identity
            return encoder(message.value)  # type: ignore[attr-defined]
        if self._documents is not None:  # Struct or Value
            return self._documents(message)
        if name == _LIST_VALUE:
            return [value_to_json(v) for v in message.values]  # type: ignore[attr-defined]
        if name in _STRING_FORM:
            return message.ToJsonString()  # type: ignore[attr-defined]
        if name == _EMPTY:
            return {}
        return json_format.MessageToDict(
            message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )

    # decoding

    def decode_into(self, value: JsonValue, message: Message, path: str = "") -> None:
        """Merges a parsed JSON value into `message`; `path` names its position."""
        if self._special:
            self._decode_special(value, message, path)
            return
        if not isinstance(value, dict):
            raise _bad(path, f"expected a JSON object, got {_describe(value)}")
        seen_fields: set[str] = set()
        seen_oneofs: dict[str, str] = {}
        prefix = f"{path}." if path else ""
        for key, item in value.items():
            entry = self._decoders.get(key)
            if entry is None:
                raise _bad(prefix + key, f"unknown field in {self.descriptor.full_name}")
            name, decode, oneof = entry
            field_path = prefix + name
            if name in seen_fields:
                raise _bad(field_path, "set twice (proto name and JSON name)")
            seen_fields.add(name)
            if oneof is not None and item is not None:
                other = seen_oneofs.setdefault(oneof, name)
                if other != name:
                    raise _bad(field_path, f"{other} is already set; oneof {oneof} takes one")
            decode(message, item, field_path)

    def _decode_special(self, value: JsonValue, message: Message, path: str) -> None:
        name = self.descriptor.full_name
        if name in WRAPPER_TYPES:
            field = self.descriptor.fields_by_name["value"]
            message.value = scalar_converter(field)(value, path)  # type: ignore[attr-defined]
        elif name == _STRUCT:
            if not isinstance(value, dict):
                raise _bad(path, f"expected a JSON object, got {_describe(value)}")
            _fill_struct(message, value, path)
        elif name == _VALUE:
            _set_value(message, value, path)
        elif name == _LIST_VALUE:
            if not isinstance(value, list):
                raise _bad(path, f"expected an array, got {_describe(value)}")
            _fill_list(message, value, path)
        elif name in _STRING_FORM:
            if not isinstance(value, str):
                raise _bad(path, f"expected a string, got {_describe(value)}")
            try:
                message.FromJsonString(value)  # type: ignore[attr-defined]
            except (ValueError, TypeError, OverflowError) as error:
                raise _bad(path, str(error)) from None
        elif name == _EMPTY:
            if not isinstance(value, dict) or value:
                raise _bad(path, "expected an empty JSON object")
        else:
            try:
                json_format.ParseDict(value, message)
            except (json_format.ParseError, TypeError, ValueError) as error:
                raise _bad(path, str(error)) from None

    def _field_decoder(self, field: FieldDescriptor) -> FieldDecoder:
        name = field.name
        if is_map_field(field):
            return self._map_decoder(field)
        if field.is_repeated:
            return self._repeated_decoder(field)
        if field.type == _F.TYPE_MESSAGE:
            registry = self._registry
            descriptor = message_type_of(field)
            is_value = descriptor.full_name == _VALUE

            def decode_message(message: Message, value: JsonValue, path: str) -> None:
                if value is None and not is_value:
                    message.ClearField(name)
                    return
                sub = getattr(message, name)
                sub.SetInParent()
                registry.codec(descriptor).decode_into(value, sub, path)

            return decode_message
        convert = scalar_converter(field)

        def decode_scalar(message: Message, value: JsonValue, path: str) -> None:
            if value is None:
                message.ClearField(name)
            else:
                setattr(message, name, convert(value, path))

        return decode_scalar

    def _repeated_decoder(self, field: FieldDescriptor) -> FieldDecoder:
        name = field.name
        if field.type == _F.TYPE_MESSAGE:
            registry = self._registry
            descriptor = message_type_of(field)

            def decode_messages(message: Message, value: JsonValue, path: str) -> None:
                if value is None:
                    message.ClearField(name)
                    return
                if not isinstance(value, list):
                    raise _bad(path, f"expected an array, got {_describe(value)}")
                container = getattr(message, name)
                codec = registry.codec(descriptor)
                for index, item in enumerate(value):
                    if item is None and descriptor.full_name != _VALUE:
                        raise _bad(f"{path}[{index}]", "null is not allowed in an array")
                    codec.decode_into(item, container.add(), f"{path}[{index}]")

            return decode_messages
        convert = scalar_converter(field)

        def decode_scalars(message: Message, value: JsonValue, path: str) -> None:
            if value is None:
                message.ClearField(name)
                return
            if not isinstance(value, list):
                raise _bad(path, f"expected an array, got {_describe(value)}")
            converted = []
            for index, item in enumerate(value):
                if item is None:
                    raise _bad(f"{path}[{index}]", "null is not allowed in an array")
                converted.append(convert(item, f"{path}[{index}]"))
            getattr(message, name).extend(converted)

        return decode_scalars

    def _map_decoder(self, field: FieldDescriptor) -> FieldDecoder:
        name = field.name
        key_field, value_field = _map_fields(field)
        convert_key = text_converter(key_field)
        registry = self._registry
        value_is_message = value_field.type == _F.TYPE_MESSAGE
        convert_value = None if value_is_message else scalar_converter(value_field)

        def decode_map(message: Message, value: JsonValue, path: str) -> None:
            if value is None:
                message.ClearField(name)
                return
            if not isinstance(value, dict):
                raise _bad(path, f"expected a JSON object, got {_describe(value)}")
            container = getattr(message, name)
            for raw_key, item in value.items():
                item_path = f'{path}["{raw_key}"]'
                key = convert_key(raw_key, item_path)
                if convert_value is not None:
                    if item is None:
                        raise _bad(item_path, "null is not allowed as a map value")
                    container[key] = convert_value(item, item_path)
                else:
                    descriptor = message_type_of(value_field)
                    if item is None and descriptor.full_name != _VALUE:
                        raise _bad(item_path, "null is not allowed as a map value")
                    registry.codec(descriptor).decode_into(item, container[key], item_path)

        return decode_map


def _is_plain_attribute(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def is_synthetic_oneof(field: FieldDescriptor) -> bool:
    """True for the one-member oneof protoc makes for a proto3 `optional`."""
    oneof = field.containing_oneof
    return oneof is not None and len(oneof.fields) == 1 and oneof.name == f"_{field.name}"


# --- JSON text ----------------------------------------------------------------


def parse_json(data: bytes, what: str) -> JsonValue:
    """Parses JSON text (RFC 8259: UTF-8, no NaN or Infinity, numbers that fit
    a double); INVALID_ARGUMENT naming the position when malformed."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise invalid_argument(
            what, f"malformed JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None


def dump_json(value: JsonValue) -> bytes:
    """Compact UTF-8 JSON. Values come from the encoders above: string keys,
    64-bit integers already as strings, non-finite floats already as names."""
    return orjson.dumps(value)


# --- text fields (path variables and query parameters) ------------------------


class TextFieldSetter:
    """Sets a field reached by a path of fields from text values."""

    __slots__ = ("_codec", "_convert", "_is_json", "_leaf", "_parents", "repeated")

    def __init__(self, fields: Sequence[FieldDescriptor], registry: CodecRegistry) -> None:
        *parents, leaf = fields
        self._parents = tuple(f.name for f in parents)
        self._leaf = leaf
        self.repeated = leaf.is_repeated
        self._is_json = False
        if leaf.type == _F.TYPE_MESSAGE:
            codec = registry.codec(message_type_of(leaf))
            full_name = message_type_of(leaf).full_name
            if full_name in WRAPPER_TYPES:
                inner = text_converter(message_type_of(leaf).fields_by_name["value"])
                self._convert: Converter = inner
            elif full_name in _STRING_FORM:
                self._convert = lambda text, path: text
            elif full_name in JSON_TEXT_TYPES:
                self._is_json = True
                self._convert = lambda text, path: parse_json(text.encode("utf-8"), path)
            else:
                raise TypeError(f"{leaf.full_name}: a message field cannot be set from text")
            self._codec: MessageCodec | None = codec
        else:
            self._convert = text_converter(leaf)
            self._codec = None

    @staticmethod
    def supports(field: FieldDescriptor) -> bool:
        if is_map_field(field):
            return False
        if field.type != _F.TYPE_MESSAGE:
            return True
        name = message_type_of(field).full_name
        return name in WRAPPER_TYPES or name in _STRING_FORM or name in JSON_TEXT_TYPES

    def set(self, message: Message, texts: Sequence[str], path: str) -> None:
        target = message
        for name in self._parents:
            target = getattr(target, name)
        leaf = self._leaf
        if not self.repeated and len(texts) > 1:
            raise _bad(path, "given more than once but the field is not repeated")
        values = [self._convert(text, path) for text in texts]
        codec = self._codec
        if codec is None:
            if self.repeated:
                getattr(target, leaf.name).extend(values)
            else:
                setattr(target, leaf.name, values[0])
            return
        for value in values:
            if self.repeated:
                sub = getattr(target, leaf.name).add()
            else:
                sub = getattr(target, leaf.name)
                sub.Clear()
                sub.SetInParent()
            if self._is_json or message_type_of(leaf).full_name in _STRING_FORM:
                codec.decode_into(value, sub, path)
            else:
                sub.value = value
