"""Request and usage-row ids: random, of the documented form, and never repeated across the
pool refills they are read from."""

from __future__ import annotations

import re
import uuid

from coordinator.ids import new_event_id, new_request_id


def test_event_ids_are_version_4_uuids_and_request_ids_32_hex_digits() -> None:
    for _ in range(50):
        event_id = new_event_id()
        parsed = uuid.UUID(event_id)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, event_id)
        assert re.fullmatch(r"[0-9a-f]{32}", new_request_id())


def test_ids_do_not_repeat_across_many_pool_refills() -> None:
    ids = [new_request_id() for _ in range(5_000)] + [new_event_id() for _ in range(5_000)]
    assert len(set(ids)) == len(ids)
