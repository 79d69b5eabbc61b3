"""Where the local (file-backed) operational providers keep their state, and how to build them.

One place, so the worker (composition root) and the CLI (``freezes``) open the same files: all
under the state folder (default ``.orchestrator/``). The safety ledger is not among them: every
host shares it, in the audit database (:mod:`orchestrator.activities.safety_ledger`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestrator.providers.deploy import DeploymentProvider
from orchestrator.providers.local_deploy import LocalDeployments
from orchestrator.providers.paging import LocalPager, Pager
from orchestrator.providers.releases import LocalReleaseFreezes, ReleaseFreezes
from orchestrator.providers.safety import SafetyLedger
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

    def providers(self, safety: SafetyLedger) -> OpsProviders:
        """These providers beside the shared safety ledger."""
        return OpsProviders(self.deploy, self.freezes, self.tickets, self.pager, safety)


def local_ops(state_dir: Path) -> LocalOps:
    return LocalOps(
        deploy=LocalDeployments(state_dir / "deploy" / "components.json"),
        freezes=LocalReleaseFreezes(state_dir / "releases" / "freezes.json"),
        tickets=LocalTickets(state_dir / "tickets" / "reviews.json"),
        pager=LocalPager(state_dir / "pager" / "pages.json"),
    )
