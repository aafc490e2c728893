"""google.api.http path templates: parsing, matching and variable decoding.

Grammar (google/api/http.proto):

    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    FieldPath = IDENT { "." IDENT } ;
    Verb     = ":" LITERAL ;

A template is compiled once into a regular expression over the *raw*
(still percent-encoded) request path, so an encoded "/" (%2F) never splits a
segment. `**` matches zero or more segments and must be the last segment.
Captured values are percent-decoded as the spec says: fully for a variable
that spans one segment, and except for %2F for a variable that spans several.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote

SegmentKind = Literal["literal", "*", "**"]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_LITERAL_CHARS = re.compile(r"[^/{}*=:]+\Z")
_ENCODED_SLASH = re.compile("%2F", re.IGNORECASE)


class TemplateSyntaxError(ValueError):
    """A google.api.http path template that does not follow the grammar."""

    def __init__(self, template: str, problem: str) -> None:
        super().__init__(f"path template {template!r}: {problem}")
        self.template = template


@dataclass(frozen=True, slots=True)
class Segment:
    kind: SegmentKind
    literal: str = ""


@dataclass(frozen=True, slots=True)
class Variable:
    """A `{field.path=segments}` capture over segments [start, end)."""

    field_path: tuple[str, ...]
    start: int
    end: int
    multi_segment: bool


@dataclass(frozen=True, slots=True)
class PathTemplate:
    source: str
    segments: tuple[Segment, ...]
    variables: tuple[Variable, ...]
    verb: str | None

    @property
    def is_literal(self) -> bool:
        return not self.variables and all(s.kind == "literal" for s in self.segments)

    def literal_path(self) -> str:
        path = "/" + "/".join(s.literal for s in self.segments)
        return path + (":" + self.verb if self.verb else "")

    def specificity(self) -> tuple[int, tuple[int, ...]]:
        """Sort key: lower is tried first. Templates with a verb come first,
        then, segment by segment, a literal beats `*` and `*` beats `**`."""
        rank = {"literal": 0, "*": 1, "**": 2}
        return (0 if self.verb else 1, tuple(rank[s.kind] for s in self.segments))


def parse_template(source: str) -> PathTemplate:
    """Parses a path template; raises TemplateSyntaxError naming the problem."""
    if not source.startswith("/"):
        raise TemplateSyntaxError(source, "must start with '/'")
    body = source[1:]
    verb: str | None = None
    # The verb is a ':' after the last '/' and outside any variable braces.
    depth = 0
    for index in range(len(body) - 1, -1, -1):
        char = body[index]
        if char == "}":
            depth += 1
        elif char == "{":
            depth -= 1
        elif char == "/" and depth == 0:
            break
        elif char == ":" and depth == 0:
            verb = body[index + 1 :]
            body = body[:index]
            if not verb or not _LITERAL_CHARS.match(verb):
                raise TemplateSyntaxError(source, f"invalid verb {verb!r}")
            break
    segments: list[Segment] = []
    variables: list[Variable] = []
    for part in _split_top_level(source, body):
        if part.startswith("{"):
            if not part.endswith("}"):
                raise TemplateSyntaxError(source, f"unterminated variable {part!r}")
            inner = part[1:-1]
            name, _, pattern = inner.partition("=")
            field_path = tuple(name.split("."))
            if not all(_IDENT.match(p) for p in field_path):
                raise TemplateSyntaxError(source, f"invalid field path {name!r}")
            sub_segments = [_parse_segment(source, s) for s in (pattern or "*").split("/")]
            start = len(segments)
            segments.extend(sub_segments)
            variables.append(
                Variable(field_path, start, len(segments), multi_segment=_spans_many(sub_segments))
            )
        else:
            segments.append(_parse_segment(source, part))
    for index, segment in enumerate(segments):
        if segment.kind == "**" and index != len(segments) - 1:
            raise TemplateSyntaxError(source, "'**' must be the last segment")
    seen: set[tuple[str, ...]] = set()
    for variable in variables:
        if variable.field_path in seen:
            raise TemplateSyntaxError(source, f"variable {'.'.join(variable.field_path)} twice")
        seen.add(variable.field_path)
    return PathTemplate(source, tuple(segments), tuple(variables), verb)


def _spans_many(segments: list[Segment]) -> bool:
    return len(segments) > 1 or segments[0].kind == "**"


def _split_top_level(source: str, body: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in body:
        if char == "{":
            if depth:
                raise TemplateSyntaxError(source, "nested variables")
            depth = 1
        elif char == "}":
            if not depth:
                raise TemplateSyntaxError(source, "unbalanced '}'")
            depth = 0
        if char == "/" and not depth:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth:
        raise TemplateSyntaxError(source, "unbalanced '{'")
    parts.append("".join(current))
    return parts


def _parse_segment(source: str, text: str) -> Segment:
    if text == "*":
        return Segment("*")
    if text == "**":
        return Segment("**")
    if not text or not _LITERAL_CHARS.match(text):
        raise TemplateSyntaxError(source, f"invalid segment {text!r}")
    return Segment("literal", text)


class CompiledTemplate:
    """A template ready to match raw request paths."""

    __slots__ = ("_decoders", "_regex", "template")

    def __init__(self, template: PathTemplate) -> None:
        self.template = template
        pieces: list[str] = []
        starts = {v.start: i for i, v in enumerate(template.variables)}
        ends = {v.end: i for i, v in enumerate(template.variables)}
        for index, segment in enumerate(template.segments):
            if index in ends:
                pieces.append(")")
            if index in starts:
                pieces.append(f"(?P<v{starts[index]}>")
            if segment.kind == "**":
                # Zero or more segments; the group includes its leading "/".
                pieces.append("(?:/[^/]+)*")
            elif segment.kind == "*":
                pieces.append("/[^/]+")
            else:
                pieces.append("/" + re.escape(segment.literal))
        if len(template.segments) in ends:
            pieces.append(")")
        if template.verb is not None:
            pieces.append(":" + re.escape(template.verb))
        self._regex = re.compile("".join(pieces) + r"\Z")
        self._decoders = tuple(
            _decode_multi_segment if v.multi_segment else _decode_segment
            for v in template.variables
        )

    def match(self, raw_path: str) -> list[str] | None:
        """Captured values in variable order, decoded; None when the path does
        not match. Raises UnicodeDecodeError for invalid percent-encoded UTF-8."""
        found = self._regex.match(raw_path)
        if found is None:
            return None
        if not self._decoders:
            return []
        return [
            decode((found.group(f"v{i}") or "").removeprefix("/"))
            for i, decode in enumerate(self._decoders)
        ]


def _decode_segment(raw: str) -> str:
    return unquote(raw, errors="strict") if "%" in raw else raw


def _decode_multi_segment(raw: str) -> str:
    if "%" not in raw:
        return raw
    pieces = _ENCODED_SLASH.split(raw)
    slashes = _ENCODED_SLASH.findall(raw)
    out = [unquote(pieces[0], errors="strict")]
    for slash, piece in zip(slashes, pieces[1:], strict=True):
        out.append(slash)
        out.append(unquote(piece, errors="strict"))
    return "".join(out)
