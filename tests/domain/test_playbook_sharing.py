"""Playbooks and services a worker decodes from JSON (workflow inputs, state) are shared.

Every cached workflow run of a key used to hold its own decoded copy of the key's playbooks
(129 KiB for the eight shipped ones), and every decode checked each step's templates again.
"""

from __future__ import annotations

import gc
import json
import threading
import tracemalloc
from pathlib import Path

import pydantic
import pytest
from pydantic import BaseModel
from temporalio.contrib.pydantic import pydantic_data_converter

from orchestrator.config.playbook_files import load_library
from orchestrator.domain import shared
from orchestrator.domain.catalog import Service, parse_catalog
from orchestrator.workflows.key_types import KeyInput

ROOT = Path(__file__).resolve().parents[2]
CATALOG = parse_catalog((ROOT / "catalog" / "catalog.yaml").read_text(), "catalog.yaml")
SHIPPED = load_library(ROOT / "playbooks")
CONVERTER = pydantic_data_converter.payload_converter


def key_input(key: str) -> KeyInput:
    service = CATALOG.service("support-assistant")
    return KeyInput(
        key=key,
        service=service,
        slo=service.slo("language-gap"),
        playbooks=SHIPPED.for_service(service.name),
    )


def decoded(inp: KeyInput) -> KeyInput:
    """As the worker gets it: through Temporal's pydantic converter."""
    [payload] = CONVERTER.to_payloads([inp])
    [value] = CONVERTER.from_payloads([payload], [KeyInput])
    assert isinstance(value, KeyInput)
    return value


def test_keys_decoded_by_the_worker_share_one_copy_of_their_playbooks() -> None:
    one, other = decoded(key_input("incident-a")), decoded(key_input("incident-b"))
    assert (one.key, other.key) == ("incident-a", "incident-b")
    assert one.playbooks == key_input("x").playbooks  # the same playbooks, decoded
    assert all(a is b for a, b in zip(one.playbooks, other.playbooks, strict=True))
    assert one.service is other.service  # keys of one service (one per SLO) share it too


def test_a_hundred_decoded_keys_hold_about_one_copy_of_the_playbooks() -> None:
    decoded(key_input("warm"))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [decoded(key_input(f"incident-{n}")) for n in range(100)]
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(kept) == 100
    # One decoded copy of the shipped playbooks alone is over 100 KiB (129 KiB a key with its
    # service before they were shared); what is a key's own (its id, its SLO) a few KiB.
    assert held / len(kept) < 16 * 1024, f"{held / len(kept) / 1024:.0f} KiB per decoded key"


def test_a_bad_playbook_in_json_is_still_reported_at_its_place() -> None:
    document = json.loads(key_input("incident-a").model_dump_json())
    document["playbooks"][1]["steps"][0]["timeout_seconds"] = -1
    with pytest.raises(pydantic.ValidationError) as caught:
        KeyInput.model_validate_json(json.dumps(document))
    [error] = caught.value.errors()
    assert error["loc"][:4] == ("playbooks", 1, "steps", 0), error["loc"]


def test_playbooks_built_in_python_are_not_shared() -> None:
    """Only JSON with no validation context is shared: a playbook validated from Python data
    (YAML, a launch request built in the CLI) is its own object, checked as before."""
    document = SHIPPED.playbooks[0].model_dump(mode="json")
    one = type(SHIPPED.playbooks[0]).model_validate(document)
    other = type(SHIPPED.playbooks[0]).model_validate(document)
    assert one == other
    assert one is not other


def test_a_catalog_read_from_its_file_stays_out_of_the_cache() -> None:
    """A worker reads the catalog once to check it and drops it; through the cache, its services
    would have stayed as long as the catalog was recent (and pushed out what runs decode)."""
    before = (shared.DECODED.misses, shared.DECODED.hits)
    catalog = parse_catalog((ROOT / "catalog" / "catalog.yaml").read_text(), "catalog.yaml")
    assert catalog.services
    assert (shared.DECODED.misses, shared.DECODED.hits) == before


def service_json(name: str) -> str:
    return CATALOG.service("support-assistant").model_copy(update={"name": name}).model_dump_json()


def test_what_no_run_holds_is_let_go_once_it_is_no_longer_recent() -> None:
    """A worker with runs of many services (one per open incident) kept every one it had decoded,
    up to 512, long after their runs left its cache; now only the recent and the held."""
    held = Service.model_validate_json(service_json("held-by-a-run"))
    Service.model_validate_json(service_json("let-go"))  # and dropped
    for n in range(shared.KEPT + 50):
        Service.model_validate_json(service_json(f"another-{n}"))
    gc.collect()
    assert (Service, compact(service_json("let-go"))) not in shared.DECODED
    assert (Service, compact(service_json("held-by-a-run"))) in shared.DECODED
    assert Service.model_validate_json(service_json("held-by-a-run")) is held


def compact(text: str) -> str:
    """The cache's key text (what the validator sees, dumped again without spaces)."""
    return json.dumps(json.loads(text), separators=(",", ":"))


class Plain(BaseModel):
    text: str


def test_a_finalizer_that_decodes_while_the_cache_evicts_does_not_hang_the_worker() -> None:
    """Evicting drops an object's last reference, and the collector may close a run's coroutine
    there; a finalizer that decodes must not wait on the lock its own thread holds."""
    cache = shared.Decoded(1)
    decoded_by_finalizer: list[BaseModel] = []

    class Finalized(BaseModel):
        text: str

        def __del__(self) -> None:
            decoded_by_finalizer.append(cache.get(Plain, '{"text":"from a finalizer"}'))

    def work() -> None:
        cache.get(Finalized, '{"text":"first"}')
        cache.get(Finalized, '{"text":"second"}')  # evicts the first: its finalizer runs

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "the cache waited on its own lock"
    # the first's finalizer, and the second's once the first's decode pushed it out
    assert [m.model_dump() for m in decoded_by_finalizer][:1] == [{"text": "from a finalizer"}]
