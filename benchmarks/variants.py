"""The ways of decoding the same bytes that the suite compares.

``VARIANTS`` maps a variant's name to its :class:`Variant`.  A variant's ``setup``
builds, for one input shape, a function ``run(unit) -> result`` that turns one
unit of input (an Event Hubs body, a block of JSON lines, a SIEM response) into
whatever the variant produces, and a function counting the records of a result
(used to check the work was done, outside the timer).  ``setup`` raises
:class:`Unavailable` when the variant cannot run here (an optional dependency is
missing, a shape it does not read, a rule set that does not exist yet).
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Union

import msgspec

import m365parse
from m365parse.tables import RECORD_TYPES, SiemAlert

from . import api_shapes
from .baselines import map_alert, map_record, pydantic_models

__all__ = ["VARIANTS", "Variant", "Unavailable", "Setup"]

#: ``run(unit) -> result`` and ``count(result) -> records``.
Setup = tuple[Callable[[bytes], Any], Callable[[Any], int]]

#: Chunk size fed to the incremental decoder (the Azure Storage SDK's default download chunk).
CHUNK_BYTES = 4 * 1024 * 1024


class Unavailable(Exception):
    """The variant cannot run here; the message says why, ``status`` how to report it.

    ``status`` is ``"skipped"`` (an optional dependency is not installed),
    ``"not available"`` (what it measures does not exist in this m365parse), or
    ``"n/a"`` (it does not read this shape).
    """

    def __init__(self, reason: str, status: str = "not available") -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Variant:
    name: str
    label: str
    what: str
    setup: Callable[[str, dict[str, Any]], Setup]
    requires: str = ""


def _unknown_shape(shape: str) -> Unavailable:
    return Unavailable(f"does not read the {shape!r} shape", "n/a")


# --- m365parse -----------------------------------------------------------------------


def _count_batch(batch: m365parse.Batch) -> int:
    if batch.errors:
        raise RuntimeError(f"m365parse reported {len(batch.errors)} errors: {batch.errors[0]}")
    return len(batch.records)


def _decode(shape: str, options: dict[str, Any]) -> Setup:
    return m365parse.decode, _count_batch


def _listed(registry: Any, ruleset: str) -> bool | None:
    """Whether ``registry`` lists ``ruleset``; None when the registry's API is not recognised."""
    if isinstance(registry, Mapping):
        return ruleset in registry
    for attr in ("names", "list", "available", "rulesets", "rule_sets", "keys"):
        method = getattr(registry, attr, None)
        if callable(method):
            try:
                names = method()
            except TypeError:
                continue
            return any(ruleset in (n, getattr(n, "name", None)) for n in names)
    try:
        return ruleset in registry
    except TypeError:
        return None


def _api(name: str, ruleset: str) -> Any:
    """``m365parse.<name>``, when it exists and ``ruleset`` is registered; else :class:`Unavailable`."""
    function = getattr(m365parse, name, None)
    if function is None:
        raise Unavailable(f"m365parse.{name} does not exist yet")
    registry = getattr(m365parse, "registry", None)
    if registry is not None and _listed(registry, ruleset) is False:
        raise Unavailable(f"rule set {ruleset!r} is not in m365parse.registry")
    return function


def _normalize(ruleset: str) -> Callable[[str, dict[str, Any]], Setup]:
    def setup(shape: str, options: dict[str, Any]) -> Setup:
        normalize = _api("normalize", ruleset)
        sample = options.get("sample")
        if sample is not None:  # one real call, so that a rule set that fails shows here
            try:
                normalize(m365parse.decode(sample).records[0], ruleset)
            except Exception as exc:
                raise Unavailable(f"normalize(record, {ruleset!r}) raised {exc!r}") from None
        batch_fn = getattr(m365parse, "normalize_batch", None)
        decode = m365parse.decode
        if batch_fn is not None:

            def run(unit: bytes) -> Any:
                batch = decode(unit)
                out = batch_fn(batch, ruleset)
                if not isinstance(out, (list, tuple)):
                    out = list(out)  # a lazy result would measure nothing
                return batch, out

        else:

            def run(unit: bytes) -> Any:
                batch = decode(unit)
                return batch, [normalize(r, ruleset) for r in batch.records]

        def count(result: Any) -> int:
            batch, out = result
            _count_batch(batch)
            return len(out)

        return run, count

    return setup


def _normalized(ruleset: str) -> Callable[[str, dict[str, Any]], Setup]:
    """``decode_normalized(unit, ruleset)``: the records decoded for the rule set (the columns it reads)."""

    def setup(shape: str, options: dict[str, Any]) -> Setup:
        decode_normalized = _api("decode_normalized", ruleset)

        def run(unit: bytes) -> Any:
            return decode_normalized(unit, ruleset)

        def count(result: Any) -> int:
            if result.errors:
                raise RuntimeError(f"m365parse reported {len(result.errors)} errors: {result.errors[0]}")
            return len(result.events)

        return run, count

    return setup


def _incremental(shape: str, options: dict[str, Any]) -> Setup:
    if shape != "lines":
        raise Unavailable("reads JSON lines only", "n/a")
    chunk = int(options.get("chunk_bytes", CHUNK_BYTES))
    decoder_type = m365parse.JsonLinesDecoder

    def run(unit: bytes) -> Any:
        decoder = decoder_type()
        n = errors = 0
        for start in range(0, len(unit), chunk):
            batch = decoder.feed(unit[start : start + chunk])
            n += len(batch.records)
            errors += len(batch.errors)
        batch = decoder.close()
        return n + len(batch.records), errors + len(batch.errors)

    def count(result: Any) -> int:
        n, errors = result
        if errors:
            raise RuntimeError(f"JsonLinesDecoder reported {errors} errors")
        return int(n)

    return run, count


# --- the ceiling: one msgspec decode into m365parse's own structs, nothing else ----


#: The tagged union (on ``category``) of every table's record struct.
StreamRecord = Union[tuple(RECORD_TYPES.values())]  # noqa: UP007
Body = msgspec.defstruct("Body", [("records", list[StreamRecord])])  # type: ignore[valid-type]


def _ceiling(shape: str, options: dict[str, Any]) -> Setup:
    if shape == "body":
        body = msgspec.json.Decoder(Body, strict=False)
        return body.decode, lambda result: len(result.records)
    if shape == "lines":
        one = msgspec.json.Decoder(StreamRecord, strict=False)
        return one.decode_lines, len
    if shape == "siem":
        return msgspec.json.Decoder(list[SiemAlert], strict=False).decode, len
    if shape in api_shapes.SHAPES:
        return api_shapes.ceiling(shape)
    raise _unknown_shape(shape)


def _ceiling_collector_off(shape: str, options: dict[str, Any]) -> Setup:
    """The ceiling with Python's cyclic collector off while it decodes, as ``decode()`` runs
    (msgspec leaves it on): what the collector's share of the ceiling is."""
    decode, count = _ceiling(shape, options)

    def run(unit: bytes) -> Any:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return decode(unit)
        finally:
            if enabled:
                gc.enable()

    return run, count


# --- what a user would write instead ------------------------------------------------


def _mapping(loads: Callable[[bytes], Any]) -> Callable[[str], Setup]:
    def setup(shape: str) -> Setup:
        if shape == "body":
            return lambda unit: [map_record(r) for r in loads(unit)["records"]], len
        if shape == "lines":
            return lambda unit: [map_record(loads(line)) for line in unit.splitlines()], len
        if shape == "siem":
            return lambda unit: [map_alert(a) for a in loads(unit)], len
        raise _unknown_shape(shape)

    return setup


def _json_mapping(shape: str, options: dict[str, Any]) -> Setup:
    return _mapping(json.loads)(shape)


def _orjson_mapping(shape: str, options: dict[str, Any]) -> Setup:
    try:
        import orjson
    except ImportError:
        raise Unavailable("orjson is not installed (pip install -e '.[bench]')", "skipped") from None
    return _mapping(orjson.loads)(shape)


def _pydantic(shape: str, options: dict[str, Any]) -> Setup:
    try:
        import pydantic  # noqa: F401
    except ImportError:
        raise Unavailable("pydantic is not installed (pip install -e '.[bench]')", "skipped") from None
    models = pydantic_models()
    if shape == "body":
        return models["body"].validate_json, lambda result: len(result.records)
    if shape == "lines":
        one = models["record"].validate_json
        return lambda unit: [one(line) for line in unit.splitlines()], len
    if shape == "siem":
        return models["alerts"].validate_json, len
    raise _unknown_shape(shape)


def _untyped(shape: str, options: dict[str, Any]) -> Setup:
    if shape == "lines":
        return msgspec.json.Decoder().decode_lines, len
    if shape == "body":
        return msgspec.json.decode, lambda result: len(result["records"])
    if shape == "siem":
        return msgspec.json.decode, len
    raise _unknown_shape(shape)


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("decode", "m365parse.decode", "m365parse.decode(unit): typed records", _decode),
        Variant(
            "decode+jsa",
            "decode + normalize jsa",
            "m365parse.normalize_batch(decode(unit), 'jsa') (or normalize per record)",
            _normalize("jsa"),
        ),
        Variant(
            "decode+ecs",
            "decode + normalize ecs",
            "m365parse.normalize_batch(decode(unit), 'ecs') (or normalize per record)",
            _normalize("ecs"),
        ),
        Variant(
            "decode+ocsf",
            "decode + normalize ocsf",
            "m365parse.normalize_batch(decode(unit), 'ocsf') (or normalize per record)",
            _normalize("ocsf"),
        ),
        Variant(
            "normalized+jsa",
            "decode_normalized jsa",
            "m365parse.decode_normalized(unit, 'jsa'): decodes the columns the rule set reads",
            _normalized("jsa"),
        ),
        Variant(
            "normalized+ecs",
            "decode_normalized ecs",
            "m365parse.decode_normalized(unit, 'ecs')",
            _normalized("ecs"),
        ),
        Variant(
            "normalized+ocsf",
            "decode_normalized ocsf",
            "m365parse.decode_normalized(unit, 'ocsf')",
            _normalized("ocsf"),
        ),
        Variant(
            "incremental",
            "JsonLinesDecoder",
            f"m365parse.JsonLinesDecoder fed the whole input in {CHUNK_BYTES // 2**20} MiB chunks",
            _incremental,
        ),
        Variant(
            "ceiling",
            "msgspec union (ceiling)",
            "msgspec.json.Decoder(Body, strict=False) over m365parse's own record structs, nothing else",
            _ceiling,
        ),
        Variant(
            "ceiling-gc-off",
            "msgspec union, collector off",
            "the ceiling with the cyclic garbage collector off while it decodes (decode() runs so)",
            _ceiling_collector_off,
        ),
        Variant("json", "json.loads + mapping", "json.loads, then ~15 fields picked into a dict", _json_mapping),
        Variant(
            "orjson",
            "orjson.loads + mapping",
            "orjson.loads, then the same mapping",
            _orjson_mapping,
            requires="orjson",
        ),
        Variant(
            "pydantic",
            "pydantic v2 models",
            "pydantic v2 models of the same tables, discriminated union on category, lax",
            _pydantic,
            requires="pydantic",
        ),
        Variant("untyped", "msgspec untyped", "msgspec.json.decode(unit) to dicts and lists", _untyped),
    )
}
