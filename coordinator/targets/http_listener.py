"""The stream of notifications a target sends outside any request: the session's GET stream
at 2025-11-25, `subscriptions/listen` at 2026-07-28. Reopened when it ends; given up when the
server offers none."""

from __future__ import annotations

import asyncio
from typing import Any

from coordinator.targets.http_exchange import HttpExchange
from coordinator.targets.http_transport import SSE_TYPE, logger
from coordinator.targets.sse import SseParser

LISTEN_RETRY_FIRST = 0.5
LISTEN_RETRY_MAX = 30.0


class HttpListener(HttpExchange):
    async def _listen(self) -> None:
        """Keeps one stream open for notifications sent outside any request.

        2025-11-25: the session's GET stream; 2026-07-28: `subscriptions/listen`.
        Reopened after it ends or breaks (with a growing pause while the target
        is down); given up when the server says it offers none.
        """
        pause = LISTEN_RETRY_FIRST
        while not self._closed:
            try:
                if self._generation == "modern":
                    outcome = await self._listen_modern()
                else:
                    outcome = await self._listen_legacy()
                if outcome == "unsupported":
                    logger.debug("target %s offers no notification stream", self.name)
                    return
                if outcome == "opened":
                    pause = LISTEN_RETRY_FIRST
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.debug("target %s: notification stream: %r", self.name, exc)
            finally:
                self.listening.clear()
            await asyncio.sleep(pause)
            pause = min(pause * 2, LISTEN_RETRY_MAX)

    async def _listen_legacy(self) -> str:
        assert self._http is not None
        headers = self._session_headers()
        headers["Accept"] = SSE_TYPE
        async with self._http.get(self.url, headers=headers) as resp:
            if resp.status in (405, 406, 501) or (
                resp.status == 200 and resp.content_type != SSE_TYPE
            ):
                return "unsupported"
            if resp.status != 200:
                await resp.read()
                return "failed"  # e.g. 404: the session expired; the next request renews it
            self.listening.set()
            await self._consume_sse(resp, SseParser(), None, legacy=True)
        return "opened"

    async def _listen_modern(self) -> str:
        assert self._http is not None
        request_id = next(self._ids)
        params: dict[str, Any] = {
            "notifications": {
                "toolsListChanged": True,
                "promptsListChanged": True,
                "resourcesListChanged": True,
            }
        }
        body, headers = self._modern_request(request_id, "subscriptions/listen", params)
        async with self._http.post(self.url, data=body, headers=headers) as resp:
            if resp.status != 200 or resp.content_type != SSE_TYPE:
                await resp.read()
                unsupported = resp.status == 200 or 400 <= resp.status < 500
                return "unsupported" if unsupported else "failed"
            self.listening.set()
            await self._consume_sse(resp, SseParser(), request_id, legacy=False)
        return "opened"
