"""Release freezes through the deploy webhook's ``freeze`` and ``unfreeze`` operations.

The CI/CD system is told (an Argo CD sync window, a GitHub Actions workflow that locks an
environment); the freeze's record (reason, owner, until, who lifted it and why) stays in the state
folder's file (:class:`~orchestrator.providers.releases.LocalReleaseFreezes`), and so does the
answer to :meth:`active`: a release pipeline that asks the orchestrator, or reads the CI/CD
system's own lock, sees the same freeze. The request is sent before the record is written, so a
failed request records nothing and the activity's retry sends it again; a freeze already recorded
is not sent twice, nor a lift already recorded.

``orchestrator freezes lift`` (the CLI) changes the record only; the workflow's own lift (at
resolution of a temporary freeze, or its compensation) goes through the webhook.
"""

from __future__ import annotations

from datetime import datetime

from orchestrator.domain.ops_models import Freeze, FreezeRequest
from orchestrator.errors import NotFoundError
from orchestrator.providers.deploy_webhook import DeployWebhook
from orchestrator.providers.releases import LocalReleaseFreezes


class WebhookReleaseFreezes:
    """A :class:`~orchestrator.providers.releases.ReleaseFreezes`: the webhook, then the record."""

    def __init__(self, webhook: DeployWebhook, record: LocalReleaseFreezes) -> None:
        if not webhook.has("freeze"):
            raise ValueError("the deploy webhook has no freeze operation")
        self._webhook = webhook
        self._record = record

    def __repr__(self) -> str:
        return f"WebhookReleaseFreezes({self._webhook!r}, {self._record!r})"

    async def freeze(self, request: FreezeRequest, now: datetime) -> Freeze:
        known = await self._record.get(request.id)
        if known is not None:
            return known
        variables = {
            "service": request.service,
            "component": request.component,
            "freeze_id": request.id,
            "reason": request.reason,
            "owner": request.owner,
            "until": request.until.isoformat() if request.until else "",
            "created_by": request.created_by,
        }
        await self._webhook.call("freeze", variables, f"{request.service}/{request.component}")
        return await self._record.freeze(request, now)

    async def lift(self, freeze_id: str, *, by: str, reason: str, now: datetime) -> Freeze:
        known = await self._record.get(freeze_id)
        if known is None:
            raise NotFoundError(f"no release freeze {freeze_id!r}")
        if known.lifted_at is None:
            variables = {
                "service": known.service,
                "component": known.component,
                "freeze_id": freeze_id,
                "by": by,
                "reason": reason,
            }
            await self._webhook.call("unfreeze", variables, f"{known.service}/{known.component}")
        return await self._record.lift(freeze_id, by=by, reason=reason, now=now)

    async def get(self, freeze_id: str) -> Freeze | None:
        return await self._record.get(freeze_id)

    async def active(self, service: str, component: str | None, now: datetime) -> list[Freeze]:
        return await self._record.active(service, component, now)

    async def all(self) -> list[Freeze]:
        return await self._record.all()
