"""infra/do/mcp-coordinator.yaml is a valid App Platform app spec (the subset of
fields it uses, tests/deploy/do_app_spec_schema.py) and says what the service
needs: the image's ports, the health check, two or more instances, secrets as
SECRET without values in git, a managed Redis-compatible cache, the domain."""

from __future__ import annotations

import copy
import re
from typing import Any

import jsonschema
import pytest
import yaml

from coordinator.config import Settings, load_settings
from tests.deploy.do_app_spec_schema import APP_SPEC
from tests.deploy.dockerfile import final_stage
from tests.support.mcp_servers import REPO_ROOT

SPEC_PATH = REPO_ROOT / "infra" / "do" / "mcp-coordinator.yaml"
SECRET_KEYS = {"COORDINATOR_API_KEY", "ODOO_PROD_MCP_URL", "ODOO_LAB_MCP_URL", "DATABASE_URL"}
BINDING = re.compile(r"^\$\{(?P<component>[a-z0-9-]+)\.(?P<variable>[A-Z_]+)\}$")
# What App Platform puts in the secrets and the cache binding at deploy time.
FILLED = {
    "COORDINATOR_API_KEY": "4f1c9e0b7a2d58e6c3b9f07a1d2e4c6b8a0f3e5d7c9b1a2f4e6d8c0b2a4f6e8d",
    "ODOO_PROD_MCP_URL": "http://odoo-prod:8000/mcp",
    "ODOO_LAB_MCP_URL": "http://odoo-lab:8000/mcp",
    "DATABASE_URL": "postgresql://usage@db:25060/usage",
    "REDIS_URL": "rediss://default:secret@cache:25061",
}


@pytest.fixture
def spec() -> dict[str, Any]:
    loaded = yaml.safe_load(SPEC_PATH.read_text())
    assert isinstance(loaded, dict)
    return loaded


def service(spec: dict[str, Any]) -> dict[str, Any]:
    (only,) = spec["services"]
    assert isinstance(only, dict)
    return only


def envs(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["key"]: item for item in service(spec)["envs"]}


def test_the_spec_matches_the_app_platform_fields_it_uses(spec: dict[str, Any]) -> None:
    jsonschema.validate(spec, APP_SPEC)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("services", 0, "instance_cont"), 2),  # misspelt field
        (("services", 0, "http_port"), "8766"),  # wrong type
        (("services", 0, "envs", 0, "type"), "PASSWORD"),  # not an env var type
        (("databases", 0, "engine"), "MEMCACHED"),  # not an engine
    ],
)
def test_the_schema_rejects_what_app_platform_rejects(
    spec: dict[str, Any], path: tuple[str | int, ...], value: Any
) -> None:
    broken = copy.deepcopy(spec)
    node: Any = broken
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, APP_SPEC)


def test_ports_and_health_check_are_the_images(spec: dict[str, Any]) -> None:
    image_env = final_stage().env
    coordinator = service(spec)

    assert coordinator["http_port"] == int(image_env["PORT"])
    assert coordinator["internal_ports"] == [int(image_env["GRPC_PORT"])]
    assert coordinator["health_check"]["http_path"] == "/health"
    assert coordinator["health_check"]["port"] == int(image_env["PORT"])
    (rule,) = spec["ingress"]["rules"]
    assert rule["component"]["name"] == coordinator["name"]
    assert rule["match"]["path"]["prefix"] == "/"


def test_runs_two_or_more_instances_of_the_registry_image(spec: dict[str, Any]) -> None:
    coordinator = service(spec)

    assert coordinator["instance_count"] >= 2
    assert coordinator["image"]["registry_type"] == "DOCR"
    assert coordinator["image"]["repository"] == "mcp-coordinator"


def test_keys_and_urls_are_secrets_without_values_in_git(spec: dict[str, Any]) -> None:
    variables = envs(spec)

    for key in SECRET_KEYS:
        assert variables[key]["type"] == "SECRET", key
        assert "value" not in variables[key], key
    assert variables["ENVIRONMENT"]["value"] == "production"


def test_redis_url_is_bound_to_the_managed_cache(spec: dict[str, Any]) -> None:
    binding = BINDING.match(envs(spec)["REDIS_URL"]["value"])
    assert binding is not None
    (database,) = spec["databases"]

    assert binding["component"] == database["name"]
    assert binding["variable"] == "DATABASE_URL"
    # Valkey is DigitalOcean's managed Redis-compatible engine.
    assert database["engine"] in {"REDIS", "VALKEY"}
    assert database["production"] is True


def test_serves_the_domain(spec: dict[str, Any]) -> None:
    (domain,) = spec["domains"]

    assert domain["domain"] == "mcp.insightpulseai.net"
    assert domain["type"] == "PRIMARY"


def settings_of(spec: dict[str, Any]) -> Settings:
    """The spec's variables, secrets and bindings filled in, as App Platform
    gives them to the image, loaded as the coordinator's settings."""
    env = dict(final_stage().env)
    for key, item in envs(spec).items():
        env[key] = FILLED.get(key, item.get("value", ""))
    return load_settings(env=env)


def test_the_environment_starts_the_coordinator_and_the_drain_fits(
    spec: dict[str, Any],
) -> None:
    settings = settings_of(spec)

    assert settings.environment == "production"
    assert settings.target_names == ("odoo_prod", "odoo_lab")
    assert settings.redis_url == FILLED["REDIS_URL"]
    termination = service(spec)["termination"]
    assert termination["grace_period_seconds"] > settings.drain_seconds


def test_without_the_cache_each_instance_keeps_its_share_of_the_rate_limits(
    spec: dict[str, Any],
) -> None:
    # While Redis is unreachable every instance limits at rate / RATE_LIMIT_REPLICAS.
    assert settings_of(spec).rate_limit_replicas == service(spec)["instance_count"]
