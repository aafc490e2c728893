"""TLS on both doors from TLS_CERT_FILE / TLS_KEY_FILE, and mutual TLS with
TLS_CLIENT_CA_FILE, with certificates the test makes."""

from __future__ import annotations

import asyncio
import json
import ssl
import sys
from pathlib import Path

import grpc
import httpx
import pytest
from mcpcoordinator.v1 import coordinator_pb2 as pb
from mcpcoordinator.v1 import coordinator_pb2_grpc as pb_grpc

from coordinator.app import Coordinator
from coordinator.config import ConfigError, load_settings
from tests.integration.conftest import settings_for
from tests.support.mcp_servers import SampleServer

from .certificates import Pki, make_pki

API_KEY = "tls-test-key-0123456789abcdefghij"
AUTH = (("x-api-key", API_KEY),)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def grpc_credentials(pki: Pki, *, with_client_cert: bool) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        root_certificates=pki.ca_file.read_bytes(),
        private_key=pki.client_key.read_bytes() if with_client_cert else None,
        certificate_chain=pki.client_cert.read_bytes() if with_client_cert else None,
    )


async def test_both_doors_serve_tls_and_refuse_plain_text(
    pki: Pki, shared_prod: SampleServer
) -> None:
    settings = settings_for(
        shared_prod.target_config(),
        api_key=API_KEY,
        tls_cert_file=str(pki.server_cert),
        tls_key_file=str(pki.server_key),
    )
    async with Coordinator(settings) as coordinator:
        address = f"localhost:{coordinator.grpc_port}"
        credentials = grpc_credentials(pki, with_client_cert=False)
        async with grpc.aio.secure_channel(address, credentials) as channel:
            health = await pb_grpc.CoordinatorServiceStub(channel).Health(pb.HealthRequest())
        assert health.status == "ok"
        async with grpc.aio.insecure_channel(address) as plain:
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await pb_grpc.CoordinatorServiceStub(plain).Health(pb.HealthRequest(), timeout=5)
        assert raised.value.code() == grpc.StatusCode.UNAVAILABLE

        context = ssl.create_default_context(cafile=str(pki.ca_file))
        async with httpx.AsyncClient(verify=context) as client:
            answer = await client.get(
                f"https://localhost:{coordinator.http_port}/status", headers={"X-API-Key": API_KEY}
            )
            assert answer.status_code == 200
            with pytest.raises(httpx.TransportError):
                await client.get(f"http://localhost:{coordinator.http_port}/health")


async def test_mutual_tls_on_grpc_requires_a_client_certificate_from_the_ca(
    pki: Pki, shared_prod: SampleServer
) -> None:
    settings = settings_for(
        shared_prod.target_config(),
        api_key=API_KEY,
        tls_cert_file=str(pki.server_cert),
        tls_key_file=str(pki.server_key),
        tls_client_ca_file=str(pki.ca_file),
    )
    async with Coordinator(settings) as coordinator:
        address = f"localhost:{coordinator.grpc_port}"
        with_cert = grpc_credentials(pki, with_client_cert=True)
        async with grpc.aio.secure_channel(address, with_cert) as channel:
            status = await pb_grpc.CoordinatorServiceStub(channel).Status(
                pb.StatusRequest(), metadata=AUTH
            )
        assert "odoo_prod" in status.targets
        without_cert = grpc_credentials(pki, with_client_cert=False)
        async with grpc.aio.secure_channel(address, without_cert) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await pb_grpc.CoordinatorServiceStub(channel).Health(pb.HealthRequest(), timeout=5)
        assert raised.value.code() == grpc.StatusCode.UNAVAILABLE

        # The HTTP door serves TLS without asking for a client certificate (health checks).
        context = ssl.create_default_context(cafile=str(pki.ca_file))
        async with httpx.AsyncClient(verify=context) as client:
            answer = await client.get(f"https://localhost:{coordinator.http_port}/health")
        assert answer.status_code == 200


def test_tls_settings_are_checked_at_start_up(pki: Pki, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TLS_CERT_FILE and TLS_KEY_FILE: set both"):
        load_settings({"TLS_CERT_FILE": str(pki.server_cert)})
    with pytest.raises(ConfigError, match="TLS_KEY_FILE: no such file"):
        load_settings(
            {"TLS_CERT_FILE": str(pki.server_cert), "TLS_KEY_FILE": str(tmp_path / "missing")}
        )
    with pytest.raises(ConfigError, match="TLS_CLIENT_CA_FILE: needs TLS_CERT_FILE"):
        load_settings({"TLS_CLIENT_CA_FILE": str(pki.ca_file)})


@pytest.mark.slow  # a CLI process of its own: about a second
async def test_the_cli_client_talks_mutual_tls(pki: Pki, shared_prod: SampleServer) -> None:
    settings = settings_for(
        shared_prod.target_config(),
        api_key=API_KEY,
        tls_cert_file=str(pki.server_cert),
        tls_key_file=str(pki.server_key),
        tls_client_ca_file=str(pki.ca_file),
    )
    async with Coordinator(settings) as coordinator:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "coordinator",
            "health",
            "--address",
            f"localhost:{coordinator.grpc_port}",
            "--tls-ca",
            str(pki.ca_file),
            "--tls-cert",
            str(pki.client_cert),
            "--tls-key",
            str(pki.client_key),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
    assert process.returncode == 0, err
    assert json.loads(out)["status"] == "ok"
