"""Where the local (file-backed) operational providers keep their state, and how to build them.

One place, so the worker (composition root) and the CLI (``kill-switch``, ``freezes``) open the
same files: all under the state folder (default ``.orchestrator/``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestrator.providers.deploy import DeploymentProvider
from orchestrator.providers.local_deploy import LocalDeployments
from orchestrator.providers.paging import LocalPager, Pager
from orchestrator.providers.releases import LocalReleaseFreezes, ReleaseFreezes
from orchestrator.providers.safety import LocalSafetyLedger, SafetyLedger
from orchestrator.providers.tickets import LocalTickets, TicketProvider


@dataclass(frozen=True)
class OpsProviders:
    deploy: DeploymentProvider
    freezes: ReleaseFreezes
    tickets: TicketProvider
    pager: Pager
    safety: SafetyLedger


@dataclass(frozen=True)
class LocalOps:
    deploy: LocalDeployments
    freezes: LocalReleaseFreezes
    tickets: LocalTickets
    pager: LocalPager
    safety: LocalSafetyLedger

    def providers(self) -> OpsProviders:
        return OpsProviders(self.deploy, self.freezes, self.tickets, self.pager, self.safety)


def local_ops(state_dir: Path) -> LocalOps:
    return LocalOps(
        deploy=LocalDeployments(state_dir / "deploy" / "components.json"),
        freezes=LocalReleaseFreezes(state_dir / "releases" / "freezes.json"),
        tickets=LocalTickets(state_dir / "tickets" / "reviews.json"),
        pager=LocalPager(state_dir / "pager" / "pages.json"),
        safety=LocalSafetyLedger(state_dir / "safety" / "ledger.json"),
    )
