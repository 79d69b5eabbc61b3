"""Composition root: builds the stores, providers and activities from settings, and the worker."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import httpx
import structlog
from temporalio.client import Client
from temporalio.worker import PollerBehaviorSimpleMaximum, UnsandboxedWorkflowRunner, Worker

from orchestrator.activities.audit import AuditActivities
from orchestrator.activities.changes import ChangeActivities, Targets
from orchestrator.activities.deploy import DeployActivities
from orchestrator.activities.flags import FlagActivities
from orchestrator.activities.gated import GatedChanges
from orchestrator.activities.holdings import Holdings
from orchestrator.activities.notices import NoticeActivities
from orchestrator.activities.releases import ReleaseActivities
from orchestrator.activities.safety import SafetyActivities
from orchestrator.activities.safety_ledger import open_safety_ledger
from orchestrator.activities.updates import IncidentUpdates
from orchestrator.audit.digest_job import start_digest_job, stop_digest_job
from orchestrator.audit.factory import open_audit_store, open_holding_store
from orchestrator.audit.signing import signer_for
from orchestrator.audit.spool import AuditSpool
from orchestrator.audit.store import AuditStore
from orchestrator.client.submitter import TemporalSubmitter, submitter_for
from orchestrator.config.files import load_catalog_and_playbooks, load_safety_limits
from orchestrator.config.settings import LaunchDarklySettings, Settings
from orchestrator.domain.catalog import Catalog
from orchestrator.domain.playbook import PlaybookLibrary
from orchestrator.domain.policy_limits import SafetyLimits
from orchestrator.providers.flags import FlagEvaluator, FlagProvider
from orchestrator.providers.launchdarkly import LaunchDarklyFlagProvider
from orchestrator.providers.ld_sdk import SdkFlagEvaluator
from orchestrator.providers.local_flags import LocalFlagStore
from orchestrator.providers.local_ops import LocalOps, OpsProviders, local_ops
from orchestrator.workflows.incident import IncidentWorkflow
from orchestrator.workflows.incident_key import IncidentKeyWorkflow
from workers.allocator import give_back
from workers.deploy import check_model_registry, deploy_providers, with_model_registry
from workers.integrations import chat_for, pager_for, webhook_for
from workers.tickets import ticket_provider

WORKFLOWS: Sequence[type] = (IncidentKeyWorkflow, IncidentWorkflow)
_log = structlog.get_logger("orchestrator.worker")

# Workflows run without Temporal's sandbox. Its two parts bought little here: its restrictions
# (a call to the wall clock, randomness or I/O refused at run time) only reach modules imported
# inside it, and every module the workflow code is made of was already passed through (the
# orchestrator package, jinja2, pydantic, yaml: importing them again for each run was a third of
# the worker's CPU per incident); its global-state isolation then covered nothing of ours. What
# was left was its refusal of open() and input() during an activation, and what it cost was its
# importer swapped in around every activation (docs/BENCHMARKS.md, eleventh pass). Determinism
# is kept by tests/workflows/test_determinism_lint.py (no clock, randomness or I/O, open()
# included, in orchestrator/workflows and orchestrator/domain) and the stored replay histories
# (tests/replay); module-level caches are one per process (the decoded playbooks and services of
# orchestrator/domain/shared.py, frozen, never changed in place).

STICKY_TO_NEW_POLLS = 1.0
"""Workflow-task polls of the shared queue per poll of the worker's own (sticky) queue. A new
incident's first tasks (its key's and its occurrence's) wait on the shared queue; at the SDK's
0.2, one poller in five took them, and 100 concurrent incidents waited seconds for it while the
sticky pollers served later steps (bench/first_mitigation.py: p95 10.9 s -> 5.5 s)."""


def workflow_runner() -> UnsandboxedWorkflowRunner:
    return UnsandboxedWorkflowRunner()


@dataclass
class Runtime:
    settings: Settings
    audit: AuditStore
    flags: FlagProvider
    evaluator: FlagEvaluator
    ops: OpsProviders
    limits: SafetyLimits
    activities: list[Any]

    kept_config: tuple[Catalog, PlaybookLibrary] | None = None
    """The catalog and playbooks checked at start, unless the runtime was built without them."""

    @property
    def config(self) -> tuple[Catalog, PlaybookLibrary]:
        """The catalog and playbooks: those checked at start, or, where ``build_runtime`` was told
        not to keep them (``orchestrator worker``), read again if ever asked for. A worker never
        asks: its workflows carry their service and playbooks, so a large catalog need not stay
        in its memory (1,335 services held 51 MB, docs/BENCHMARKS.md)."""
        if self.kept_config is None:
            self.kept_config = load_catalog_and_playbooks(self.settings)
        return self.kept_config

    @property
    def catalog(self) -> Catalog:
        return self.config[0]

    @property
    def library(self) -> PlaybookLibrary:
        return self.config[1]

    def submitter(self, client: Client) -> TemporalSubmitter:
        return submitter_for(client, self.settings, self.catalog, self.library)

    def worker(self, client: Client, *, task_queue: str | None = None) -> Worker:
        return Worker(
            client,
            task_queue=task_queue or self.settings.task_queue,
            workflows=list(WORKFLOWS),
            activities=self.activities,
            workflow_runner=workflow_runner(),
            max_cached_workflows=self.settings.worker_cache,
            nonsticky_to_sticky_poll_ratio=STICKY_TO_NEW_POLLS,
            workflow_task_poller_behavior=PollerBehaviorSimpleMaximum(self.settings.worker_pollers),
        )


def ops_activities(ops: OpsProviders, safety: SafetyActivities, holdings: Holdings) -> list[Any]:
    deploy = DeployActivities(ops.deploy, holdings)
    releases = ReleaseActivities(ops.freezes, holdings=holdings)
    notices = NoticeActivities(ops.tickets, ops.pager)
    return [
        deploy.pin_component_version,
        deploy.scale_component,
        deploy.restore_component,
        releases.freeze_releases,
        releases.lift_freeze,
        notices.open_incident_review,
        notices.page_oncall,
        safety.authorize_action,
    ]


OpsWrapper = Callable[[OpsProviders], OpsProviders]
"""Replaces providers around the local ones (tests inject faults this way)."""
FlagsWrapper = Callable[[FlagProvider], FlagProvider]
AuditWrapper = Callable[[AuditStore], AuditStore]
"""Replaces the store the audit activity writes to (tests make it fail this way)."""


FlagHome = LaunchDarklySettings | LocalFlagStore
"""Where the flags are: LaunchDarkly, or the local flag store."""


def _checked_config(
    settings: Settings, local: LocalOps, keep: bool
) -> tuple[FlagHome, tuple[Catalog, PlaybookLibrary] | None]:
    """Reads the catalog and playbooks to check them and gives the local deploy target their
    components; returns where the flags are (the local flag store seeded with the catalog's) and,
    with ``keep``, what it read. Otherwise nothing read is kept, not even a flag spec: one object
    left alive in every block the catalog filled would keep the whole of it in the process."""
    catalog, library = load_catalog_and_playbooks(settings)
    check_model_registry(settings, catalog)
    local.deploy.ensure_components(catalog)
    kept = (catalog, library) if keep else None
    if settings.flag_backend == "launchdarkly" and settings.launchdarkly is not None:
        return settings.launchdarkly, kept
    store = LocalFlagStore(settings.flag_state_path, settings.flag_sdk_path)
    store.ensure_flags([flag for service in catalog.services for flag in service.flags])
    return store, kept


@contextlib.asynccontextmanager
async def build_runtime(
    settings: Settings,
    *,
    wrap_ops: OpsWrapper | None = None,
    wrap_flags: FlagsWrapper | None = None,
    wrap_audit: AuditWrapper | None = None,
    keep_config: bool = True,
) -> AsyncIterator[Runtime]:
    """Everything a worker needs, closed again on exit (stores, SDK client, HTTP client).
    ``keep_config=False`` (``orchestrator worker``): the catalog and playbooks are checked and
    dropped, not kept for the API."""
    limits = load_safety_limits(settings.catalog_path)
    local = local_ops(settings.state_dir)
    flag_home, kept_config = _checked_config(settings, local, keep_config)
    if kept_config is None:
        give_back()  # what the check read: garbage now
    # Shared by every host; ORCHESTRATOR_KILL_SWITCH makes this one notify-only whatever it says.
    safety = open_safety_ledger(settings.effective_audit_url, floor=settings.kill_switch)
    if settings.kill_switch:
        _log.warning("ORCHESTRATOR_KILL_SWITCH is set: notify-only whatever the database says")
    http = httpx.AsyncClient(timeout=httpx.Timeout(10.0))
    pager = pager_for(settings, http, local.pager)
    ops = local.providers(safety)
    deploy, freezes = deploy_providers(settings, http, local)
    deploy = with_model_registry(settings, http, deploy)
    tickets = ticket_provider(settings, http, ops.tickets)
    ops = replace(ops, deploy=deploy, freezes=freezes, pager=pager, tickets=tickets)
    ops = ops if wrap_ops is None else wrap_ops(ops)
    updates = IncidentUpdates(
        chat_for(settings, http),
        pager,
        link_base_url=settings.link_base_url,
        webhook=webhook_for(settings, http),
    )
    audit = open_audit_store(settings.effective_audit_url)
    digests = start_digest_job(
        settings.effective_audit_url,
        signer_for(settings.audit_signing_key, settings.audit_ed25519_key_file),
        every=settings.audit_digest_every,
        interval=settings.audit_digest_interval,
    )
    holding_store = open_holding_store(settings.effective_audit_url)
    holdings = Holdings(holding_store)
    evaluator: FlagEvaluator
    flags: FlagProvider
    try:
        if isinstance(flag_home, LaunchDarklySettings):
            ld = flag_home
            flags = LaunchDarklyFlagProvider(
                http,
                api_token=ld.api_token,
                project_key=ld.project_key,
                environment_key=ld.environment_key,
                base_url=ld.base_url,
                rate_limit_cap=settings.rate_limit_cap,
            )
            evaluator = SdkFlagEvaluator.for_launchdarkly(
                ld.sdk_key,
                base_uri=ld.sdk_base_uri,
                stream_uri=ld.sdk_stream_uri,
                events_uri=ld.sdk_events_uri,
            )
        else:
            flags = flag_home
            evaluator = SdkFlagEvaluator.for_file(
                settings.flag_sdk_path, poll_interval=settings.sdk_poll_interval
            )
        if wrap_flags is not None:
            flags = wrap_flags(flags)
        try:
            flag_activities = FlagActivities(flags, evaluator, holdings)
            safety_activities = SafetyActivities(ops.safety, limits)
            gated = GatedChanges(flag_activities, safety_activities)
            written = audit if wrap_audit is None else wrap_audit(audit)
            audit_activities = AuditActivities(
                written, AuditSpool(settings.audit_spool_dir), updates
            )
            await audit_activities.drain()  # what an earlier run on this host spooled
            changes = ChangeActivities(holdings, Targets(flags, ops.deploy, ops.freezes))
            yield Runtime(
                settings=settings,
                kept_config=kept_config,
                audit=audit,
                flags=flags,
                evaluator=evaluator,
                ops=ops,
                limits=limits,
                activities=[
                    flag_activities.apply_flag_change,
                    gated.apply_gated_flag_change,
                    flag_activities.revert_flag_change,
                    flag_activities.verify_flag_serving,
                    audit_activities.record_audit_event,
                    audit_activities.record_audit_events,
                    changes.release_change,
                    *ops_activities(ops, safety_activities, holdings),
                ],
            )
        finally:
            evaluator.close()
    finally:
        await stop_digest_job(digests)
        await http.aclose()
        await holding_store.close()
        await safety.close()
        await audit.close()
