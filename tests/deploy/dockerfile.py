"""Reads what the Dockerfile's final stage sets (ENV, HEALTHCHECK, CMD), so tests
can run the image's steps without a Docker engine and check that the
deployment specs agree with the image."""

from __future__ import annotations

import fnmatch
import json
import shlex
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from tests.support.mcp_servers import REPO_ROOT

DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"


@dataclass
class FinalStage:
    env: dict[str, str] = field(default_factory=dict)
    healthcheck: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    user: str = ""
    exposed: list[int] = field(default_factory=list)


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, rest = line.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def final_stage() -> FinalStage:
    stage = FinalStage()
    for keyword, rest in instructions(DOCKERFILE.read_text()):
        if keyword == "FROM":
            stage = FinalStage()
        elif keyword == "ENV":
            for pair in shlex.split(rest):
                name, _, value = pair.partition("=")
                stage.env[name] = value
        elif keyword == "HEALTHCHECK":
            words = shlex.split(rest)
            command = words[words.index("CMD") + 1 :]
            stage.healthcheck = command
        elif keyword == "CMD":
            stage.cmd = json.loads(rest)
        elif keyword == "USER":
            stage.user = rest
        elif keyword == "EXPOSE":
            stage.exposed = [int(port) for port in rest.split()]
    return stage


def ignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored(relative: str, patterns: list[str]) -> bool:
    """Whether Docker leaves `relative` (a path in the repository) out of the
    build context: the last matching pattern decides, `!` lets a path back in,
    and a pattern that matches a directory covers what is under it. Enough of
    .dockerignore's rules for the patterns this repository uses."""
    path = PurePosixPath(relative)
    candidates = [str(path), *(str(parent) for parent in path.parents if str(parent) != ".")]
    verdict = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        glob = pattern.removeprefix("!")
        tail = glob.removeprefix("**/")
        for candidate in candidates:
            if fnmatch.fnmatchcase(candidate, glob) or (
                glob.startswith("**/") and fnmatch.fnmatchcase(PurePosixPath(candidate).name, tail)
            ):
                verdict = not negated
                break
    return verdict
