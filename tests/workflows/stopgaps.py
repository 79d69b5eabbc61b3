"""A stopgap playbook for tests: the prompt pinned while an SLO is breached, undone after."""

from __future__ import annotations

from orchestrator.domain.playbook import parse_playbook

SERVED_BEFORE = "answer-prompt-v42"
"""The prompt serving when the incident starts (the catalog's current)."""
RAN_BEFORE_IT = "answer-prompt-v41"
"""What served before it: the provider's ``previous`` at the start (also the known-good)."""

# rollback-and-freeze's rollback, made a stopgap: pinned while the SLO is breached, undone after.
HOLD_PROMPT = parse_playbook(
    """
name: hold-prompt-version
description: Pin the prompt while the SLO is breached; the pin is undone once it has recovered.
manual_only: true
match:
  dimensions: [fairness]
  services: [support-assistant]
resolution:
  hold_down_seconds: 15
on_failure:
  compensate: true
steps:
  - id: rollback
    action: deploy.pin_version
    temporary: true
    timeout_seconds: 60
    args:
      component: prompt
      version: "{{ signal.labels.get('version', 'known-good') }}"
  - id: wait-for-recovery
    action: incident.wait_for_recovery
    timeout_seconds: 7200
    args:
      timeout_seconds: 7200
      on_timeout: escalate
""",
    "tests/workflows/stopgaps.py",
)
