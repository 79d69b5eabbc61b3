"""A timeline reads one range of the incident index; ids beside that range stay out of it."""

from __future__ import annotations

import pytest

from orchestrator.audit.factory import open_audit_store
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


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_an_older_postgres_store_gets_the_timeline_index_when_its_role_may(
    backend: Backend,
) -> None:
    assert backend.schema is not None
    await backend.store.append(event(1, incident="k--1"))
    index = f'"{backend.schema}".audit_events_incident_c_idx'
    present = f"SELECT to_regclass('{index}') IS NOT NULL"
    await backend.raw(f"DROP INDEX {index}")  # as a store made before the index was
    role = f"audit_ro_{backend.schema[-12:]}"
    await backend.raw(f"CREATE ROLE {role} LOGIN")
    try:
        await backend.raw(f'GRANT USAGE ON SCHEMA "{backend.schema}" TO {role}')
        await backend.raw(f"GRANT SELECT, INSERT ON {{table}} TO {role}")
        url = backend.url.replace("postgres@", f"{role}@")
        limited = open_audit_store(url)
        try:
            assert [e.incident_id for e in await limited.timeline("k")] == ["k--1"]
        finally:
            await limited.close()
        assert await backend.raw(present) == [(False,)]  # that role may not add it: still works
        owner = backend.open_another()
        try:
            assert len(await owner.timeline("k")) == 1
        finally:
            await owner.close()
        assert await backend.raw(present) == [(True,)]
    finally:
        await backend.raw(f"DROP OWNED BY {role}")
        await backend.raw(f"DROP ROLE {role}")
