"""Declared record shapes: DuckDB column types for ``read_json`` and a Python check for them.

DuckDB's JSON reader, given explicit ``columns``, skips auto-detection and drops every key not
declared (fast, and stable across files). It fails a whole file on a record whose declared
object is, say, a string. The careful path therefore checks each record against the same shape
first and rejects the offending record alone, with the JSON path that broke.
"""

from __future__ import annotations

from typing import Any

from tocsin.sources.base import RecordError, Shape


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _type_of(spec: Any) -> str:
    if isinstance(spec, str):
        return spec
    if isinstance(spec, list):
        if len(spec) != 1:
            raise ValueError("a list shape holds exactly one element shape")
        return _type_of(spec[0]) + "[]"
    if isinstance(spec, dict):
        inner = ", ".join(f"{_quote(k)} {_type_of(v)}" for k, v in spec.items())
        return f"STRUCT({inner})"
    raise ValueError(f"bad shape element {spec!r}")


def column_types(shape: Shape) -> dict[str, str]:
    """The DuckDB type of each top-level column of a shape."""
    return {key: _type_of(spec) for key, spec in shape.items()}


def duckdb_columns(shape: Shape) -> str:
    """Render a shape as the ``columns={...}`` argument of DuckDB's ``read_json``."""
    parts = []
    for key, typ in column_types(shape).items():
        literal = key.replace("'", "''")
        parts.append(f"'{literal}': '{typ}'")
    return "{" + ", ".join(parts) + "}"


def check_shape(record: Any, shape: Shape) -> None:
    """Raise RecordError if ``record`` cannot be read with ``shape``."""
    if not isinstance(record, dict):
        raise RecordError(f"record is a JSON {_json_kind(record)}, expected an object")
    _check_object(record, shape, "$")


def _check_object(obj: dict[str, Any], shape: Shape, path: str) -> None:
    for key, spec in shape.items():
        value = obj.get(key)
        if value is None or isinstance(spec, str):
            continue
        where = f"{path}.{key}"
        if isinstance(spec, dict):
            if not isinstance(value, dict):
                raise RecordError(f"{where} is a JSON {_json_kind(value)}, expected an object")
            _check_object(value, spec, where)
        elif isinstance(spec, list):
            if not isinstance(value, list):
                raise RecordError(f"{where} is a JSON {_json_kind(value)}, expected an array")
            element = spec[0]
            if isinstance(element, dict):
                for i, item in enumerate(value):
                    if item is None:
                        continue
                    if not isinstance(item, dict):
                        raise RecordError(
                            f"{where}[{i}] is a JSON {_json_kind(item)}, expected an object"
                        )
                    _check_object(item, element, f"{where}[{i}]")


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "null"
