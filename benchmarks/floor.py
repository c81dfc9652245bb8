"""The least time any Python code takes to build the events a rule set gives.

``python -m benchmarks.floor``: for each input shape of the suite and each rule
set, the time of ``decode()`` alone, of ``decode_normalized()`` (what the
suite's ``normalized+<rule set>`` variant times), and the *floor*: the time to
build the very same events when nothing has to be found.  Each event of the
decoded units is rebuilt by a function made for it alone, ``return {...}``, one
literal of its dicts and lists, every leaf value (text, number) bound as a
default argument, hence read as a local, the cheapest read there is, and each
timestamp a new ``datetime`` made from its pickled state (an event's own object,
as the dicts and lists are; the rule sets make an ``ExactDatetime`` so, which
costs more); and again by
copying each of its dicts and lists from a template of itself (cheaper where
most of an event is constant), its timestamps made anew.  The floor is the cheaper of the
two.  No column is read, no empty value tested, no table looked up.  Whatever code
makes those events has to decode the columns the rule set reads (``decode read``:
``decode()`` with the rule set's projection, as ``decode_normalized()`` decodes)
(or every column, when that is cheaper) and build those dicts and lists at least,
so ``(min(decode read, decode) + floor) / decode`` is a lower bound of
``decode_normalized / decode``.
No rule set can beat it without giving other events: fewer keys, or sub-dicts
shared between events, which a caller who changes one event would then change
in all of them.

The functions are checked to give events equal to the rule set's (outside the
timer).  Each measure runs in a process of its own, the processes interleaved,
``--rounds`` of each (3 passes in each process), the cyclic garbage collector
off as ``decode()`` and ``decode_normalized()`` run; the best counts.
"""

from __future__ import annotations

import argparse
import functools
import gc
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from .data import encode_units

SHAPES = ("body", "lines", "siem", "graph", "hunting", "hunting-table")
#: What each event has its own of, made anew by the floor's functions too.
_OWN = (dict, list, datetime)
RULE_SETS = ("jsa", "ecs", "ocsf")


def _new_datetime(value: datetime, leaves: dict[str, Any]) -> str:
    """Source of a new datetime equal to ``value``: a timestamp of an event is an object of its own,
    made here the cheapest way Python makes one, from its pickled state (as the rule sets make
    their ``ExactDatetime``)."""
    leaves.setdefault("_D", datetime)
    name = f"s{len(leaves)}"
    leaves[name] = value.__reduce__()[1]  # (state bytes, tzinfo)
    return f"_D(*{name})"


def literal(value: Any, leaves: dict[str, Any]) -> str:
    """Source of an expression that builds ``value``; its leaves go in ``leaves`` by the names it uses."""
    if isinstance(value, datetime):
        return _new_datetime(value, leaves)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k, leaves)}: {literal(v, leaves)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(literal(item, leaves) for item in value) + "]"
    name = f"v{len(leaves)}"
    leaves[name] = value
    return name


def builder(event: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    """A function that builds a new ``event`` with nothing to find: its leaves are its locals."""
    leaves: dict[str, Any] = {}
    return _function(leaves, [], literal(event, leaves), event)


def _function(
    names: dict[str, Any], lines: list[str], result: str, event: dict[str, Any]
) -> Callable[[], dict[str, Any]]:
    """``def build(<names as defaults>): <lines>; return <result>``, checked to build ``event``."""
    params = ", ".join(f"{name}={name}" for name in names)
    source = f"def build({params}):\n" + "".join(f"{line}\n" for line in lines) + f"    return {result}\n"
    namespace = dict(names)
    exec(compile(source, "<floor>", "exec"), namespace)  # source made of names this module made
    build: Callable[[], dict[str, Any]] = namespace["build"]
    if build() != event:
        raise AssertionError("the floor's function builds another event")
    return build


def copier(event: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    """A function that builds a new ``event`` by copying each of its dicts and lists from a template
    (``dict.copy`` copies a dict in C, without hashing its keys again), its nested ones set in the
    copies: the other cheap way, cheaper than a literal where most of an event is constant."""
    names: dict[str, Any] = {}
    lines: list[str] = []

    def emit(value: Any) -> str:
        name = f"t{len(names)}"
        names[name] = value
        if isinstance(value, dict):
            copy = f"c{name}"
            lines.append(f"    {copy} = {name}.copy()")
            for key, item in value.items():
                if isinstance(item, _OWN):  # (an empty one too: each event has its own)
                    inner = emit(item)
                    key_name = f"k{len(names)}"
                    names[key_name] = key
                    lines.append(f"    {copy}[{key_name}] = {inner}")
            return copy
        if isinstance(value, list) and any(isinstance(item, _OWN) for item in value):
            return "[" + ", ".join(emit(item) for item in value) + "]"
        if isinstance(value, list):
            lines.append(f"    c{name} = {name}.copy()")
            return f"c{name}"
        if isinstance(value, datetime):
            return _new_datetime(value, names)
        return name

    return _function(names, lines, emit(event), event)


def _projected(rule_set: str, calls: list[Callable[[], object]]) -> Callable[[], None]:
    """``calls`` (decodes) with the projection of ``rule_set`` current: the decode that
    ``decode_normalized()`` makes, which reads only the columns the rule set reads."""
    from m365parse._project import CURRENT
    from m365parse.mappings.registry import registry

    projection = registry.get(rule_set).projection()
    inner = _calls(calls)

    def run() -> None:
        token = CURRENT.set(projection)
        try:
            inner()
        finally:
            CURRENT.reset(token)

    return run


def _calls(calls: list[Callable[[], object]]) -> Callable[[], None]:
    """A run that makes each of ``calls`` in turn, dropping what each gives (as a pipeline does)."""

    def run() -> None:
        for call in calls:
            call()

    return run


def child(kind: str, shape: str, rule_set: str, records: int, batch_size: int, passes: int) -> float:
    """µs per record of one of ``decode`` (``decode()``), ``projected`` (``decode()`` with the
    rule set's projection), ``normalized`` (``decode_normalized()``), ``floor`` (each event rebuilt
    by :func:`builder`) or ``copies`` (by :func:`copier`), the best of ``passes``: what a child
    process measures."""
    import m365parse
    from m365parse.mappings.registry import decode_normalized

    units = list(encode_units(shape, records, batch_size))
    count = sum(len(m365parse.decode(unit).records) for unit in units)
    if kind == "decode":
        run = _calls([functools.partial(m365parse.decode, unit) for unit in units])
    elif kind == "projected":
        run = _projected(rule_set, [functools.partial(m365parse.decode, unit) for unit in units])
    elif kind == "normalized":
        run = _calls([functools.partial(decode_normalized, unit, rule_set) for unit in units])
    else:
        make = builder if kind == "floor" else copier
        builds = [make(event) for unit in units for event in decode_normalized(unit, rule_set).events]
        if len(builds) != count:
            raise AssertionError(f"{rule_set}: {len(builds)} events of {count} records")
        run = _calls(list(builds))
    best = float("inf")
    for _ in range(passes):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - start)
        finally:
            gc.enable()
    return best / count * 1e6


def measure(shape: str, rule_sets: Sequence[str], records: int, batch_size: int, rounds: int) -> dict[str, Any]:
    """µs per record of ``decode()``, and per rule set of the floor and of ``decode_normalized()``.

    Each in its own process (thousands of functions made for the floor would slow
    what runs beside them), the processes of a shape interleaved, ``rounds`` of
    each; the best counts.
    """
    kinds = ("projected", "floor", "copies", "normalized")
    jobs = [("decode", "")] + [(kind, name) for name in rule_sets for kind in kinds]
    found: dict[str, list[float]] = {}
    for _ in range(rounds):
        for kind, name in jobs:
            cmd = [sys.executable, "-m", "benchmarks.floor", "--child", kind, shape, name or "-", str(records)]
            cmd.append(str(batch_size))
            printed = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            found.setdefault(f"{kind} {name}".strip(), []).append(float(printed))
    out: dict[str, Any] = {"shape": shape, **{key: min(values) for key, values in found.items()}}
    for name in rule_sets:  # the floor: the cheaper of the two ways
        out[f"floor {name}"] = min(out[f"floor {name}"], out.pop(f"copies {name}"))
    return out


def report(results: list[dict[str, Any]], rule_sets: Sequence[str]) -> str:
    head = "| shape | decode (µs/record) |" + "".join(
        f" {name}: decode read, floor, bound, now |" for name in rule_sets
    )
    lines = [head, "|---|---|" + "---|" * len(rule_sets)]
    for res in results:
        dec = res["decode"]
        cells = [f"{res['shape']}", f"{dec:.2f}"]
        for name in rule_sets:
            read, floor, now = res[f"projected {name}"], res[f"floor {name}"], res[f"normalized {name}"]
            bound = (min(read, dec) + floor) / dec  # (decode_normalized could decode every column)
            cells.append(f"{read:.2f}, {floor:.2f} µs, {bound:.2f}x, {now / dec:.2f}x")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.floor", description=__doc__.split("\n\n")[0])
    p.add_argument("--records", type=int, default=3000, help="records per shape (default 3000)")
    p.add_argument("--batch-size", type=int, default=300, help="records per unit (default 300)")
    p.add_argument("--rounds", type=int, default=5, help="rounds, the best counts (default 5)")
    p.add_argument("--shapes", default=",".join(SHAPES), help=f"comma-separated (default {','.join(SHAPES)})")
    p.add_argument("--rule-sets", default=",".join(RULE_SETS), help=f"comma-separated (default {','.join(RULE_SETS)})")
    p.add_argument(
        "--child", nargs=5, metavar=("KIND", "SHAPE", "RULE_SET", "RECORDS", "BATCH"), help=argparse.SUPPRESS
    )
    args = p.parse_args(argv)
    if args.child:
        kind, shape, rule_set, records, batch = args.child
        print(child(kind, shape, rule_set, int(records), int(batch), passes=3))
        return 0
    rule_sets = [name for name in args.rule_sets.split(",") if name]
    results = []
    for shape in (name for name in args.shapes.split(",") if name):
        results.append(measure(shape, rule_sets, args.records, args.batch_size, args.rounds))
        print(f"{shape}: done", file=sys.stderr)
    print("decode read: decode() of only the columns the rule set reads (as decode_normalized() decodes);")
    print("bound: (the cheaper decode + floor) / decode, a lower bound of now: decode_normalized / decode.")
    print(report(results, rule_sets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
