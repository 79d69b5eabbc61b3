"""A rollback pin and its undo through the real MLflow Model Registry (issue 13), chosen by
settings alone: the stopgap pins the prompt to known-good (v41) by moving the ``champion`` alias,
the recovery moves it back to what served before (v42), the local deployment file is never
pinned, and the audit history records both moves with before and after and no credential."""

from __future__ import annotations

import json
import uuid

from orchestrator.audit.model import AuditKind
from orchestrator.config.model_registry import parse_models
from orchestrator.domain.model_registry import MlflowSettings
from orchestrator.domain.playbook import PlaybookLibrary
from orchestrator.secrets import Secret
from orchestrator.workflows.types import IncidentPhase
from tests.providers.mlflow_server import MlflowServer
from tests.workflows.conftest import HarnessFactory
from tests.workflows.signals import launched, recovered
from tests.workflows.stopgaps import HOLD_PROMPT, RAN_BEFORE_IT, SERVED_BEFORE


async def test_a_rollback_pin_and_its_undo_move_the_mlflow_alias_and_are_audited(
    make_harness: HarnessFactory, mlflow_server: MlflowServer
) -> None:
    suffix = uuid.uuid4().hex[:8]
    model, user, password = f"cx-answer-prompt-{suffix}", f"orch-{suffix}", uuid.uuid4().hex
    mlflow_server.register(model, [RAN_BEFORE_IT, SERVED_BEFORE], serving=2)
    mlflow_server.user(user, password, edit=(model,))
    chosen = MlflowSettings(
        tracking_uri=mlflow_server.url,
        models=parse_models(f"support-assistant/prompt={model}"),
        username=user,
        password=Secret(password),
    )
    async with make_harness(mlflow=chosen) as h:
        library = PlaybookLibrary(playbooks=(*h.runtime.library.playbooks, HOLD_PROMPT))
        inc = await h.submit(launched("hold-prompt-version", "language-gap"), library)
        await h.until(inc, IncidentPhase.MONITORING, step="rollback")
        assert mlflow_server.alias(model) == "1", "champion moved to v41"
        assert await h.version("prompt") == SERVED_BEFORE, "the local file is not pinned"

        await h.submit(recovered("language-gap"))
        assert (await h.result(inc)).phase is IncidentPhase.RESOLVED
        assert mlflow_server.alias(model) == "2", "champion back on v42"
        events = await h.timeline(inc)
    [pin] = [e for e in events if e.kind is AuditKind.EFFECT_APPLIED and not e.data.get("undo")]
    assert (pin.data["version_before"], pin.data["version_after"]) == (SERVED_BEFORE, RAN_BEFORE_IT)
    [undo] = [e for e in events if e.kind is AuditKind.EFFECT_APPLIED and e.data.get("undo")]
    assert f"'{RAN_BEFORE_IT}' -> '{SERVED_BEFORE}'" in undo.summary
    recorded = json.dumps([e.model_dump(mode="json") for e in events])
    assert password not in recorded
