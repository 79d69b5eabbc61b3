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

An object is kept as long as something holds it (a cached run's input or state: weak references)
and, whoever holds it, while it is among the :data:`KEPT` most recently used (a run replayed
after it left the worker's cache finds its playbooks again). A worker with runs of many
services (one per open incident in the bench) used to keep the last 512 decoded, most of them of
runs long gone from its cache.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Self

import pydantic
from pydantic import BaseModel, ModelWrapValidatorHandler, ValidationInfo, model_validator

SHARING = "shared_when_decoded"
"""Validation-context key of the one validation of a text that the cache keeps."""
UNSHARED: Mapping[str, bool] = MappingProxyType({SHARING: False})
"""Validation context for JSON whose models stay out of the cache: a document validated once and
dropped (the catalog a worker checks when it starts) would otherwise stay held by it."""
KEPT = 64
"""Decoded objects kept by type and JSON text even when nothing holds them: the most recently
used (the worker's own playbooks, a few services)."""


class SharedWhenDecoded(BaseModel):
    @model_validator(mode="wrap")
    @classmethod
    def _one_copy(
        cls, data: Any, handler: ModelWrapValidatorHandler[Self], info: ValidationInfo
    ) -> Self:
        if info.mode != "json" or info.context is not None or not isinstance(data, dict):
            return handler(data)
        try:
            shared = DECODED.get(cls, json.dumps(data, separators=(",", ":")))
        except pydantic.ValidationError:
            return handler(data)  # the problem, reported at its place in the whole document
        assert isinstance(shared, cls)
        return shared


class Decoded:
    """One decoded object per (type, JSON text) while it is held or recent; thread-safe (the
    worker decodes in its workflow threads)."""

    def __init__(self, kept: int) -> None:
        self._kept = kept
        self._lock = threading.Lock()
        self._inside = threading.local()
        self._alive: weakref.WeakValueDictionary[tuple[type, str], BaseModel] = (
            weakref.WeakValueDictionary()
        )
        self._recent: OrderedDict[tuple[type, str], BaseModel] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, cls: type[BaseModel], text: str) -> BaseModel:
        if getattr(self._inside, "busy", False):
            # A finalizer the cache's own work set off (a collection, an evicted object's last
            # reference) that decodes again: decoded apart, never waiting on the lock it holds.
            return cls.model_validate_json(text, context={SHARING: True})
        self._inside.busy = True
        # what leaves the recent ones: its last references go when this call returns, after the
        # lock is released and the flag lowered
        evicted: list[BaseModel] = []
        try:
            return self._shared(cls, text, evicted)
        finally:
            self._inside.busy = False

    def _shared(self, cls: type[BaseModel], text: str, evicted: list[BaseModel]) -> BaseModel:
        key = (cls, text)
        with self._lock:
            found = self._alive.get(key)
            if found is not None:
                self.hits += 1
                return self._remember(key, found, evicted)
        made = cls.model_validate_json(text, context={SHARING: True})
        with self._lock:
            self.misses += 1
            # another thread may have decoded the same text meanwhile: its copy is the one
            return self._remember(key, self._alive.setdefault(key, made), evicted)

    def _remember(
        self, key: tuple[type, str], value: BaseModel, evicted: list[BaseModel]
    ) -> BaseModel:
        self._recent[key] = value
        self._recent.move_to_end(key)
        while len(self._recent) > self._kept:
            evicted.append(self._recent.popitem(last=False)[1])
        return value

    def __contains__(self, key: object) -> bool:
        """Whether a (type, JSON text) is held now, by runs or as recent."""
        return key in self._alive


DECODED = Decoded(KEPT)
