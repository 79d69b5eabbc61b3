"""Frozen models a worker decodes again and again from the same JSON, kept as one object.

A key's workflow input carries its service and every playbook for it; each occurrence's carries
the service and its candidate playbooks. Every cached workflow run used to hold its own decoded
copy (129 KiB for a key with the eight shipped playbooks), and every decode and replay checked
each step's templates again. Models that inherit :class:`SharedWhenDecoded` are, when validated
from JSON with no validation context (how Temporal's pydantic converter decodes workflow inputs,
state and updates), looked up by their JSON text and shared. They are frozen and no code changes
their contents (their dicts included: code builds new ones), so runs cannot see each other
through them. The cache validates in the plain (lax) mode: a caller wanting ``strict=True`` must
pass a validation context, which bypasses it.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Self, TypeVar

import pydantic
from pydantic import BaseModel, ModelWrapValidatorHandler, ValidationInfo, model_validator

SHARING = "shared_when_decoded"
"""Validation-context key of the one validation of a text that the cache keeps."""
KEPT = 512
"""Decoded objects kept, by type and JSON text (the worker's own playbooks and services, and the
older versions that open incidents still carry)."""


M = TypeVar("M", bound=BaseModel)


class SharedWhenDecoded(BaseModel):
    @model_validator(mode="wrap")
    @classmethod
    def _one_copy(
        cls, data: Any, handler: ModelWrapValidatorHandler[Self], info: ValidationInfo
    ) -> Self:
        if info.mode != "json" or info.context is not None or not isinstance(data, dict):
            return handler(data)
        try:
            shared = _decoded(cls, json.dumps(data, separators=(",", ":")))
        except pydantic.ValidationError:
            return handler(data)  # the problem, reported at its place in the whole document
        assert isinstance(shared, cls)
        return shared


@functools.lru_cache(maxsize=KEPT)
def _decoded(cls: type[M], text: str) -> M:
    return cls.model_validate_json(text, context={SHARING: True})
