"""The local flag store, verified through the real LaunchDarkly SDK reading its SDK file."""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from orchestrator.domain.flags import AddTargets, EvalContext, FlagState
from orchestrator.errors import FlagProviderError, ValidationError, VerificationError
from orchestrator.providers.flags import FlagEvaluator, FlagProvider
from orchestrator.providers.ld_sdk import SdkFlagEvaluator, wait_for_variation
from orchestrator.providers.local_flags import LocalFlagStore
from tests.providers.conftest import ANSWER_MODE, POST_PROCESSING, local_store
from tests.providers.flag_backends import route_es as planned_route_es

KEY = ANSWER_MODE.key
ES = EvalContext(kind="user", key="verify-es", attributes={"language": "es"})
EN = EvalContext(kind="user", key="verify-en", attributes={"language": "en"})


@pytest.fixture
def store(tmp_path: Path) -> LocalFlagStore:
    store = local_store(tmp_path)
    assert store.ensure_flags([ANSWER_MODE]) == [KEY]
    return store


@pytest.fixture
def evaluator(store: LocalFlagStore) -> Iterator[SdkFlagEvaluator]:
    evaluator = SdkFlagEvaluator.for_file(store.sdk_path, poll_interval=0.05)
    try:
        yield evaluator
    finally:
        evaluator.close()


async def route_es(provider: FlagProvider) -> FlagState:
    """What the flag activity does: read, plan, apply only if the plan is not empty."""
    state = await provider.get_flag(KEY)
    plan = planned_route_es(state)
    return await provider.apply(KEY, plan, "route es to human queue") if plan else state


async def test_sdk_serves_the_routed_segment_and_not_the_others(
    store: LocalFlagStore, evaluator: SdkFlagEvaluator
) -> None:
    checker: FlagEvaluator = evaluator
    assert (await checker.evaluate(KEY, ES)).value == "assistant"
    await route_es(store)
    served = await wait_for_variation(checker, KEY, ES, "human-queue", within_seconds=5)
    assert served.reason_kind == "RULE_MATCH"
    assert served.variation_index == 2
    other = await checker.evaluate(KEY, EN)
    assert (other.value, other.reason_kind) == ("assistant", "FALLTHROUGH")
    with pytest.raises(VerificationError, match=r"serves 'assistant'.*expected 'human-queue'"):
        await wait_for_variation(checker, KEY, EN, "human-queue", within_seconds=0.3)


async def test_unknown_flag_evaluates_to_an_error_reason(evaluator: SdkFlagEvaluator) -> None:
    result = await evaluator.evaluate("no-such-flag", ES)
    assert (result.value, result.reason_kind, result.error_kind) == (
        None,
        "ERROR",
        "FLAG_NOT_FOUND",
    )


async def test_evaluator_setup_and_context_errors(
    tmp_path: Path, evaluator: SdkFlagEvaluator
) -> None:
    with pytest.raises(FlagProviderError, match="did not initialize"):
        SdkFlagEvaluator.for_file(tmp_path / "missing.json", start_wait=0.5)
    with pytest.raises(ValidationError, match="reserved"):
        await evaluator.evaluate(KEY, EvalContext(key="k", attributes={"kind": "org"}))
    assert "file" in repr(evaluator)


async def test_applying_the_same_change_twice_changes_nothing_the_second_time(
    store: LocalFlagStore,
) -> None:
    first = await route_es(store)
    assert first.version == 2
    mtimes = (store.state_path.stat().st_mtime_ns, store.sdk_path.stat().st_mtime_ns)
    second = await route_es(store)
    assert second == first
    assert (store.state_path.stat().st_mtime_ns, store.sdk_path.stat().st_mtime_ns) == mtimes
    assert await store.apply(KEY, [], "nothing") == first


async def test_ensure_flags_seeds_missing_flags_and_never_overwrites(store: LocalFlagStore) -> None:
    routed = await route_es(store)
    assert store.ensure_flags([ANSWER_MODE, POST_PROCESSING]) == [POST_PROCESSING.key]
    assert await store.get_flag(KEY) == routed
    assert (await store.get_flag(POST_PROCESSING.key)).version == 1
    sdk = json.loads(store.sdk_path.read_text())
    assert set(sdk["flags"]) == {KEY, POST_PROCESSING.key}


async def test_unknown_flag_is_a_permanent_error(store: LocalFlagStore) -> None:
    with pytest.raises(FlagProviderError, match="'nope' does not exist") as caught:
        await store.get_flag("nope")
    assert caught.value.retryable is False
    with pytest.raises(FlagProviderError) as caught:
        await store.apply("nope", [], "x")
    assert caught.value.retryable is False


async def test_a_stale_sdk_file_is_rewritten(store: LocalFlagStore) -> None:
    routed = await route_es(store)
    store.sdk_path.write_text('{"flags": {}}')  # as if the process died between the two writes
    assert await store.apply(KEY, [], "heal") == routed
    assert KEY in json.loads(store.sdk_path.read_text())["flags"]
    store.sdk_path.unlink()
    store.ensure_flags([ANSWER_MODE])
    assert json.loads(store.sdk_path.read_text())["flags"][KEY]["version"] == routed.version


async def test_a_corrupt_state_file_is_a_permanent_error(store: LocalFlagStore) -> None:
    store.state_path.write_text("{not json")
    with pytest.raises(FlagProviderError, match="not valid") as caught:
        await store.get_flag(KEY)
    assert caught.value.retryable is False


async def test_sdk_file_mtime_always_moves_forward(store: LocalFlagStore) -> None:
    seen = [store.sdk_path.stat().st_mtime_ns]
    for n in range(5):
        await store.apply(KEY, [AddTargets(values=(f"u{n}",), variation_id=_human(store))], "t")
        seen.append(store.sdk_path.stat().st_mtime_ns)
    assert seen == sorted(set(seen))


def _human(store: LocalFlagStore) -> str:
    data = json.loads(store.state_path.read_text())
    return FlagState.model_validate(data["flags"][KEY]).variation_id_for("human-queue")


async def test_concurrent_tasks_do_not_lose_updates(store: LocalFlagStore) -> None:
    human = _human(store)
    stores = [LocalFlagStore(store.state_path, store.sdk_path) for _ in range(8)]
    await asyncio.gather(
        *(
            s.apply(KEY, [AddTargets(values=(f"task-{n}",), variation_id=human)], f"task {n}")
            for n, s in enumerate(stores)
        )
    )
    state = await store.get_flag(KEY)
    assert sorted(state.targets[0].values) == sorted(f"task-{n}" for n in range(8))
    assert state.version == 1 + 8


def _process_worker(state_path: str, sdk_path: str, worker: int, count: int, human: str) -> None:
    store = LocalFlagStore(Path(state_path), Path(sdk_path))
    for n in range(count):
        change = AddTargets(values=(f"proc-{worker}-{n}",), variation_id=human)
        asyncio.run(store.apply(KEY, [change], f"worker {worker}"))


async def test_concurrent_processes_do_not_lose_updates_and_files_stay_valid_json(
    store: LocalFlagStore, evaluator: SdkFlagEvaluator, caplog: pytest.LogCaptureFixture
) -> None:
    human = _human(store)
    workers, count = 4, 10
    stop, bad, reads = threading.Event(), [], [0]

    def read_continuously() -> None:
        while not stop.is_set():
            for path in (store.state_path, store.sdk_path):
                try:
                    json.loads(path.read_text())
                    reads[0] += 1
                except ValueError as exc:
                    bad.append(f"{path.name}: {exc}")

    reader = threading.Thread(target=read_continuously)
    reader.start()
    caplog.set_level(logging.ERROR, logger="ldclient")
    try:
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=spawn) as pool:
            args = (str(store.state_path), str(store.sdk_path))
            jobs = [pool.submit(_process_worker, *args, w, count, human) for w in range(workers)]
            for job in jobs:
                job.result(timeout=60)
    finally:
        stop.set()
        reader.join(timeout=5)
    assert bad == []
    assert reads[0] > 0
    state = await store.get_flag(KEY)
    assert len(state.targets[0].values) == workers * count
    assert state.version == 1 + workers * count
    last = f"proc-{workers - 1}-{count - 1}"
    user = EvalContext(key=last)
    await wait_for_variation(evaluator, KEY, user, "human-queue", within_seconds=5)
    assert not [r for r in caplog.records if "Unable to load flag data" in r.getMessage()]
