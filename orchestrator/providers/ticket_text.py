"""What an RCA ticket says, the same in every ticket system: the review's fields, its evidence,
and the markers an adapter finds its own tickets and comments by.

A ticket is found again by a marker derived from the draft's key (:func:`review_label`: a label
is the one marker both GitHub and Jira list issues by, consistently and exactly), and carries the
draft itself (:func:`encode_draft`) so that reading it back gives the same
:class:`~orchestrator.domain.ops_models.ReviewTicket` as the local store does.
"""

from __future__ import annotations

import base64
import hashlib
import json

import pydantic

from orchestrator.domain.ops_models import ReviewDraft

LABEL = "orchestrator-review"
"""The label on every review ticket (GitHub lists by it; Jira searches by it)."""
MAX_EVIDENCE_CHARS = 30_000
"""Evidence longer than this is cut in the comment (GitHub takes 65,536 characters a body)."""


def review_label(key: str) -> str:
    """The per-review marker: ``orchestrator-review-`` and 16 hex digits of the key's SHA-256
    (labels allow no spaces; keys may hold anything)."""
    return f"{LABEL}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def evidence_marker(key: str) -> str:
    return f"orchestrator-evidence: {review_label(key)}"


def resolution_marker(key: str) -> str:
    return f"orchestrator-resolution: {review_label(key)}"


def summary_lines(draft: ReviewDraft) -> list[str]:
    """The review's fields, one line each (the article's owner, deadline, verification)."""
    lines = [
        f"Incident: {draft.incident_id} ({draft.service} / {draft.slo}, {draft.severity or '-'})",
        f"Owner: {draft.owner}",
        f"Deadline: {draft.deadline.isoformat(timespec='minutes')}",
        f"Verification: {draft.verification}",
    ]
    lines += [f"Question: {q}" for q in draft.questions]
    lines += [f"Evidence link: {link}" for link in draft.links]
    return lines


def evidence_json(draft: ReviewDraft) -> str:
    text = json.dumps(draft.evidence, indent=2, sort_keys=True, default=str)
    if len(text) > MAX_EVIDENCE_CHARS:
        text = text[:MAX_EVIDENCE_CHARS] + "\n... (cut: the audit history has all of it)"
    return text


def encode_draft(draft: ReviewDraft) -> str:
    """The draft as base64 JSON (safe inside an HTML comment and a property value)."""
    return base64.b64encode(draft.model_dump_json().encode()).decode()


def decode_draft(text: str) -> ReviewDraft | None:
    """The draft :func:`encode_draft` wrote, or None when ``text`` is not one."""
    try:
        return ReviewDraft.model_validate_json(base64.b64decode(text.strip(), validate=True))
    except (ValueError, pydantic.ValidationError):
        return None
