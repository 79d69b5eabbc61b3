"""The campaign: waves of the worked example's incident (a fairness breach for one language each,
so every language is its own incident key) while workers are SIGKILLed at random, Temporal is
killed and restarted mid-incident and again while the API takes alerts, and the flag and
deployment providers fail (500, 429 with Retry-After, a hang, a 403).

Flags go to the real LaunchDarkly REST adapter and SDK against the local LaunchDarkly stand-in,
which logs every change it takes; deployments, freezes, reviews and pages go to the local
providers, whose files log theirs. :mod:`tests.faults.checks` reads those logs afterwards.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError

from orchestrator.client import occurrences
from orchestrator.client.queries import incident_state
from orchestrator.config.files import load_catalog
from orchestrator.domain.signals import Segment, workflow_id_for
from orchestrator.errors import OrchestratorError
from orchestrator.workflows.types import IncidentPhase, IncidentState
from tests.faults.alerts import SERVICE, SLO, TOKEN, Delivery, deliver, starts
from tests.faults.cluster import ROOT, Cluster
from tests.providers.fake_launchdarkly import FakeLaunchDarkly
from workers.devserver import wait_until_serving

PREFIX = "faults"
LD_TOKEN = "api-faults-8c2d1e0f"
LD_SDK_KEY = "sdk-faults-4b7a9e3c"
WAVES = [
    ["es", "fr", "de", "pt"],
    ["it", "nl", "pl", "cs"],
    ["da", "fi", "hu", "ro"],
    ["el", "tr", "uk", "bg"],
    ["hr", "sk", "sl", "lt"],
]
OUTAGE = ["ja", "ko"]
"""Fired while Temporal is down: the API answers 503, Alertmanager retries."""
OUTAGE_SECONDS = 12.0
"""Longer than the submitter's 5 s bound: deliveries meanwhile are answered 503."""
REFUSED = "sv"
"""Fired while LaunchDarkly answers 403: its incident fails at once (and pages)."""
SETTLED = {
    IncidentPhase.MONITORING,
    IncidentPhase.AWAITING_APPROVAL,
    IncidentPhase.RESOLVED,
    IncidentPhase.FAILED,
    IncidentPhase.CLOSED,
    IncidentPhase.ABORTED,
}
ENDED = {IncidentPhase.RESOLVED, IncidentPhase.FAILED, IncidentPhase.CLOSED}
WAITING_FOR_A_PERSON = {IncidentPhase.AWAITING_APPROVAL}


@dataclass
class Incident:
    language: str
    fired: Delivery
    resolved: Delivery | None = None
    occurrence: str = ""
    phase: str = ""
    resolved_at: float | None = None
    ended_after: float | None = None
    """Seconds from the resolution's acceptance to the end (or the wait for a person)."""


@dataclass
class Campaign:
    kills_wanted: int
    deadline: float
    seed: int
    waves: int = 2
    """Waves at least (the first carries the Temporal and provider faults); more run until the
    kills wanted are reached, up to one per language group."""
    log: Callable[[str], None] = print
    state: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="faults-")))
    incidents: dict[str, Incident] = field(default_factory=dict)
    outage_answers: list[int] = field(default_factory=list)
    outage_retry_after: list[str] = field(default_factory=list)
    faults: dict[str, int] = field(default_factory=dict)
    client: Client | None = None
    writing: list[str] = field(default_factory=list)
    """Workflows still writing (an occurrence open, or an activity pending) when the last
    incident's phase said it ended."""
    undrained: list[str] = field(default_factory=list)
    """Those still writing at the deadline."""
    drained_after: float = 0.0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.fake = FakeLaunchDarkly(
            api_token=LD_TOKEN, project_key="support", sdk_keys={"production": LD_SDK_KEY}
        )
        for service in load_catalog(ROOT / "catalog" / "catalog.yaml").services:
            for spec in service.flags:
                self.fake.seed(spec)

    def key(self, language: str) -> str:
        return workflow_id_for(SERVICE, SLO, PREFIX, Segment(key="language", value=language))

    def playbooks(self) -> Path:
        """The shipped playbooks, with the fairness one set to one incident per segment (as a
        team that wants each language group handled on its own configures it)."""
        folder = self.state / "playbooks"
        shutil.copytree(ROOT / "playbooks", folder, dirs_exist_ok=True)
        fairness = folder / "fairness-language-gap.yaml"
        text = fairness.read_text()
        if "per_segment:" not in text:
            fairness.write_text(text.replace("\nmatch:", "\nper_segment: true\nmatch:", 1))
        return folder

    def catalog(self) -> Path:
        """The shipped catalog, with safety limits raised past the campaign's incident count
        (the circuit breaker would otherwise, rightly, stop automated changes after six)."""
        folder = self.state / "catalog"
        shutil.copytree(ROOT / "catalog", folder, dirs_exist_ok=True)
        (folder / "safety.yaml").write_text(
            "circuit_breaker:\n  default: { max_actions: 500, window_seconds: 3600 }\n"
        )
        return folder / "catalog.yaml"

    def environment(self, cluster: Cluster) -> dict[str, str]:
        return {
            **os.environ,
            "ORCHESTRATOR_CATALOG": str(self.catalog()),
            "ORCHESTRATOR_PLAYBOOKS": str(self.playbooks()),
            "ORCHESTRATOR_STATE_DIR": str(self.state),
            "ORCHESTRATOR_TEMPORAL_ADDRESS": f"127.0.0.1:{cluster.temporal_port}",
            "ORCHESTRATOR_TASK_QUEUE": "faults",
            "ORCHESTRATOR_WORKFLOW_ID_PREFIX": PREFIX,
            "ORCHESTRATOR_FLAG_BACKEND": "launchdarkly",
            "ORCHESTRATOR_ALERT_MEMORY": "10m",
            "ORCHESTRATOR_INGEST_ALERTMANAGER_TOKEN": TOKEN,
            "ORCHESTRATOR_RATE_LIMIT_CAP": "30s",
            "LAUNCHDARKLY_API_TOKEN": LD_TOKEN,
            "LAUNCHDARKLY_SDK_KEY": LD_SDK_KEY,
            "LAUNCHDARKLY_PROJECT_KEY": "support",
            "LAUNCHDARKLY_ENVIRONMENT_KEY": "production",
            "LAUNCHDARKLY_BASE_URL": self.fake.url,
            "LAUNCHDARKLY_SDK_BASE_URI": self.fake.url,
            "LAUNCHDARKLY_SDK_STREAM_URI": self.fake.url,
            "LAUNCHDARKLY_SDK_EVENTS_URI": self.fake.url,
        }

    # -- the run ----------------------------------------------------------------------------
    async def run(self) -> Cluster:
        """Run every wave; the cluster (stopped) is returned for the checks."""
        with self.fake.running():
            cluster = Cluster(self.state, {})
            cluster.env = self.environment(cluster)
            try:
                await self._run(cluster)
            finally:
                cluster.stop()
            return cluster

    async def _run(self, cluster: Cluster) -> None:
        await self._start_server(cluster, first=True)
        cluster.start_api()
        cluster.keep_workers(2)
        self.client = await self._connect(cluster)
        stop = asyncio.Event()
        killer = asyncio.create_task(self._kill_workers(cluster, stop))
        async with httpx.AsyncClient(base_url=cluster.api_url, timeout=30) as http:
            try:
                await self._first_wave(cluster, http)
                for number, languages in enumerate(WAVES[1:], start=2):
                    if number > self.waves and cluster.kills >= self.kills_wanted:
                        break
                    await self._wave(http, languages)
            finally:
                stop.set()
                await killer
        cluster.keep_workers(2)
        await self._settle(list(self.incidents.values()))
        await self._drain()

    async def _first_wave(self, cluster: Cluster, http: httpx.AsyncClient) -> None:
        """Faulty providers, a Temporal crash mid-incident, an ingest outage, a refusal."""
        self._arm_provider_faults()
        fired = [asyncio.create_task(self._fire(http, lang, minute=1)) for lang in WAVES[0]]
        await asyncio.sleep(6)
        self.log("temporal: SIGKILL mid-incident, restarted on the same database")
        await asyncio.to_thread(cluster.restart_server)
        await self._start_server(cluster)
        await asyncio.gather(*fired)
        await self._until(WAVES[0], SETTLED)

        self.log("temporal: down while Alertmanager delivers")
        await asyncio.to_thread(cluster.kill_server)
        outage = [asyncio.create_task(self._fire(http, lang, minute=2)) for lang in OUTAGE]
        await asyncio.sleep(OUTAGE_SECONDS)
        await asyncio.to_thread(cluster.start_server)
        cluster.restarts += 1
        await self._start_server(cluster)
        await asyncio.gather(*outage)
        self.outage_answers = [a for lang in OUTAGE for a in self.incidents[lang].fired.answers]
        self.outage_retry_after = [
            r for lang in OUTAGE for r in self.incidents[lang].fired.retry_after
        ]
        await self._until(OUTAGE, SETTLED)  # so the 403 below meets the refused incident alone

        self.log("launchdarkly: 403 for the next change")
        self.fake.fail_next(403, message="Access to the requested resource was denied")
        self.faults["launchdarkly 403"] = 1
        await self._fire(http, REFUSED, minute=3)
        languages = [*WAVES[0], *OUTAGE, REFUSED]
        await self._until(languages, SETTLED)
        await self._resolve(http, languages)  # the refused one has failed: nothing to resolve
        await self._until(languages, ENDED | WAITING_FOR_A_PERSON)

    async def _wave(self, http: httpx.AsyncClient, languages: list[str]) -> None:
        self.log(f"wave: {', '.join(languages)}")
        await asyncio.gather(*(self._fire(http, language, minute=4) for language in languages))
        await self._until(languages, SETTLED)
        await self._resolve(http, languages)
        await self._until(languages, ENDED | WAITING_FOR_A_PERSON)

    def _arm_provider_faults(self) -> None:
        self.fake.fail_next(500, times=2, message="Internal Server Error")
        self.fake.fail_next(429, message="Rate limited", headers={"Retry-After": "2"})
        self.fake.hang_next(12.0)  # longer than the adapter's 10 s timeout
        folder = self.state / "faults"
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("deploy-500-a", "deploy-500-b", "deploy-hang-4-a"):
            (folder / name).touch()
        self.faults.update(
            {
                "launchdarkly 500": 2,
                "launchdarkly 429 (Retry-After 2)": 1,
                "launchdarkly hang 12 s": 1,
                "deploy 500": 2,
                "deploy hang 4 s": 1,
            }
        )

    async def _fire(self, http: httpx.AsyncClient, language: str, *, minute: int) -> None:
        delivery = Delivery(language, "firing", starts(minute))
        self.incidents[language] = Incident(language, delivery)
        await deliver(http, delivery)

    async def _resolve(self, http: httpx.AsyncClient, languages: list[str]) -> None:
        async def one(language: str) -> None:
            incident = self.incidents[language]
            incident.resolved = Delivery(language, "resolved", incident.fired.starts_at)
            await deliver(http, incident.resolved)
            incident.resolved_at = time.monotonic()

        await asyncio.gather(*(one(language) for language in languages))

    # -- waiting ----------------------------------------------------------------------------
    async def _until(self, languages: list[str], phases: set[IncidentPhase]) -> None:
        """Poll each incident until its phase is one of ``phases`` (or the deadline)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.deadline
        pending = list(languages)
        while pending and loop.time() < deadline:
            for language in list(pending):
                state = await self._state(language)
                if state is not None and state.phase in phases:
                    pending.remove(language)
                    self._note(language, state)
            await asyncio.sleep(0.5)

    async def _settle(self, incidents: list[Incident]) -> None:
        for incident in incidents:
            state = await self._state(incident.language)
            if state is not None:
                self._note(incident.language, state)

    async def _drain(self) -> None:
        """Wait until every occurrence's workflow has closed (it closes once its audit trail is
        written) and no key's workflow has an activity pending. An incident's phase says it
        ended before its last audit writes land: one a SIGKILLed worker had taken is tried
        again only after its start-to-close timeout (30 s), and the checks read the store."""
        assert self.client is not None
        loop = asyncio.get_running_loop()
        started = loop.time()
        keys = [self.key(language) for language in self.incidents]
        ids = [*keys, *[o for key in keys for o in await key_occurrences(self.client, key)]]
        pending = [i for i in ids if await self._writing(i, i in keys)]
        self.writing = list(pending)
        while pending and loop.time() < started + self.deadline:
            await asyncio.sleep(0.5)
            pending = [i for i in pending if await self._writing(i, i in keys)]
        self.undrained = pending
        self.drained_after = loop.time() - started
        if self.writing:
            self.log(
                f"audit: {len(self.writing)} workflows still writing after the last wave;"
                f" {len(pending)} left after {self.drained_after:.0f} s"
            )

    async def _writing(self, workflow_id: str, key: bool) -> bool:
        """An occurrence still running, or any workflow with an activity pending."""
        assert self.client is not None
        try:
            described = await self.client.get_workflow_handle(workflow_id).describe()
        except RPCError:
            return False  # never started (a key whose only delivery was refused)
        running = described.status == WorkflowExecutionStatus.RUNNING
        return (running and not key) or bool(described.raw_description.pending_activities)

    def _note(self, language: str, state: IncidentState) -> None:
        incident = self.incidents[language]
        incident.occurrence, incident.phase = state.incident_id, state.phase.value
        ended = state.phase in ENDED | WAITING_FOR_A_PERSON
        if ended and incident.ended_after is None:
            start = incident.resolved_at
            incident.ended_after = 0.0 if start is None else time.monotonic() - start

    async def _state(self, language: str) -> IncidentState | None:
        assert self.client is not None
        try:
            return await incident_state(self.client, self.key(language))
        except (OrchestratorError, RuntimeError):
            return None  # no occurrence yet, or Temporal restarting

    # -- chaos --------------------------------------------------------------------------------
    async def _kill_workers(self, cluster: Cluster, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.sleep(self.rng.uniform(0.8, 2.4))
            await asyncio.to_thread(cluster.keep_workers, 2)
            if cluster.workers:
                index = self.rng.randrange(len(cluster.workers))
                await asyncio.to_thread(cluster.kill_worker, index)

    async def _start_server(self, cluster: Cluster, *, first: bool = False) -> None:
        if first:
            await asyncio.to_thread(cluster.start_server)
        await wait_until_serving(f"127.0.0.1:{cluster.temporal_port}", "default", timeout=60)

    async def _connect(self, cluster: Cluster) -> Client:
        return await Client.connect(
            f"127.0.0.1:{cluster.temporal_port}", data_converter=pydantic_data_converter
        )


async def key_occurrences(client: Client, key: str) -> list[str]:
    """Every occurrence a key's workflow opened (its query; [] when it answers none)."""
    try:
        state = await occurrences.key_state(client, key)
    except OrchestratorError:
        return []
    return [o.id for o in state.occurrences] if state else []
