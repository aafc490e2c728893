"""Routes built from the google.api.http options of service descriptors.

Each method's rule and its `additional_bindings` become one `Route` each,
compiled once at start-up: the template, the setters of path variables, the
body binding, the query filter and the response encoder. Building a request
message from an HTTP request then never walks a descriptor.

Precedence when several sources name the same field: path > body > query.
A path variable overwrites what the body said; a query parameter naming a
field bound by the path or the body (every field under `body: "*"`) is
ignored, as grpc-gateway's query filter does; a query parameter naming no
field of the request is rejected (400).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

from google.api import annotations_pb2, http_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from coordinator.calls import ServiceHandlers, UnaryHandler
from coordinator.errors import invalid_argument
from coordinator.limits import DEFAULT_LIMITS, InputLimits, check_json

from .jsonmap import CodecRegistry, JsonValue, TextFieldSetter, parse_json
from .templates import CompiledTemplate, PathTemplate, parse_template

_MAX_CACHED_QUERY_KEYS = 256


class GatewayConfigError(ValueError):
    """A service descriptor or handler set the gateway cannot serve."""


@dataclass(frozen=True, slots=True)
class HttpBinding:
    """One google.api.http rule of a method, additional bindings flattened."""

    http_method: str
    template: PathTemplate
    body: str
    response_body: str


def http_bindings(method: MethodDescriptor) -> list[HttpBinding]:
    """The method's HTTP bindings; empty when it has no google.api.http option."""
    options = method.GetOptions()
    if not options.HasExtension(annotations_pb2.http):
        return []
    rule = options.Extensions[annotations_pb2.http]
    bindings = [_binding(method, rule)]
    for extra in rule.additional_bindings:
        if extra.additional_bindings:
            raise GatewayConfigError(f"{method.full_name}: nested additional_bindings")
        bindings.append(_binding(method, extra))
    return bindings


def _binding(method: MethodDescriptor, rule: http_pb2.HttpRule) -> HttpBinding:
    pattern = rule.WhichOneof("pattern")
    if pattern is None:
        raise GatewayConfigError(f"{method.full_name}: google.api.http rule without a path")
    if pattern == "custom":
        http_method, path = rule.custom.kind.upper(), rule.custom.path
    else:
        http_method, path = pattern.upper(), getattr(rule, pattern)
    try:
        template = parse_template(path)
    except ValueError as error:
        raise GatewayConfigError(f"{method.full_name}: {error}") from None
    return HttpBinding(http_method, template, rule.body, rule.response_body)


def resolve_field_path(descriptor: Descriptor, names: Sequence[str]) -> list[FieldDescriptor]:
    """Fields along a dotted path (proto or JSON names); KeyError naming the
    first name that does not resolve, ValueError when the path goes through a
    repeated or non-message field."""
    fields: list[FieldDescriptor] = []
    current: Descriptor | None = descriptor
    for index, name in enumerate(names):
        if current is None:
            raise ValueError(f"{'.'.join(names[:index])} is not a message field")
        field = current.fields_by_name.get(name) or _fields_by_json_name(current).get(name)
        if field is None:
            raise KeyError(name)
        if index < len(names) - 1 and field.is_repeated:
            raise ValueError(f"{'.'.join(names[: index + 1])} is repeated")
        fields.append(field)
        current = field.message_type if field.type == FieldDescriptor.TYPE_MESSAGE else None
    return fields


def _fields_by_json_name(descriptor: Descriptor) -> dict[str, FieldDescriptor]:
    return {f.json_name: f for f in descriptor.fields}


def _top_level_field(
    method: MethodDescriptor, descriptor: Descriptor, name: str, label: str
) -> FieldDescriptor:
    """The field `name` of `descriptor`, which the rule's `label` names."""
    field = descriptor.fields_by_name.get(name)
    if field is None:
        raise GatewayConfigError(
            f"{method.full_name}: {label} {name!r} is not a top-level field "
            f"of {descriptor.full_name}"
        )
    return field


class Route:
    """One HTTP binding of one method, ready to turn requests into messages."""

    def __init__(
        self,
        method: MethodDescriptor,
        binding: HttpBinding,
        handler: UnaryHandler,
        registry: CodecRegistry,
        *,
        ignore_unknown_query_parameters: bool = False,
        limits: InputLimits = DEFAULT_LIMITS,
    ) -> None:
        self.method = method
        self._limits = limits
        self.http_method = binding.http_method
        self.grpc_method = f"/{method.containing_service.full_name}/{method.name}"
        self.handler = handler
        self.template = CompiledTemplate(binding.template)
        self.request_class: type[Message] = GetMessageClass(method.input_type)
        self.response_class: type[Message] = GetMessageClass(method.output_type)
        self._registry = registry
        self._request_codec = registry.codec(method.input_type)
        self._ignore_unknown_query = ignore_unknown_query_parameters
        self._query_setters: dict[str, TextFieldSetter | None] = {}

        bound: set[tuple[str, ...]] = set()
        self._path_setters: list[tuple[TextFieldSetter, str]] = []
        for variable in binding.template.variables:
            fields = self._resolve_path_variable(method.input_type, variable.field_path)
            leaf = fields[-1]
            if leaf.is_repeated or not TextFieldSetter.supports(leaf):
                raise GatewayConfigError(
                    f"{method.full_name}: path variable {'.'.join(variable.field_path)} "
                    "must be a singular scalar, enum or wrapper field"
                )
            names = tuple(f.name for f in fields)
            bound.add(names)
            self._path_setters.append((TextFieldSetter(fields, registry), ".".join(names)))

        self.takes_body = bool(binding.body)
        self._body_all = binding.body == "*"
        self._body_field: FieldDescriptor | None = None
        if binding.body and not self._body_all:
            field = _top_level_field(method, method.input_type, binding.body, "body field")
            self._body_field = field
            bound.add((field.name,))
        self._bound_query_prefixes = frozenset(bound)

        self.encode_response: Callable[[Message], JsonValue]
        if binding.response_body:
            field = _top_level_field(
                method, method.output_type, binding.response_body, "response_body"
            )
            field_encoder = registry.field_encoder(field)
            field_name = field.name
            self.encode_response = lambda message: field_encoder(getattr(message, field_name))
        else:
            self.encode_response = registry.codec(method.output_type).encode

    def _resolve_path_variable(
        self, descriptor: Descriptor, names: Sequence[str]
    ) -> list[FieldDescriptor]:
        try:
            return resolve_field_path(descriptor, names)
        except KeyError as error:
            raise GatewayConfigError(
                f"{self.method.full_name}: path variable {'.'.join(names)}: "
                f"no field {error.args[0]!r} in {descriptor.full_name}"
            ) from None
        except ValueError as error:
            raise GatewayConfigError(f"{self.method.full_name}: path variable: {error}") from None

    def build_request(self, captured: Sequence[str], body: bytes, query_string: bytes) -> Message:
        """The request message: body first, then query, then path variables."""
        message = self.request_class()
        if body:
            parsed = parse_json(body, "body")
            # Before decoding, which recurses: a deep document is refused, not a crash.
            check_json(parsed, self._limits)
            if self._body_all:
                self._request_codec.decode_into(parsed, message, "")
            elif self._body_field is not None:
                self._decode_body_field(message, parsed)
        if query_string:
            self._apply_query(message, query_string)
        for (setter, name), text in zip(self._path_setters, captured, strict=True):
            setter.set(message, (text,), name)
        return message

    def _decode_body_field(self, message: Message, parsed: JsonValue) -> None:
        field = self._body_field
        assert field is not None
        self._request_codec.decode_into({field.name: parsed}, message, "")

    def _apply_query(self, message: Message, query_string: bytes) -> None:
        try:
            pairs = parse_qsl(
                query_string.decode("latin-1"),
                keep_blank_values=True,
                encoding="utf-8",
                errors="strict",
            )
        except UnicodeDecodeError:
            raise invalid_argument("query", "not valid UTF-8 after percent-decoding") from None
        grouped: dict[str, list[str]] = {}
        for key, value in pairs:
            grouped.setdefault(key, []).append(value)
        for key, values in grouped.items():
            setter = self._query_setter(key)
            if setter is not None:
                setter.set(message, values, key)

    def _query_setter(self, key: str) -> TextFieldSetter | None:
        if key in self._query_setters:
            return self._query_setters[key]
        names = key.split(".")
        try:
            fields = resolve_field_path(self.method.input_type, names)
        except KeyError:
            if self._ignore_unknown_query:
                return None
            raise invalid_argument(key, "unknown query parameter") from None
        except ValueError as error:
            raise invalid_argument(key, f"query parameter cannot be set: {error}") from None
        proto_names = tuple(f.name for f in fields)
        setter: TextFieldSetter | None
        if any(proto_names[:i] in self._bound_query_prefixes for i in range(1, len(names) + 1)):
            setter = None  # bound by the path or the body, which take precedence
        elif self._body_all:
            setter = None
        elif not TextFieldSetter.supports(fields[-1]):
            raise invalid_argument(
                key, "a message or map field cannot be set from a query parameter; name its fields"
            )
        else:
            setter = TextFieldSetter(fields, self._registry)
        if len(self._query_setters) < _MAX_CACHED_QUERY_KEYS:
            self._query_setters[key] = setter
        return setter


def build_routes(
    services: Iterable[tuple[object, ServiceHandlers]],
    registry: CodecRegistry,
    *,
    ignore_unknown_query_parameters: bool = False,
    limits: InputLimits = DEFAULT_LIMITS,
) -> list[Route]:
    """Every HTTP binding of every method that has a handler.

    A method with a google.api.http option but no handler is a configuration
    error; a method without the option is simply not exposed over HTTP.
    """
    routes: list[Route] = []
    for service, handlers in services:
        methods = service.methods  # type: ignore[attr-defined]
        unknown = set(handlers) - {m.name for m in methods}
        if unknown:
            raise GatewayConfigError(
                f"{service.full_name}: handlers for unknown methods {sorted(unknown)}"  # type: ignore[attr-defined]
            )
        for method in methods:
            bindings = http_bindings(method)
            if not bindings:
                continue
            handler = handlers.get(method.name)
            if handler is None:
                raise GatewayConfigError(f"{method.full_name}: no handler")
            for binding in bindings:
                routes.append(
                    Route(
                        method,
                        binding,
                        handler,
                        registry,
                        ignore_unknown_query_parameters=ignore_unknown_query_parameters,
                        limits=limits,
                    )
                )
    return routes


@dataclass(frozen=True, slots=True)
class RouteMatch:
    route: Route
    captured: list[str]


class RouteTable:
    """Finds the route of a request: literal paths by dictionary, templates in
    order of specificity (see `PathTemplate.specificity`), ties in declaration
    order."""

    def __init__(self, routes: Sequence[Route]) -> None:
        self._literal: dict[tuple[str, str], Route] = {}
        self._patterns: dict[str, list[Route]] = {}
        for route in routes:
            template = route.template.template
            if template.is_literal:
                self._literal.setdefault((route.http_method, template.literal_path()), route)
            else:
                self._patterns.setdefault(route.http_method, []).append(route)
        for candidates in self._patterns.values():
            candidates.sort(key=lambda r: r.template.template.specificity())
        self._literal_methods: dict[str, set[str]] = {}
        for method, path in self._literal:
            self._literal_methods.setdefault(path, set()).add(method)

    def match(self, http_method: str, raw_path: str) -> RouteMatch | None:
        """The matching route; None when no route of this HTTP method matches.
        HEAD falls back to the GET route when no HEAD binding matches.
        Raises UnicodeDecodeError for a variable that is not valid UTF-8."""
        found = self._match(http_method, raw_path)
        if found is None and http_method == "HEAD":
            found = self._match("GET", raw_path)
        return found

    def _match(self, http_method: str, raw_path: str) -> RouteMatch | None:
        route = self._literal.get((http_method, raw_path))
        if route is not None:
            return RouteMatch(route, [])
        for route in self._patterns.get(http_method, ()):
            captured = route.template.match(raw_path)
            if captured is not None:
                return RouteMatch(route, captured)
        return None

    def allowed_methods(self, raw_path: str) -> list[str]:
        """HTTP methods some route would accept for this path (for 405)."""
        allowed = set(self._literal_methods.get(raw_path, ()))
        for http_method, routes in self._patterns.items():
            if http_method not in allowed and any(
                r.template.match(raw_path) is not None for r in routes
            ):
                allowed.add(http_method)
        if "GET" in allowed:
            allowed.add("HEAD")
        return sorted(allowed)
