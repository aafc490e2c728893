from __future__ import annotations

import pytest

from coordinator.gateway.templates import CompiledTemplate, TemplateSyntaxError, parse_template


def _match(template: str, path: str) -> list[str] | None:
    return CompiledTemplate(parse_template(template)).match(path)


@pytest.mark.parametrize(
    ("template", "path", "captured"),
    [
        ("/v1/{name}", "/v1/abc", ["abc"]),
        ("/v1/{name=messages/*}", "/v1/messages/1", ["messages/1"]),
        ("/v1/{a}/x/{b.c}", "/v1/1/x/2", ["1", "2"]),
        ("/v1/{name=shelves/*/books/*}", "/v1/shelves/1/books/2", ["shelves/1/books/2"]),
        ("/v1/{name=**}", "/v1/a/b/c", ["a/b/c"]),
        ("/v1/files/{path=**}", "/v1/files", [""]),
        ("/v1/{name=shelves/*}:clear", "/v1/shelves/1:clear", ["shelves/1"]),
        ("/v1/{path=**}:get", "/v1/a/b:get", ["a/b"]),
        ("/v1/*/x", "/v1/anything/x", []),
        ("/v1/{id}", "/v1/a%20b%2Fc", ["a b/c"]),
        ("/v1/{id=**}", "/v1/a%20b%2Fc/d", ["a b%2Fc/d"]),
        ("/v1/{id}", "/v1/a:b", ["a:b"]),
    ],
)
def test_matches_and_decodes(template: str, path: str, captured: list[str]) -> None:
    assert _match(template, path) == captured


@pytest.mark.parametrize(
    ("template", "path"),
    [
        ("/v1/{name}", "/v1/a/b"),
        ("/v1/{name}", "/v1/"),
        ("/v1/{name=messages/*}", "/v1/books/1"),
        ("/v1/{name}:clear", "/v1/x"),
        ("/v1/x", "/v1/x/"),
    ],
)
def test_does_not_match(template: str, path: str) -> None:
    assert _match(template, path) is None


@pytest.mark.parametrize(
    "template",
    [
        "v1/x",
        "/v1/{name",
        "/v1/{a={b}}",
        "/v1/**/x",
        "/v1/{1abc}",
        "/v1/x:",
        "/v1//x",
        "/v1/{a}/{a}",
    ],
)
def test_rejects_bad_templates(template: str) -> None:
    with pytest.raises(TemplateSyntaxError):
        parse_template(template)


def test_specificity_prefers_verbs_then_literals_then_wildcards() -> None:
    templates = ["/v1/{path=**}", "/v1/{a}/b", "/v1/x/b", "/v1/{path=**}:get"]

    ordered = sorted(templates, key=lambda t: parse_template(t).specificity())

    assert ordered == ["/v1/{path=**}:get", "/v1/x/b", "/v1/{a}/b", "/v1/{path=**}"]
