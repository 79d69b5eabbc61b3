"""Hypothesis strategies from the JSON Schemas in the OpenAPI document (the subset it uses).

Supports ``$ref`` into ``components/schemas``, ``type``, ``anyOf``/``oneOf``, ``enum``, ``const``,
``properties``/``required``/``additionalProperties``, ``items``/``minItems``, string length and
``pattern``, ``minimum`` and ``format: date-time``. Optional properties come and go, and objects
sometimes grow keys the schema does not name, so both valid and near-valid bodies are produced.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
ANY_JSON = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
_TIMES = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)


class SchemaStrategies:
    def __init__(self, components: Mapping[str, Any]) -> None:
        self.components = components

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in schema:
            schema = self.components[str(schema["$ref"]).rsplit("/", 1)[-1]]
        return schema

    def for_schema(self, schema: Mapping[str, Any]) -> st.SearchStrategy[Any]:
        schema = self.resolve(schema)
        if "const" in schema:
            return st.just(schema["const"])
        if "enum" in schema:
            return st.sampled_from(list(schema["enum"]))
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return st.one_of([self.for_schema(s) for s in schema[key]])
        kind = schema.get("type")
        if kind == "object":
            return self._object(schema)
        if kind == "array":
            return st.lists(
                self.for_schema(schema.get("items", {})),
                min_size=schema.get("minItems", 0),
                max_size=4,
            )
        if kind == "string":
            return self._string(schema)
        if kind == "integer":
            return st.integers(min_value=schema.get("minimum"), max_value=2**40)
        if kind == "number":
            return st.floats(min_value=schema.get("minimum"), allow_nan=False, allow_infinity=False)
        if kind == "boolean":
            return st.booleans()
        if kind == "null":
            return st.none()
        return ANY_JSON

    def _string(self, schema: Mapping[str, Any]) -> st.SearchStrategy[str]:
        if schema.get("format") == "date-time":
            return _TIMES.map(lambda d: d.isoformat().replace("+00:00", "Z"))
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True).filter(
                lambda s: len(s) <= schema.get("maxLength", 1000)
            )
        return st.text(min_size=schema.get("minLength", 0), max_size=schema.get("maxLength", 40))

    def _object(self, schema: Mapping[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        props: Mapping[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", ()))
        fixed = {k: self.for_schema(v) for k, v in props.items() if k in required}
        optional = {k: self.for_schema(v) for k, v in props.items() if k not in required}
        extra = schema.get("additionalProperties", True)
        values = self.for_schema(extra) if isinstance(extra, Mapping) else ANY_JSON
        max_extra = 3 if isinstance(extra, Mapping) or extra is not False else 0
        base = st.fixed_dictionaries(fixed, optional=optional)
        extras = st.dictionaries(st.text(max_size=12), values, max_size=max_extra)
        return st.tuples(base, extras).map(lambda pair: {**pair[1], **pair[0]})
