"""Configuration from environment variables and YAML, and the errors it gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from coordinator.breaker import BreakerPolicy
from coordinator.config import ConfigError, load_settings
from coordinator.retry import RetryPolicy

DOCUMENTED_ENV = {
    "COORDINATOR_API_KEY": "s3cret-key-0123456789abcdefghijklmnop",
    "ENVIRONMENT": "production",
    "ODOO_PROD_MCP_URL": "http://odoo-prod:8000/mcp",
    "ODOO_LAB_MCP_URL": "http://odoo-lab:8000/mcp",
    "SUPABASE_URL": "https://project.supabase.co",
    "SUPABASE_SERVICE_ROLE_KEY": "service-role",
    "REDIS_URL": "redis://localhost:6379/0",
    "DEFAULT_TARGET": "odoo_prod",
    "ENABLE_AGGREGATION": "true",
    "CACHE_TTL": "300",
}


def test_documented_environment_variables_work_as_written() -> None:
    settings = load_settings(DOCUMENTED_ENV)
    assert settings.api_key == "s3cret-key-0123456789abcdefghijklmnop"
    assert settings.environment == "production"
    assert settings.target_names == ("odoo_prod", "odoo_lab")
    assert settings.target("odoo_prod").url == "http://odoo-prod:8000/mcp"
    assert settings.target("odoo_lab").transport == "http"
    assert settings.default_target == "odoo_prod"
    assert settings.enable_aggregation is True
    assert settings.cache_ttl == 300.0
    assert settings.redis_url == "redis://localhost:6379/0"
    assert settings.supabase_url == "https://project.supabase.co"


def test_secrets_stay_out_of_repr() -> None:
    text = repr(load_settings(DOCUMENTED_ENV))
    assert "s3cret-key-0123456789abcdefghijklmnop" not in text
    assert "service-role" not in text


def test_any_name_mcp_url_defines_a_target_with_its_options() -> None:
    settings = load_settings(
        {
            "CRM_MCP_URL": "http://crm/mcp",
            "CRM_MCP_QUERY_TOOL": "ask",
            "CRM_MCP_TIMEOUT": "2.5",
            "CRM_MCP_PROTOCOL": "2025-11-25",
        }
    )
    crm = settings.target("crm")
    assert (crm.query_tool, crm.timeout, crm.protocol) == ("ask", 2.5, "2025-11-25")


def test_yaml_adds_rules_and_stdio_targets_and_env_wins(tmp_path: Path) -> None:
    config = tmp_path / "coordinator.yaml"
    config.write_text(
        """
cache_ttl: 60
default_target: odoo_lab
failover_order: [odoo_lab, local]
targets:
  - name: odoo_lab
    url: http://from-yaml/mcp
    query_tool: ask
  - name: local
    transport: stdio
    command: python
    args: ["-m", "some.server"]
query_rules:
  - name: oca
    pattern: "\\\\boca\\\\b"
    target: odoo_lab
    reason: OCA questions go to the lab
"""
    )
    settings = load_settings(
        {
            "COORDINATOR_CONFIG": str(config),
            "ODOO_LAB_MCP_URL": "http://from-env/mcp",
            "CACHE_TTL": "5",
        }
    )
    assert settings.cache_ttl == 5.0
    assert settings.default_target == "odoo_lab"
    lab = settings.target("odoo_lab")
    assert (lab.url, lab.query_tool) == ("http://from-env/mcp", "ask")
    local = settings.target("local")
    assert (local.transport, local.command, local.args) == (
        "stdio",
        "python",
        ("-m", "some.server"),
    )
    assert settings.query_rules[0].name == "oca"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CACHE_TTL": "soon"}, "CACHE_TTL: "),
        ({"CACHE_TTL": "-1"}, "CACHE_TTL: "),
        ({"PORT": "99999"}, "PORT: "),
        ({"ODOO_PROD_MCP_URL": "ftp://x"}, "targets.odoo_prod: url must start with http://"),
        (
            {"ODOO_PROD_MCP_TIMEOUT": "0", "ODOO_PROD_MCP_URL": "http://x"},
            "targets.odoo_prod.timeout",
        ),
        (
            {"ODOO_PROD_MCP_URL": "http://x", "DEFAULT_TARGET": "odoo_qa"},
            "DEFAULT_TARGET: 'odoo_qa'",
        ),
        ({"ENVIRONMENT": "production"}, "COORDINATOR_API_KEY: required"),
        ({"ENABLE_AGGREGATION": "perhaps"}, "ENABLE_AGGREGATION: "),
        (
            {"COORDINATOR_CONFIG": "/nonexistent/coordinator.yaml"},
            "COORDINATOR_CONFIG: cannot read",
        ),
    ],
)
def test_invalid_configuration_names_the_key(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(env)
    assert message in str(raised.value)


def test_yaml_unknown_key_is_rejected(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("cache_tll: 5\n")
    with pytest.raises(ConfigError, match="cache_tll"):
        load_settings({"COORDINATOR_CONFIG": str(config)})


def test_stdio_target_needs_a_command(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("targets:\n  - name: local\n    transport: stdio\n")
    with pytest.raises(ConfigError, match=r"targets\.local: command is required"):
        load_settings({"COORDINATOR_CONFIG": str(config)})


def test_groups_of_targets_holding_the_same_data(tmp_path: Path) -> None:
    config = tmp_path / "coordinator.yaml"
    config.write_text(
        "targets:\n"
        "  - {name: odoo_prod, url: 'http://prod:8000/mcp', group: production}\n"
        "  - {name: odoo_prod_b, url: 'http://prod-b:8000/mcp', group: production}\n"
        "  - {name: odoo_lab, url: 'http://lab:8000/mcp', enabled: false}\n"
    )
    settings = load_settings({"ODOO_LAB_MCP_GROUP": "lab"}, config_path=config)
    assert settings.groups == {
        "odoo_prod": "production",
        "odoo_prod_b": "production",
        "odoo_lab": "lab",
    }
    assert settings.enabled_target_names == ("odoo_prod", "odoo_prod_b")
    alone = load_settings({"ODOO_PROD_MCP_URL": "http://prod:8000/mcp"})
    assert alone.groups == {"odoo_prod": "odoo_prod"}  # by default, a group of its own
    with pytest.raises(ConfigError) as raised:
        load_settings({"ODOO_PROD_MCP_URL": "http://p/mcp", "ODOO_PROD_MCP_GROUP": "Prod Data"})
    assert str(raised.value).startswith("targets.odoo_prod: group 'Prod Data' must match")


def test_retry_and_breaker_policies_come_from_the_yaml(tmp_path: Path) -> None:
    config = tmp_path / "coordinator.yaml"
    config.write_text(
        "retry: {initial_backoff: 0.01, max_backoff: 0.2, budget_ratio: 0.5}\n"
        "breaker: {failure_threshold: 3, open_seconds: 10, max_open_seconds: 60}\n"
    )
    settings = load_settings({}, config_path=config)
    assert settings.retry.policy() == RetryPolicy(
        initial_backoff=0.01, max_backoff=0.2, budget_ratio=0.5, min_concurrent_retries=3
    )
    assert settings.breaker.policy() == BreakerPolicy(3, 10.0, 60.0)
    assert load_settings({}).breaker.policy() == BreakerPolicy()  # the defaults
    config.write_text("breaker: {open_seconds: 100, max_open_seconds: 60}\n")
    with pytest.raises(ConfigError) as raised:
        load_settings({}, config_path=config)
    assert str(raised.value) == (
        "breaker: max_open_seconds (60) must be at least open_seconds (100)"
    )
    config.write_text("retry: {budget_ratio: 2}\n")
    with pytest.raises(ConfigError) as too_much:
        load_settings({}, config_path=config)
    assert str(too_much.value).startswith("retry.budget_ratio: Input should be less than")
