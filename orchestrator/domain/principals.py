"""Who acts through the operator API: named principals with roles.

A credential (a bearer token today; OIDC can come later behind the same interface) maps to a
:class:`Principal`. Decisions are recorded under the principal's name, never under a name the
caller writes in a body, so the two-person rule compares people, not strings they chose.

Roles are ordered: each includes the ones below it.

- ``viewer`` reads incidents, their timelines and the safety switches;
- ``responder`` also launches playbooks and aborts incidents;
- ``approver`` also approves, denies and fast-tracks;
- ``admin`` also flips the kill switch.
"""

from __future__ import annotations

from enum import IntEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$"
"""A principal's name: what the audit records as the actor (no blanks, at most 128 characters)."""


class Role(IntEnum):
    VIEWER = 1
    RESPONDER = 2
    APPROVER = 3
    ADMIN = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            known = ", ".join(r.label for r in cls)
            raise ValueError(f"unknown role {text[:40]!r}; known: {known}") from None


class Principal(BaseModel):
    """A named holder of roles. ``may(role)`` is true when any role held is at or above it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    roles: frozenset[Role] = Field(min_length=1)

    @field_validator("roles", mode="before")
    @classmethod
    def _parse_roles(cls, value: object) -> object:
        if isinstance(value, list | tuple | set | frozenset):
            return frozenset(Role.parse(v) if isinstance(v, str) else v for v in value)
        return value

    @property
    def highest(self) -> Role:
        return max(self.roles)

    def may(self, role: Role) -> bool:
        return self.highest >= role

    def describe(self) -> str:
        return f"{self.name} ({', '.join(sorted(r.label for r in self.roles))})"
