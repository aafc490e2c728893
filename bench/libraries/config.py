"""Reading the environment (`coordinator/config.py`) vs pydantic-settings: behaviour only."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from bench.libraries.timing import facts
from coordinator.config import ConfigError, load_settings


class _LibrarySettings(BaseSettings):
    """The same scalar settings declared with pydantic-settings (a few of them)."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid")

    environment: str = "development"
    port: int = Field(default=8766, ge=0, le=65535)
    cache_ttl: float = Field(default=300.0, ge=0)
    default_target: str | None = None
    targets: tuple[dict[str, Any], ...] = ()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_file = os.environ.get("COORDINATOR_CONFIG")
        sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings)
        if yaml_file:
            sources += (YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file),)
        return sources


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _library_outcome(env: dict[str, str]) -> str:
    with _environment(env):
        try:
            settings = _LibrarySettings()
        except ValidationError as exc:
            return "`" + " ".join(str(exc).split()) + "`"
    return f"port={settings.port}, cache_ttl={settings.cache_ttl}, targets={settings.targets}"


def _ours_outcome(env: dict[str, str]) -> str:
    try:
        settings = load_settings(env)
    except ConfigError as exc:
        return f"`{exc}`"
    return (
        f"port={settings.port}, cache_ttl={settings.cache_ttl}, "
        f"targets={[(t.name, t.url) for t in settings.targets]}"
    )


def run(_batches: int) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        yaml_file = Path(folder) / "coordinator.yaml"
        yaml_file.write_text("port: 9000\ncache_ttl: 60\n")
        cases = [
            ("CACHE_TTL=soon", {"CACHE_TTL": "soon"}),
            ("PORT=70000 (ours checks 0..65535)", {"PORT": "70000"}),
            (
                "ODOO_PROD_MCP_URL=http://odoo:8000/mcp",
                {"ODOO_PROD_MCP_URL": "http://odoo:8000/mcp"},
            ),
            (
                "YAML port 9000, env PORT=9100",
                {"COORDINATOR_CONFIG": str(yaml_file), "PORT": "9100"},
            ),
        ]
        rows = []
        for label, env in cases:
            rows.append(
                (label, f"ours: {_ours_outcome(env)}<br>pydantic-settings: {_library_outcome(env)}")
            )
    rows.append(
        (
            "`<NAME>_MCP_URL`: a target per variable, names not known in advance",
            "pydantic-settings: not expressible by field declarations; it takes a custom "
            "`PydanticBaseSettingsSource` that scans the environment, i.e. the loop "
            "`load_settings` already is",
        )
    )
    return ["## config: `load_settings` vs pydantic-settings", "", *facts(rows)]
