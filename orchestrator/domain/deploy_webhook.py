"""The generic deploy webhook's configuration: one HTTP request per operation, from templates.

A YAML file (``ORCHESTRATOR_DEPLOY_WEBHOOK_FILE``, docs/integrations.md) names, per operation
(``state``, ``pin``, ``scale``, ``freeze``, ``unfreeze``), the method, a URL template, headers and
a JSON body template, and for ``state`` the answer's fields by JSON path
(:mod:`orchestrator.domain.json_path`). Templates are the playbooks' sandboxed Jinja
(:mod:`orchestrator.domain.templating`) and may use only the variables :data:`VARIABLES` lists
for their operation: anything else is refused when the file is loaded, naming the field.

Header values may name secrets as ``${ENV_NAME}`` (resolved from the environment, or the first
line of the file ``ENV_NAME_FILE``, when the settings are read; held as
:class:`~orchestrator.secrets.Secret`); secrets go in headers only, never in a URL or a body.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from orchestrator.domain.json_path import parse_path
from orchestrator.domain.templating import (
    ALLOWED_NAMES,
    CONTEXT_NAMES,
    check_template,
    contains_template,
    is_template,
)
from orchestrator.errors import PlaybookError

Operation = Literal["state", "pin", "scale", "freeze", "unfreeze"]
VARIABLES: dict[str, frozenset[str]] = {
    "state": frozenset({"service", "component"}),
    "pin": frozenset({"service", "component", "version", "ref", "if_current"}),
    "scale": frozenset({"service", "component", "replicas", "ref", "if_current"}),
    "freeze": frozenset(
        {"service", "component", "freeze_id", "reason", "owner", "until", "created_by"}
    ),
    "unfreeze": frozenset({"service", "component", "freeze_id", "by", "reason"}),
}
"""What each operation's templates may use. ``if_current`` is the version (or replica count) read
just before the change, for a system that compares and sets on its own (the provider already
changes nothing unless the caller's expectation holds); ``ref`` names the incident step that
asks; ``until`` is ISO 8601, or empty for a freeze until lifted."""
STATE_FIELDS = ("version", "previous", "replicas")
"""What the ``state`` answer maps: ``version`` (required), ``previous`` (the version that served
before: what ``previous`` pins roll back to; none where the answer does not hold it), ``replicas``
(1 when not mapped)."""
SECRET_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_JINJA_GLOBALS = ALLOWED_NAMES - CONTEXT_NAMES  # range, dict, namespace...


def _names_in(value: Any, where: str) -> set[str]:
    """The names the templates inside ``value`` use (ValueError on a syntax error)."""
    if isinstance(value, str):
        if not is_template(value):
            return set()
        try:
            return check_template(value, where)
        except PlaybookError as exc:
            raise ValueError(str(exc)) from None
    if isinstance(value, dict):
        return set().union(*(_names_in(v, where) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_names_in(v, where) for v in value))
    return set()


def _secret_refs(value: Any) -> bool:
    if isinstance(value, str):
        return bool(SECRET_REF.search(value))
    if isinstance(value, dict):
        return any(_secret_refs(v) for v in value.values())
    if isinstance(value, list):
        return any(_secret_refs(v) for v in value)
    return False


class Request(BaseModel):
    """One operation's request."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    url: str = Field(min_length=1)
    """A template; filter values with ``| urlencode`` where they may hold reserved characters."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Fixed values, or ``${ENV_NAME}`` secrets: no templates."""
    body: Any = None
    """A JSON template (mappings and lists of templates), sent as JSON; None: no body."""
    response: dict[str, str] = Field(default_factory=dict)
    """Answer field -> JSON path (``state`` only)."""
    timeout_seconds: float | None = Field(default=None, gt=0, le=300)
    """This request's timeout; None: the worker's HTTP client's (10 s)."""

    @field_validator("headers")
    @classmethod
    def _no_templates_in_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            if contains_template(value):
                raise ValueError(f"header {name}: no templates in headers (fixed or ${{ENV}})")
        return headers

    @field_validator("response")
    @classmethod
    def _paths_parse(cls, response: dict[str, str]) -> dict[str, str]:
        for field, path in response.items():
            parse_path(path)  # a JsonPathError is a ValueError: pydantic names the field
            if field not in STATE_FIELDS:
                known = ", ".join(STATE_FIELDS)
                raise ValueError(f"unknown answer field {field!r} (known: {known})")
        return response

    def check(self, operation: str) -> None:
        """ValueError unless the templates use only the operation's variables."""
        if _secret_refs(self.url) or _secret_refs(self.body):
            raise ValueError("${...} secrets go in headers only, not in the url or the body")
        allowed = VARIABLES[operation]
        for where, value in (("url", self.url), ("body", self.body)):
            unknown = _names_in(value, where) - allowed - _JINJA_GLOBALS
            if unknown:
                raise ValueError(
                    f"{where} uses {', '.join(sorted(unknown))}: {operation} templates may use"
                    f" {', '.join(sorted(allowed))}"
                )
        if operation == "state" and "version" not in self.response:
            raise ValueError("the state answer must map version (response: {version: <path>})")
        if operation != "state" and self.response:
            raise ValueError("only the state answer is read (a change is read back through state)")


class ReadBack(BaseModel):
    """How long a change may take to show in ``state`` (a sync, a dispatched workflow run)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    attempts: int = Field(default=5, ge=1, le=60)
    interval_seconds: float = Field(default=2.0, ge=0, le=60)


class DeployWebhookSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    headers: dict[str, str] = Field(default_factory=dict)
    """Sent with every operation (an operation's own headers win)."""
    operations: dict[Operation, Request]
    read_back: ReadBack = Field(default_factory=ReadBack)

    @field_validator("headers")
    @classmethod
    def _fixed_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        return Request._no_templates_in_headers(headers)

    @model_validator(mode="after")
    def _operations_fit(self) -> DeployWebhookSpec:
        for needed in ("state", "pin"):
            if needed not in self.operations:
                raise ValueError(f"operations.{needed} is required")
        if ("freeze" in self.operations) != ("unfreeze" in self.operations):
            raise ValueError("operations.freeze and operations.unfreeze go together")
        for name, request in self.operations.items():
            try:
                request.check(name)
            except ValueError as exc:
                raise ValueError(f"operations.{name}: {exc}") from None
        return self

    def secret_names(self) -> set[str]:
        """The ``${ENV_NAME}`` names the headers use."""
        values = [*self.headers.values()]
        for request in self.operations.values():
            values += request.headers.values()
        return {name for value in values for name in SECRET_REF.findall(value)}
