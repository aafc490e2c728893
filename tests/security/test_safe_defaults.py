"""Safe by default: no key means loopback only, ENVIRONMENT is a known value, production
needs a long key, keys are hashes in the YAML, and `keys create` makes one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from coordinator.auth import KeyRing, hash_key
from coordinator.cli import main
from coordinator.config import ConfigError, load_settings

LONG_KEY = "k" * 32


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "coordinator.internal"])
def test_no_key_on_a_non_loopback_address_refuses_to_start(host: str) -> None:
    with pytest.raises(ConfigError, match=r"HOST: refusing to serve .* without an API key"):
        load_settings({"HOST": host})


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_no_key_on_loopback_is_allowed(host: str) -> None:
    assert load_settings({"HOST": host}).auth_enabled is False


def test_allow_unauthenticated_says_so_explicitly() -> None:
    settings = load_settings({"HOST": "0.0.0.0", "ALLOW_UNAUTHENTICATED": "true"})
    assert settings.allow_unauthenticated is True
    assert load_settings({"HOST": "0.0.0.0", "COORDINATOR_API_KEY": "some-key"}).host == "0.0.0.0"


@pytest.mark.parametrize("given", ["production", "Production", "PRODUCTION", " production "])
def test_environment_is_case_insensitive(given: str) -> None:
    settings = load_settings({"ENVIRONMENT": given, "COORDINATOR_API_KEY": LONG_KEY})
    assert settings.environment == "production"


@pytest.mark.parametrize("given", ["prod", "dev", "live", ""])
def test_unknown_environments_stop_start_up(given: str) -> None:
    if given == "":
        assert load_settings({"ENVIRONMENT": given}).environment == "development"
        return
    with pytest.raises(ConfigError, match="ENVIRONMENT: must be one of development, test"):
        load_settings({"ENVIRONMENT": given})


def test_production_needs_a_key_of_at_least_32_characters() -> None:
    with pytest.raises(ConfigError, match="COORDINATOR_API_KEY: must be at least 32 characters"):
        load_settings({"ENVIRONMENT": "production", "COORDINATOR_API_KEY": "k"})
    with pytest.raises(ConfigError, match="COORDINATOR_API_KEY: required"):
        load_settings({"ENVIRONMENT": "production"})
    assert load_settings({"ENVIRONMENT": "production", "COORDINATOR_API_KEY": LONG_KEY})


def test_keys_from_the_yaml_file(tmp_path: Path) -> None:
    config = tmp_path / "coordinator.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "targets": [{"name": "odoo_lab", "url": "http://lab:8000/mcp"}],
                "api_keys": [
                    {
                        "id": "reporting",
                        "hash": hash_key("secret-one"),
                        "scopes": ["route", "status"],
                        "targets": ["odoo_lab"],
                        "rate": "50/s",
                        "burst": 100,
                        "target_rates": {"odoo_lab": {"rate": "10/m"}},
                    }
                ],
            }
        )
    )
    settings = load_settings({"HOST": "0.0.0.0"}, config)
    [key] = settings.api_keys
    assert (key.id, key.scopes, key.targets) == ("reporting", ("route", "status"), ("odoo_lab",))
    assert key.rate_limit is not None
    assert (key.rate_limit.rate, key.rate_limit.burst) == (50.0, 100)
    assert key.target_rates["odoo_lab"].rate == pytest.approx(10 / 60)
    principal = KeyRing.from_settings(settings).authenticate({"x-api-key": "secret-one"})
    assert principal.key_id == "reporting"


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"id": "a", "hash": "secret-one"}, "api_keys.a: hash must be"),
        ({"id": "a b", "hash": hash_key("x")}, "id 'a b' must match"),
        ({"id": "a", "hash": hash_key("x"), "scopes": ["write"]}, "api_keys.a.scopes.0"),
        ({"id": "a", "hash": hash_key("x"), "targets": ["nowhere"]}, "'nowhere' is not a"),
        ({"id": "a", "hash": hash_key("x"), "rate": "fast"}, "rate must look like 50/s"),
    ],
)
def test_bad_key_entries_name_the_key_and_never_echo_the_hash(
    tmp_path: Path, entry: dict[str, object], problem: str
) -> None:
    config = tmp_path / "coordinator.yaml"
    config.write_text(yaml.safe_dump({"api_keys": [entry]}))
    with pytest.raises(ConfigError) as raised:
        load_settings({}, config)
    assert problem in str(raised.value)
    assert "secret-one" not in str(raised.value)


def test_keys_create_prints_a_key_once_and_the_line_to_paste(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "coordinator", "keys", "create", "--id", "ci", "--scopes", "mcp"],
        capture_output=True,
        text=True,
        check=True,
    )
    first, _, entry = result.stdout.splitlines()
    key = first.split(": ", 1)[1]
    assert len(key) >= 32
    assert entry == f'  - {{id: "ci", hash: {hash_key(key)}, scopes: [mcp]}}'
    config = tmp_path / "coordinator.yaml"
    config.write_text("api_keys:\n" + entry + "\n")
    settings = load_settings({}, config)
    assert KeyRing.from_settings(settings).authenticate({"x-api-key": key}).key_id == "ci"


@pytest.mark.parametrize("key_id", ["2024", "true", "null", "no", "1e3"])
def test_the_printed_key_line_loads_whatever_the_id_looks_like_to_yaml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key_id: str
) -> None:
    argv = ["keys", "create", "--id", key_id, "--scopes", "route", "--targets", "odoo_lab"]
    assert main(argv) == 0
    first, _, entry = capsys.readouterr().out.splitlines()
    key = first.split(": ", 1)[1]
    config = tmp_path / "coordinator.yaml"
    config.write_text(
        "targets:\n  - {name: odoo_lab, transport: http, url: http://127.0.0.1:1/mcp}\n"
        "api_keys:\n" + entry + "\n"
    )
    principal = KeyRing.from_settings(load_settings({}, config)).authenticate({"x-api-key": key})
    assert principal.key_id == key_id


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["--id", "ci", "--targets", "BAD NAME"], "target 'BAD NAME' must match ^[a-z][a-z0-9_]*$"),
        (["--id", "ci", "--targets", "odoo_lab,Odoo"], "target 'Odoo' must match"),
        (["--id", "no spaces"], "id 'no spaces' must match"),
    ],
)
def test_keys_create_refuses_ids_and_targets_the_configuration_would_refuse(
    capsys: pytest.CaptureFixture[str], argv: list[str], problem: str
) -> None:
    assert main(["keys", "create", *argv]) == 2
    printed = capsys.readouterr()
    assert printed.out == ""  # no key was shown
    assert problem in printed.err
