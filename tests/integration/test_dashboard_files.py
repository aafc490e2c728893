"""The dashboard's files as the HTTP door serves them: no key needed, every response under a
strict Content-Security-Policy, `/dashboard/` redirected, an unknown file a 404."""

from __future__ import annotations

import httpx

from tests.integration.conftest import Running


async def test_the_page_and_its_files_are_served_under_a_strict_policy(
    coordinator: Running,
) -> None:
    async with httpx.AsyncClient(base_url=coordinator.http_url) as client:
        page = await client.get("/dashboard")
        script = await client.get("/dashboard/app.js")
        style = await client.get("/dashboard/style.css")
        slash = await client.get("/dashboard/")
        missing = await client.get("/dashboard/secrets.txt")
    for response, kind in ((page, "text/html"), (script, "text/javascript"), (style, "text/css")):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(kind)
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert response.headers["x-content-type-options"] == "nosniff"
    assert (slash.status_code, slash.headers["location"]) == (308, "/dashboard")
    assert missing.status_code == 404
