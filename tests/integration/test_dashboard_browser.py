"""The dashboard in a real browser (Debian's Chromium driven by Playwright) over a real
coordinator: traffic through the gRPC, REST and MCP doors, one target killed mid-way, then what
an operator sees: the key prompt, charts with points, the request ids made, the dead target; a key
without the scope is told so and kept, and a request link opened before the key shows that
request once the key is given."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from mcpcoordinator.v1 import coordinator_pb2 as pb
from playwright.async_api import Browser, Page, async_playwright, expect

from coordinator.auth import hash_key
from coordinator.config import ApiKeyConfig
from tests.integration.conftest import API_KEY, AUTH, Running, running, settings_for
from tests.mcpdoor.support import call_meta, mcp_client
from tests.support.mcp_servers import SampleServer

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Where the full-page screenshot goes; `DASHBOARD_SCREENSHOT=docs/dashboard.png` refreshes the
# README's picture.
SCREENSHOT = os.environ.get("DASHBOARD_SCREENSHOT")
UI_TIMEOUT_MS = 15_000

pytestmark = pytest.mark.slow
expect.set_options(timeout=UI_TIMEOUT_MS)


@pytest.fixture
async def pair(prod: SampleServer, shared_lab: SampleServer) -> AsyncIterator[Running]:
    settings = settings_for(
        prod.target_config(timeout=1.0),
        shared_lab.target_config(timeout=1.0),
        probe_interval=0.2,
        probe_timeout=0.5,
    )
    async for item in running(settings):
        yield item


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


def route(query: str, **context: bool) -> pb.RouteRequest:
    request = pb.RouteRequest(query=query, no_cache=True)
    request.context.update(context)
    return request


async def traffic(pair: Running, prod: SampleServer) -> dict[str, str]:
    """Requests through every door, then odoo_prod killed and two that fail over.
    Returns request id -> what it was."""
    made: dict[str, str] = {}

    async def over_grpc(name: str, request: pb.RouteRequest) -> None:
        request_id = f"grpc-{name}-{uuid.uuid4().hex[:8]}"
        await pair.stub.Route(request, metadata=(*AUTH, ("x-request-id", request_id)))
        made[request_id] = name

    async def over_rest(name: str, path: str, body: dict[str, object]) -> None:
        request_id = f"http-{name}-{uuid.uuid4().hex[:8]}"
        response = await client.post(
            path, json=body, headers={"X-API-Key": API_KEY, "X-Request-Id": request_id}
        )
        assert response.status_code == 200, response.text
        made[request_id] = name

    async def over_mcp(name: str, query: str, **context: bool) -> None:
        request_id = f"mcp-{name}-{uuid.uuid4().hex[:8]}"
        headers = {"X-Request-Id": request_id}
        async with mcp_client(f"{pair.http_url}/mcp", "2026-07-28", headers=headers) as mcp:
            await mcp.call_tool("query", {"query": query}, meta=call_meta(context=context))
        made[request_id] = name

    async with httpx.AsyncClient(base_url=pair.http_url) as client:
        await over_grpc("finance", route("Show recent expenses", **{"finance-ssc": True}))
        await over_grpc("migration", route("Which modules need migration?", migration=True))
        await over_rest("skills", "/route", {"tool": "list_skills", "target": "odoo_lab"})
        await over_rest("aggregate", "/aggregate", {"query": "List all skills", "context": {}})
        await over_mcp("migration", "Which modules need migration?", migration=True)
        await prod.kill()
        await over_grpc("failover", route("List all skills"))
        await over_rest("failover", "/route", {"query": "List all skills", "no_cache": True})
    return made


async def wait_until_down(pair: Running, name: str, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        status = await pair.stub.Status(pb.StatusRequest(), metadata=AUTH)
        if not status.targets[name].healthy:
            return
    raise AssertionError(f"{name} never reported down")


async def open_dashboard(
    browser: Browser, pair: Running, width: int, *, link: str = "", refusals: str = "401"
) -> Page:
    context = await browser.new_context(viewport={"width": width, "height": 900})
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    # The browser logs each refused request (the key prompt's 401s, and the 403s a test expects);
    # anything else is a problem.
    expected = tuple(f"status of {code}" for code in refusals.split())
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and not any(e in m.text for e in expected)
            else None
        ),
    )
    await page.goto(f"{pair.http_url}/dashboard{link}")
    page.set_default_timeout(UI_TIMEOUT_MS)
    setattr(page, "problems", problems)  # noqa: B010 - read back by the test
    return page


async def test_an_operator_sees_the_traffic_the_failover_and_the_dead_target(
    pair: Running, prod: SampleServer, browser: Browser, tmp_path: Path
) -> None:
    made = await traffic(pair, prod)
    await wait_until_down(pair, "odoo_prod")
    page = await open_dashboard(browser, pair, 1280)

    # Asked for the key once; a wrong one is refused in words.
    await expect(page.locator("#key-form")).to_be_visible()
    await page.fill("#key-input", "not-the-key")
    await page.click("#key-form button[type=submit]")
    await expect(page.locator("#problem")).to_contain_text("The API key was refused")
    await expect(page.locator("#problem")).to_contain_text("invalid API key")
    await page.fill("#key-input", API_KEY)
    await page.click("#key-form button[type=submit]")
    await expect(page.locator("#board")).to_be_visible()
    await expect(page.locator("#key-form")).to_be_hidden()
    await expect(page.locator("#problem")).to_be_hidden()
    assert await page.evaluate("sessionStorage.length") == 1

    # The killed target shows as down, the other as up, live from Status.
    await expect(page.locator('#targets [data-target="odoo_prod"]')).to_have_attribute(
        "data-health", "down"
    )
    await expect(page.locator('#targets [data-target="odoo_lab"]')).to_have_attribute(
        "data-health", "up"
    )

    # Every request made is in the recent table (the aggregate is recorded too).
    for request_id in made:
        await expect(page.locator(f'#recent tr[data-request-id="{request_id}"]')).to_be_visible()

    # Charts have points for that traffic, per target and per door, with text alternatives.
    requests_chart = page.locator("#chart-requests")
    for target in ("odoo_prod", "odoo_lab"):
        assert await requests_chart.locator(f'g[data-series="{target}"] circle.point').count() >= 1
    for door in ("grpc", "http", "mcp"):
        assert await page.locator(f'#chart-doors g[data-series="{door}"] circle.point').count() >= 1
    assert await page.locator("#chart-latency circle.point").count() >= 3  # p50, p95, p99
    assert await page.locator("#chart-rates g[data-series=failovers] circle.point").count() >= 1
    description = await requests_chart.locator("svg desc").text_content()
    assert description is not None
    assert "odoo_lab: peak" in description
    assert "odoo_prod: peak" in description
    summary = await page.locator("#summary").inner_text()
    assert "Requests\n7" in summary

    # A request id links to its detail, attempts included.
    [failover_id] = [i for i, name in made.items() if name == "failover" and i.startswith("grpc")]
    await page.click(f'#recent tr[data-request-id="{failover_id}"] a')
    await expect(page.locator("#detail")).to_be_visible()
    attempts = page.locator("#detail-attempts tbody tr")
    await expect(attempts).to_have_count(2)
    assert await attempts.nth(0).get_attribute("data-outcome") == "unavailable"
    assert (await attempts.nth(0).inner_text()).split("\t")[1:3] == ["odoo_prod", "unavailable"]
    assert (await attempts.nth(1).inner_text()).split("\t")[1:3] == ["odoo_lab", "ok"]

    # The table filters as one types.
    await page.fill("#recent-filter", failover_id)
    await expect(page.locator("#recent tbody tr")).to_have_count(1)
    await page.fill("#recent-filter", "")

    # It refreshes by itself: a request made now appears without a reload.
    late_id = f"grpc-late-{uuid.uuid4().hex[:8]}"
    await pair.stub.Route(route("List all skills"), metadata=(*AUTH, ("x-request-id", late_id)))
    await expect(page.locator(f'#recent tr[data-request-id="{late_id}"]')).to_be_visible()

    # Another window is one click away.
    await page.click('[data-window="900"]')
    await expect(page.locator('[data-window="900"]')).to_have_attribute("aria-pressed", "true")
    await expect(page.locator(f'#recent tr[data-request-id="{late_id}"]')).to_be_visible()

    shot = Path(SCREENSHOT) if SCREENSHOT else tmp_path / "dashboard.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert getattr(page, "problems") == []  # noqa: B009


async def test_at_390_px_nothing_spills_sideways(pair: Running, browser: Browser) -> None:
    await pair.stub.Route(route("List all skills"), metadata=AUTH)
    page = await open_dashboard(browser, pair, 390)
    await page.fill("#key-input", API_KEY)
    await page.click("#key-form button[type=submit]")
    await expect(page.locator("#chart-requests circle.point").first).to_be_attached()
    page_width = await page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= 390
    chart_box = await page.locator("#chart-requests svg").bounding_box()
    assert chart_box is not None
    assert 300 <= chart_box["width"] <= 390
    if SCREENSHOT:
        await page.screenshot(path=SCREENSHOT.replace(".png", "-390.png"), full_page=True)
    assert getattr(page, "problems") == []  # noqa: B009


ROUTE_KEY = "route-only-key-for-the-dashboard-test-0123"


@pytest.fixture
async def with_route_key(
    shared_prod: SampleServer, shared_lab: SampleServer
) -> AsyncIterator[Running]:
    """The test key with every scope, and one with the `route` scope only."""
    router = ApiKeyConfig(id="router", hash=hash_key(ROUTE_KEY), scopes=("route",))
    settings = settings_for(
        shared_prod.target_config(), shared_lab.target_config(), api_keys=(router,)
    )
    async for item in running(settings):
        yield item


async def test_a_key_without_the_scope_is_told_so_and_a_request_link_waits_for_the_key(
    with_route_key: Running, browser: Browser
) -> None:
    request_id = f"grpc-linked-{uuid.uuid4().hex[:8]}"
    await with_route_key.stub.Route(
        pb.RouteRequest(tool="list_skills", target="odoo_lab", no_cache=True),
        metadata=(*AUTH, ("x-request-id", request_id)),
    )
    # A link to one request, opened in a fresh tab: no key yet.
    page = await open_dashboard(
        browser, with_route_key, 1280, link=f"#request={request_id}", refusals="401 403"
    )
    await expect(page.locator("#key-form")).to_be_visible()

    # A valid key without the dashboard or status scope: told what it lacks, and kept.
    await page.fill("#key-input", ROUTE_KEY)
    await page.click("#key-form button[type=submit]")
    await expect(page.locator("#problem")).to_contain_text("This key may not read the dashboard")
    await expect(page.locator("#problem")).to_contain_text("lacks the 'status' scope")
    assert await page.evaluate("sessionStorage.length") == 1
    await expect(page.locator("#board")).to_be_hidden()

    # Another key: the board loads and the linked request's detail opens by itself.
    await page.click("#forget-key")
    await page.fill("#key-input", API_KEY)
    await page.click("#key-form button[type=submit]")
    await expect(page.locator("#board")).to_be_visible()
    await expect(page.locator("#problem")).to_be_hidden()
    await expect(page.locator("#detail")).to_be_visible()
    await expect(page.locator("#detail-title")).to_have_text(f"Request {request_id}")
    await expect(page.locator("#detail-attempts tbody tr")).to_have_count(1)
    assert getattr(page, "problems") == []  # noqa: B009
