"""What the campaign proves, read from the providers' own write logs and the audit store:
each intended change applied once and undone once, nothing acknowledged lost, nothing stuck,
and every audit chain verifying."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from orchestrator.audit.factory import open_audit_store
from orchestrator.audit.spool import AuditSpool
from orchestrator.config.settings import Settings
from orchestrator.domain.flags import FlagState
from orchestrator.providers.local_ops import local_ops
from tests.faults.alerts import SERVICE
from tests.faults.campaign import ENDED, WAITING_FOR_A_PERSON, Campaign
from tests.faults.cluster import Cluster

FLAG = "support-assistant-answer-mode"


@dataclass
class Row:
    what: str
    value: str
    ok: bool


def _languages(rule_clauses: object) -> list[str]:
    return [v for c in rule_clauses for v in c.values if c.attribute == "language"]  # type: ignore[attr-defined]


def flag_writes(
    changes: list[tuple[str, FlagState, FlagState]],
) -> tuple[Counter[str], Counter[str]]:
    """Per language: segment rules added and removed on the answer-mode flag, from the flag
    store's own change log (each change's before and after)."""
    added: Counter[str] = Counter()
    removed: Counter[str] = Counter()
    for key, before, after in changes:
        if key != FLAG:
            continue
        old = {r.id: r for r in before.rules}
        new = {r.id: r for r in after.rules}
        for rule_id in new.keys() - old.keys():
            added.update(_languages(new[rule_id].clauses))
        for rule_id in old.keys() - new.keys():
            removed.update(_languages(old[rule_id].clauses))
    return added, removed


async def check(campaign: Campaign, cluster: Cluster) -> list[Row]:
    rows: list[Row] = []
    incidents = list(campaign.incidents.values())
    phases = Counter(i.phase for i in incidents)
    rows.append(Row("worker SIGKILLs", str(cluster.kills), cluster.kills >= campaign.kills_wanted))
    rows.append(
        Row(
            "Temporal restarts (one mid-incident, one during an ingest outage)",
            str(cluster.restarts),
            cluster.restarts >= 2,
        )
    )
    outage_503 = campaign.outage_answers.count(503)
    with_wait = sum(1 for r in campaign.outage_retry_after if r)
    rows.append(
        Row(
            "deliveries answered 503 while Temporal was down (with Retry-After), then retried",
            f"{outage_503} ({with_wait} with Retry-After); answers {campaign.outage_answers}",
            outage_503 > 0 and with_wait == outage_503,
        )
    )
    faults = ", ".join(f"{name} x{n}" for name, n in campaign.faults.items())
    rows.append(Row("provider faults injected", faults, True))
    rows.append(Row("incidents", f"{len(incidents)}: {dict(phases)}", True))

    added, removed = flag_writes(campaign.fake.changes)
    resolved = [i.language for i in incidents if i.phase == "resolved"]
    duplicates = {lang: (added[lang], removed[lang]) for lang in added if added[lang] > 1}
    duplicates |= {lang: (added[lang], removed[lang]) for lang in removed if removed[lang] > 1}
    not_undone = [lang for lang in resolved if (added[lang], removed[lang]) != (1, 1)]
    ops = local_ops(campaign.state)
    prompt = await ops.deploy.state(SERVICE, "prompt")
    pins = len(prompt.history) - 1  # seeded with the known-good version as the one before
    reviews = Counter(t.incident_id for t in await ops.tickets.all())
    pages = Counter((p.incident_id, str(p.details.get("purpose"))) for p in await ops.pager.all())
    # A lasting freeze outlives its incident (a person lifts it after the review): a later
    # incident sets its own. A duplicate is a second freeze made by the same incident.
    freezes = Counter(f.id.split("/", 1)[0] for f in await ops.freezes.all())
    duplicated = (
        len(duplicates)
        + max(pins - 1, 0)
        + sum(n - 1 for n in reviews.values() if n > 1)
        + sum(n - 1 for n in pages.values() if n > 1)
        + sum(n - 1 for n in freezes.values() if n > 1)
    )
    rows.append(
        Row(
            "duplicates (a flag rule added or removed twice, a second pin, or a second freeze,"
            " review or page by one incident)",
            str(duplicated)
            + (f" rules (added, removed): {duplicates}" if duplicates else "")
            + (f"; prompt history {prompt.history}" if pins > 1 else "")
            + (f"; freezes {dict(freezes)}" if any(n > 1 for n in freezes.values()) else "")
            + (f"; reviews {dict(reviews)}" if any(n > 1 for n in reviews.values()) else "")
            + (f"; pages {dict(pages)}" if any(n > 1 for n in pages.values()) else ""),
            duplicated == 0,
        )
    )
    rows.append(
        Row(
            "resolved incidents whose segment rule was not applied once and undone once",
            str(len(not_undone))
            + (
                f" (added, removed): { ({g: (added[g], removed[g]) for g in not_undone}) }"
                if not_undone
                else ""
            ),
            not not_undone,
        )
    )

    settings = Settings(state_dir=campaign.state)
    store = open_audit_store(settings.effective_audit_url)
    try:
        lost = []
        for incident in incidents:
            deliveries = [d for d in (incident.fired, incident.resolved) if d and d.accepted]
            events = await store.timeline(campaign.key(incident.language))
            keys = {str(e.data.get("dedupe_key", "")) for e in events}
            keys |= {str(e.data.get("signal", {}).get("dedupe_key", "")) for e in events}
            lost += [d.dedupe_key for d in deliveries if d.dedupe_key not in keys]
        report = await store.verify()
    finally:
        await store.close()
    spooled = AuditSpool(settings.audit_spool_dir).pending()
    rows.append(_drain_row(campaign))
    rows.append(
        Row(
            "acknowledged alerts lost (no audit record of them)",
            str(len(lost)) + (f" {lost[:3]}" if lost else ""),
            not lost,
        )
    )
    stuck = [
        i.language
        for i in incidents
        if i.phase not in {p.value for p in ENDED | WAITING_FOR_A_PERSON}
        or i.ended_after is None
        or i.ended_after > campaign.deadline
    ]
    slowest = max((i.ended_after or 0.0 for i in incidents), default=0.0)
    rows.append(
        Row(
            "incidents not ended (or waiting for a person) within the deadline",
            f"{len(stuck)}{f' {stuck}' if stuck else ''}; slowest {slowest:.0f} s"
            f" of {campaign.deadline:.0f} s",
            not stuck,
        )
    )
    rows.append(
        Row(
            "audit chain",
            f"{'verifies' if report.ok else 'BROKEN'}: {report.checked}"
            f" events; {len(spooled)} dead-lettered",
            report.ok and not spooled,
        )
    )
    return rows


def _drain_row(campaign: Campaign) -> Row:
    """How many workflows were still writing their audit trail when the last incident's phase
    said it ended, and whether they all finished before the checks read the store."""
    writing, left = len(campaign.writing), campaign.undrained
    if left:
        value = f"{writing}; still writing at the deadline: {left}"
    else:
        value = f"{writing}, all written {campaign.drained_after:.0f} s later" if writing else "0"
    return Row(
        "audit still being written when the last incident ended (workflows)", value, not left
    )


def table(rows: list[Row]) -> str:
    lines = ["| check | result | |", "|---|---|---|"]
    lines += [f"| {r.what} | {r.value} | {'ok' if r.ok else 'FAILED'} |" for r in rows]
    return "\n".join(lines)
