"""Operator principals for API tests: one person per role, each with a token of their own."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette

from orchestrator.config.principals import Principals, token_hash, tokens_document
from orchestrator.domain.principals import Principal, Role

PEOPLE: dict[str, Role] = {
    "sam.viewer": Role.VIEWER,
    "maria.oncall": Role.RESPONDER,
    "lead.sre": Role.APPROVER,
    "ana.approver": Role.APPROVER,
    "root.admin": Role.ADMIN,
}
"""Two approvers, so the two-person rule can be met by two different principals."""
BY_ROLE: dict[Role, str] = {
    Role.VIEWER: "sam.viewer",
    Role.RESPONDER: "maria.oncall",
    Role.APPROVER: "lead.sre",
    Role.ADMIN: "root.admin",
}


def token_of(name: str) -> str:
    return f"orch_test-token-of-{name}-0123456789"


def as_(name: str) -> dict[str, str]:
    """The headers of a call made by ``name``."""
    return {"Authorization": f"Bearer {token_of(name)}"}


def _pairs() -> list[tuple[str, Principal]]:
    return [
        (token_hash(token_of(name)), Principal(name=name, roles=frozenset({role})))
        for name, role in PEOPLE.items()
    ]


def principals() -> Principals:
    return Principals.of(_pairs())


def tokens_file_text() -> str:
    """The same principals as a tokens file (ORCHESTRATOR_TOKENS_FILE)."""
    return tokens_document(_pairs())


@contextlib.asynccontextmanager
async def operator_client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client calling ``app`` in process (errors the app raises are raised here)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        yield client
