"""A timeline reads one range of the incident index; ids beside that range stay out of it."""

from __future__ import annotations

import pytest

from orchestrator.errors import NotFoundError
from tests.audit.conftest import Backend
from tests.audit.factories import event

NEIGHBOURS = ["k", "k--1", "k--2--x", "k--", "k-", "k-+", "k-.", "k!", "k-,", "j--k", "K--1", "k_"]


async def test_a_key_gives_itself_and_its_occurrences_only(backend: Backend) -> None:
    for n, incident in enumerate(NEIGHBOURS, 1):
        await backend.store.append(event(n, incident=incident))
    found = [e.incident_id for e in await backend.store.timeline("k")]
    assert found == ["k", "k--1", "k--2--x", "k--"]
    assert [e.incident_id for e in await backend.store.timeline("k--2")] == ["k--2--x"]
    assert [e.incident_id for e in await backend.store.timeline("k-")] == ["k-"]
    with pytest.raises(NotFoundError):
        await backend.store.timeline("k-.-")
