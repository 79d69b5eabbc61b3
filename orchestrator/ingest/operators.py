"""The guard of the operator API: who calls (a principal, from a bearer token) and may they.

Every route under ``/v1/incidents`` and ``/v1/safety`` goes through :meth:`OperatorGuard.route`:
the token is looked up in the principals (``ORCHESTRATOR_TOKENS_FILE``), 401 when there is none
or it is unknown, 403 when the principal's roles are below the route's. The handler gets the
principal, and records decisions under its name. ``ORCHESTRATOR_INGEST_ALLOW_UNAUTHENTICATED``
never applies here. Errors become the same JSON bodies as the ingest's: 4xx for bad input, 404,
503 with Retry-After when Temporal or the audit database is away.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pydantic
import structlog
from starlette.requests import Request
from starlette.responses import Response

from orchestrator.config.principals import Principals
from orchestrator.domain.principals import Principal, Role
from orchestrator.errors import (
    AuditError,
    NotFoundError,
    OrchestratorError,
    TemporalRefusedError,
    TemporalUnavailableError,
    ValidationError,
)
from orchestrator.ingest.auth import unauthorized
from orchestrator.ingest.limits import RejectionError, decode_json, read_body
from orchestrator.ingest.pipeline import rejection_response

_log = structlog.get_logger("orchestrator.ingest.operators")
Handler = Callable[[Request, Principal], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]
M = TypeVar("M", bound=pydantic.BaseModel)


def problems(exc: pydantic.ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
    )


def named_self(principal: Principal, named: str | None, field: str) -> None:
    """A body may name the caller (older clients send it) but never somebody else."""
    if named is not None and named.strip() != principal.name:
        raise ValidationError(
            f"{field} must be you ({principal.name}) or left out: decisions are recorded under"
            " the principal of the token that makes them",
            field,
        )


class OperatorGuard:
    def __init__(
        self,
        principals: Principals,
        *,
        max_body_bytes: int,
        max_depth: int,
        retry_after_seconds: int,
    ) -> None:
        self.principals = principals
        self.max_body_bytes = max_body_bytes
        self.max_depth = max_depth
        self.retry_after = str(retry_after_seconds)

    def authenticate(self, request: Request) -> Principal:
        if not self.principals:
            raise unauthorized(
                "no operator principals are configured (ORCHESTRATOR_TOKENS_FILE), so the"
                " operator API refuses every call"
            )
        header = request.headers.get("authorization")
        if header is None:
            raise unauthorized("missing Authorization header (expected a bearer token)")
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("Authorization header is not a bearer token")
        principal = self.principals.authenticate(token.strip())
        if principal is None:
            raise unauthorized("invalid bearer token")
        return principal

    @staticmethod
    def authorize(principal: Principal, role: Role) -> None:
        if not principal.may(role):
            raise RejectionError(
                403,
                "forbidden",
                f"{principal.describe()} may not do this: it needs the {role.label} role",
            )

    async def json_body(self, request: Request) -> Any:
        body = await read_body(request, self.max_body_bytes)
        return decode_json(body, self.max_depth)

    async def parse(self, request: Request, model: type[M], where: str) -> M:
        """The body as ``model``, within the size and depth limits; 422 naming each problem."""
        document = await self.json_body(request)
        try:
            return model.model_validate(document)
        except pydantic.ValidationError as exc:
            raise ValidationError(problems(exc), where) from None

    def route(self, role: Role, handler: Handler) -> Endpoint:
        """``handler`` behind authentication, the role check and the error mapping."""

        async def endpoint(request: Request) -> Response:
            try:
                principal = self.authenticate(request)
                self.authorize(principal, role)
                return await handler(request, principal)
            except RejectionError as rejection:
                return rejection_response(rejection)
            except OrchestratorError as exc:
                return rejection_response(self.rejection(exc))

        return endpoint

    def rejection(self, exc: OrchestratorError) -> RejectionError:
        if isinstance(exc, NotFoundError):
            return RejectionError(404, "not_found", str(exc))
        if isinstance(exc, TemporalUnavailableError | TemporalRefusedError | AuditError):
            what = "the audit database" if isinstance(exc, AuditError) else "Temporal"
            _log.warning("operator api: dependency unavailable", error=type(exc).__name__)
            return RejectionError(
                503,
                "unavailable",
                f"{what} is unreachable; retry later",
                headers={"Retry-After": self.retry_after},
            )
        return RejectionError(422, "invalid", str(exc))
