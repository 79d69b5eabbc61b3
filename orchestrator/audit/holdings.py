"""The holdings store contract: shared ownership records of temporary production changes.

A holding is one JSON object per target (``flag:<key>:rule:<ref>``...), kept in the audit database
so that every worker host sees the same record. Writers never overwrite blindly: each write names
the version it read (:meth:`HoldingStore.put` is a compare-and-swap), so two workers racing on the
same target cannot lose each other's update; the loser reads again and retries.

The backends are :mod:`~orchestrator.audit.holdings_sqlite` and
:mod:`~orchestrator.audit.holdings_postgres`; :func:`~orchestrator.audit.factory.open_holding_store`
picks one from the audit URL. Bodies are stored as given (canonical JSON, not redacted: a holding
is state to restore exactly, not a record to show), so callers must not put secrets in them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from orchestrator.audit.model import as_utc, canonical_json
from orchestrator.audit.rows import _dt as _as_datetime
from orchestrator.errors import AuditError, ConfigError

MAX_TARGET_CHARS = 512
MAX_BODY_BYTES = 1024 * 1024
"""Upper bound on a holding's body as canonical JSON; a holding is a small record."""
HOLDINGS_TABLE = "holdings"
"""The table of holdings; other shared records (the safety ledger, seen webhook signatures) use
the same compare-and-swap store under their own table names."""
_TABLE_NAME = re.compile(r"[a-z][a-z0-9_]{0,40}")
HOLDING_COLUMNS = "target, version, body, updated_at"
"""Column order of every holding row the backends read (``body`` as JSON text)."""


class StoredHolding(BaseModel):
    """One holding as the store has it: ``version`` is 1 after create and +1 per successful put."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    target: str = Field(min_length=1, max_length=MAX_TARGET_CHARS)
    version: int = Field(ge=1)
    body: dict[str, Any]
    updated_at: AwareDatetime

    @field_validator("updated_at")
    @classmethod
    def _updated_in_utc(cls, value: datetime) -> datetime:
        return as_utc(value)


class HoldingStore(Protocol):
    """A durable compare-and-swap key/value store of holdings, shared by every worker."""

    async def get(self, target: str) -> StoredHolding | None:
        """The stored holding of ``target``, or None if there is none."""
        ...

    async def put(
        self, target: str, body: dict[str, Any], *, expect_version: int
    ) -> StoredHolding | None:
        """Compare and swap, in one transaction. expect_version 0: create only if absent.
        Otherwise replace only if the stored version equals expect_version. Returns the new
        stored holding (version incremented), or None when the precondition failed (someone
        else wrote first / it exists / it is gone)."""
        ...

    async def delete(self, target: str, *, expect_version: int) -> bool:
        """Delete only if the stored version equals expect_version; False otherwise."""
        ...

    async def all(self) -> list[StoredHolding]:
        """Every stored holding, ordered by target (code point order on both backends)."""
        ...

    async def expire(self, updated_before: datetime) -> int:
        """Delete every record last written before ``updated_before``; how many went."""
        ...

    async def close(self) -> None: ...


# -- what both backends share ---------------------------------------------------------------------


def check_table(table: str) -> None:
    """ConfigError unless ``table`` is a plain lower-case SQL name (it is put into statements)."""
    if not _TABLE_NAME.fullmatch(table):
        raise ConfigError(f"invalid table name {table[:50]!r}")


def check_target(target: str) -> None:
    """ValueError unless ``target`` is a non-empty string of at most MAX_TARGET_CHARS."""
    if not isinstance(target, str) or not 1 <= len(target) <= MAX_TARGET_CHARS:
        raise ValueError(f"a holding target must be 1 to {MAX_TARGET_CHARS} characters")


def check_version(expect_version: int) -> None:
    """ValueError unless ``expect_version`` is an int >= 0 (0 means "absent")."""
    if isinstance(expect_version, bool) or not isinstance(expect_version, int):
        raise ValueError("expect_version must be an int")
    if expect_version < 0:
        raise ValueError("expect_version must be >= 0")


def body_json(body: dict[str, Any]) -> str:
    """``body`` as the canonical JSON text to store; ValueError if it is not a JSON object."""
    if not isinstance(body, dict):
        raise ValueError("a holding body must be a JSON object (a dict)")
    try:
        text = canonical_json(body)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"a holding body must be JSON-serialisable: {exc}") from exc
    if len(text.encode()) > MAX_BODY_BYTES:
        raise ValueError(f"a holding body is larger than {MAX_BODY_BYTES} bytes as JSON")
    return text


def holding_from_row(row: Sequence[Any]) -> StoredHolding:
    """A StoredHolding from a row in HOLDING_COLUMNS order; AuditError if the row is malformed."""
    try:
        target, version, body, updated_at = row
        parsed = json.loads(body)
        if not isinstance(parsed, dict):
            raise ValueError("body is not a JSON object")
        return StoredHolding(
            target=target,
            version=version,
            body=parsed,
            updated_at=_as_datetime(updated_at),
        )
    except (ValueError, TypeError) as exc:
        name = str(row[0])[:80] if row else ""
        raise AuditError(f"holding row {name!r} is malformed: {exc}") from exc
