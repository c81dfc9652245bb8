"""Field-mapping rules, rule sets, their registry, and the compiler.

A rule set maps decoded records to flat (or, with ``nested=True``, nested) dicts.
Its rules are data: for a table, or for every table (``"*"``), a target field and
how to obtain the value, written as one of these *specs*:

=====================================  ==============================================
spec                                   value
=====================================  ==============================================
``"ActionType"``                       the column (shorthand of ``{"column": ...}``)
``{"column": "ActionType"}``           the column of ``properties``
``{"first": ["AccountUpn", spec]}``   the first of several specs (a string is a
                                       column) whose value is not empty
``{"envelope": "category"}``           an envelope value: ``time``, ``tenantId``,
                                       ``operationName``, ``category``, ``table``,
                                       ``_TimeReceivedBySvc``, ``Tenant``
``{"const": "Microsoft"}``             a constant
``{"collect": [spec, ...]}``           every non-empty value of several specs, as a
                                       list without repeats (lists are flattened)
``{"if": "inbound", "then": spec,      ``then`` when the named condition holds for
"else": spec}``                        the record, else ``else`` (optional)
``{"call": fn}`` or ``fn``             ``fn(record)``: the escape hatch
=====================================  ==============================================

Any spec may add ``"transform": name`` or a list of names, applied in order, from
the documented set in :mod:`m365parse.mappings.transforms`.  A datetime column
gives an :class:`m365parse.ExactDatetime` (exact to the 100 ns).  A field whose
value is ``None``, ``""`` or an empty list is left out of the result.

Any spec may also add ``"map": {value: result, ...}`` (applied after the
transforms) and ``"default": result``: the value is looked up in the map, and a
value that is not a key of it (``None`` included) gives ``default``, or ``None``
when there is none.  ``{"column": "ActionType", "map": {"FileCreated":
["creation"]}, "default": ["info"]}``.  A list that a ``const`` or a ``map``
gives is a new list for every record.

With ``nested=True`` a dotted target (``"host.os.name"``) is a path in nested
dicts; a target may not also be the start of another one (``"host"`` and
``"host.name"``).  The compiled function builds the nested dicts directly and
leaves out the ones that stay empty.

Rule sets are validated when they are registered (unknown table, column, transform
or condition, duplicate name: :class:`MappingError`, naming the rule) and
compiled once per table, on first use, into a Python function.  The generated code
holds no text of the rule data: names and constants are passed in as variables,
column names are checked against the generated table structs first.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Union

import msgspec

from .._collector import collector_off
from .._project import CURRENT, Projection
from .._values import ExactDatetime, agrees, exact_datetime, exact_iso, exact_of_column, parse_ns
from ..errors import InvalidRecord, MappingError
from ..record import Batch, Record, UnknownRecord
from ..tables import DOCUMENTED_TYPES, TABLES

if TYPE_CHECKING:
    from importlib import metadata

__all__ = [
    "RuleSet",
    "Registry",
    "registry",
    "normalize",
    "normalize_batch",
    "decode_normalized",
    "NormalizedBatch",
    "describe",
    "ENTRY_POINT_GROUP",
]

#: The entry-point group through which packages ship rule sets.
ENTRY_POINT_GROUP = "m365parse.mappings"

ENVELOPE = ("time", "tenantId", "operationName", "category", "table", "_TimeReceivedBySvc", "Tenant")
ALL = "*"
_SPEC_KINDS = ("column", "first", "envelope", "const", "collect", "if", "call")


@functools.cache
def _known_columns() -> frozenset[str]:
    """Every column of every documented table (what a ``"*"`` rule may name)."""
    return frozenset(col for cols in DOCUMENTED_TYPES.values() for col in cols)


def transform(name: str) -> Callable[[Any], Any]:
    """The named transform (:mod:`.transforms`, imported on the first rule set built)."""
    from .transforms import transform as named

    return named(name)


def _conditions() -> Mapping[str, Any]:
    from .transforms import CONDITIONS

    return CONDITIONS

Spec = Any  # str | Mapping[str, Any] | Callable[[Record], Any]
Normalizer = Callable[[Record], dict[str, Any]]


TableRules = Mapping[str, Spec]
#: A table's rules, or a function that returns them (built and checked on first use).
TableRulesSource = Union[TableRules, Callable[[], TableRules]]  # noqa: UP007


class RuleSet:
    """A named set of field-mapping rules.

    ``rules`` maps a table name of :data:`m365parse.TABLES` (or ``"*"`` for every
    table, unknown ones included) to ``{target field: spec}``.  A table's own rule
    for a field replaces the ``"*"`` rule for it; a spec of ``None`` removes it.
    With ``nested=True`` dotted target names (``"host.name"``) build nested dicts.

    A table's rules may also be given as a function that returns them: they are
    then built and checked the first time the table's rules are needed (a
    normalized record of that table, :meth:`rules_for`, :attr:`rules`), so that a
    rule set of many tables costs nothing at import for the tables never met.
    """

    def __init__(
        self,
        name: str,
        rules: Mapping[str, TableRulesSource],
        *,
        description: str = "",
        nested: bool = False,
    ) -> None:
        self.name = name
        self.description = description
        self.nested = nested
        self._rules: dict[str, dict[str, Spec]] = {}
        self._pending: dict[str, Callable[[], TableRules]] = {}
        for table, fields in rules.items():
            if callable(fields):
                self._pending[table] = fields
            else:
                self._rules[table] = dict(fields)
        self._compiled: dict[type[Record], Normalizer] = {}
        self._projection: Projection | None = None
        self._validate(self._rules)

    @property
    def rules(self) -> dict[str, dict[str, Spec]]:
        """Table (or ``"*"``) -> ``{target field: spec}``, every table's rules built."""
        for table in list(self._pending):
            self._table_rules(table)
        return self._rules

    def _table_rules(self, table: str) -> dict[str, Spec] | None:
        """The table's own rules (None when it has none), built and checked on first use."""
        fields = self._rules.get(table)
        if fields is None and table in self._pending:
            source = self._pending.pop(table)
            fields = self._rules[table] = dict(source())
            try:
                self._validate({table: fields})
            except MappingError:
                del self._rules[table]
                self._pending[table] = source
                raise
        return fields

    def projection(self) -> Projection:
        """What this set reads of each table's records: the columns its rules name.

        A table whose rules call a function on the whole record (``{"call": fn}``,
        or a condition whose columns are not declared in
        :data:`m365parse.mappings.transforms.CONDITION_COLUMNS`) reads every column.
        :func:`decode_normalized` decodes only these columns.
        """
        if self._projection is None:
            self._projection = Projection(self.name, self._columns_read)
        return self._projection

    def _columns_read(self, table: str) -> frozenset[str] | None:
        if table not in TABLES:
            # an API kind (GraphAlert, HuntingRow): the JSON paths of the built-in rules of its name
            from .api_projection import paths_read

            return paths_read(self.name, table)
        fields = frozenset(TABLES[table].__struct_fields__)
        columns: set[str] = set()
        for spec in self.rules_for(table).values():
            read = _columns_read(spec)
            if read is None:
                return None
            columns |= read
        return frozenset(columns & fields)

    def tables(self) -> list[str]:
        """The tables (and ``"*"``) this set has rules for, without building any."""
        return [*self._rules, *self._pending]

    def __repr__(self) -> str:
        return f"RuleSet({self.name!r}, {len(self._rules) + len(self._pending)} tables)"

    def derive(
        self,
        name: str,
        overrides: Mapping[str, Mapping[str, Spec]],
        *,
        description: str | None = None,
    ) -> RuleSet:
        """A new rule set: this one with single fields replaced, added or (``None``) removed."""
        rules: dict[str, TableRulesSource] = {table: dict(fields) for table, fields in self._rules.items()}
        for table in self._pending:
            rules[table] = functools.partial(_merged, self, table, overrides.get(table, {}))
        for table, fields in overrides.items():
            if table not in self._pending:
                rules[table] = {**rules.get(table, {}), **fields}  # type: ignore[dict-item]
        # This set's rules were checked when it was made: only the overrides are checked again
        # (the tables built on first use are checked then).
        out = RuleSet.__new__(RuleSet)
        out.name = name
        out.description = self.description if description is None else description
        out.nested = self.nested
        out._rules = {t: f for t, f in rules.items() if isinstance(f, dict)}
        out._pending = {t: f for t, f in rules.items() if not isinstance(f, dict)}  # type: ignore[misc]
        out._compiled = {}
        out._projection = None
        out._validate({table: dict(fields) for table, fields in overrides.items() if table not in self._pending})
        return out

    # --- validation ----------------------------------------------------------------

    def validate(self) -> None:
        """Check every rule; raise :class:`MappingError` naming the first bad one.

        Rules given as functions are built (and so checked) too.
        """
        self._validate(self.rules)

    def _validate(self, rules: Mapping[str, Mapping[str, Spec]]) -> None:
        """Check ``rules`` (all of this set's, or the ones a derived set changed)."""
        if not isinstance(self.name, str) or not self.name:
            raise MappingError("a rule set needs a non-empty name", rule_set=str(self.name))
        for table, fields in rules.items():
            if table != ALL and table not in TABLES:
                raise MappingError(f"unknown table {table!r}", rule_set=self.name, table=table)
            for target, spec in fields.items():
                if not isinstance(target, str) or not target:
                    raise MappingError("target fields must be non-empty strings", self.name, table, str(target))
                if spec is not None:
                    self._check(spec, table, target)
        if self.nested:
            # A "*" rule is part of every table's rules: then every built table's paths are
            # checked; the others are checked when they are built.
            for table in list(self._rules) if ALL in rules else rules:
                _check_paths(self.name, table, self.rules_for(table))

    def _check(self, spec: Spec, table: str, target: str) -> None:
        def fail(message: str) -> MappingError:
            return MappingError(message, self.name, table, target)

        if isinstance(spec, str):
            spec = {"column": spec}
        elif callable(spec) and not isinstance(spec, Mapping):
            return
        if not isinstance(spec, Mapping):
            raise fail(f"a rule must be a column name, a dict or a callable, not {type(spec).__name__}")
        kinds = [k for k in _SPEC_KINDS if k in spec]
        allowed = {*_SPEC_KINDS, "transform", "then", "else", "map", "default"}
        unknown_keys = [k for k in spec if k not in allowed]
        if unknown_keys:
            raise fail(f"unknown key {unknown_keys[0]!r} in rule (expected one of {', '.join(_SPEC_KINDS)})")
        if len(kinds) != 1:
            raise fail(f"a rule needs exactly one of {', '.join(_SPEC_KINDS)}, got {kinds or 'none'}")
        kind = kinds[0]
        arg = spec[kind]
        if kind == "column":
            self._check_column(arg, table, fail)
        elif kind == "first":
            if not isinstance(arg, (list, tuple)) or not arg:
                raise fail("'first' takes a non-empty list of columns or rules")
            for item in arg:
                self._check(item, table, target)
        elif kind == "envelope":
            if arg not in ENVELOPE:
                raise fail(f"unknown envelope key {arg!r} (expected one of {', '.join(ENVELOPE)})")
        elif kind == "collect":
            if not isinstance(arg, (list, tuple)) or not arg:
                raise fail("'collect' takes a non-empty list of rules")
            for item in arg:
                self._check(item, table, target)
        elif kind == "if":
            if arg not in _conditions():
                raise fail(f"unknown condition {arg!r} (known: {', '.join(sorted(_conditions()))})")
            if "then" not in spec:
                raise fail("'if' needs 'then'")
            self._check(spec["then"], table, target)
            if spec.get("else") is not None:
                self._check(spec["else"], table, target)
        elif kind == "call" and not callable(arg):
            raise fail("'call' takes a callable")
        if "map" in spec and not isinstance(spec["map"], Mapping):
            raise fail("'map' takes a dict of values to results")
        if "default" in spec and "map" not in spec:
            raise fail("'default' needs 'map'")
        names = spec.get("transform", ())
        for name in [names] if isinstance(names, str) else names:
            if not isinstance(name, str):
                raise fail(f"transform names are strings, not {type(name).__name__}")
            try:
                transform(name)
            except KeyError:
                raise fail(f"unknown transform {name!r}") from None

    @staticmethod
    def _check_column(column: Any, table: str, fail: Callable[[str], MappingError]) -> None:
        if not isinstance(column, str):
            raise fail(f"column names are strings, not {type(column).__name__}")
        known = DOCUMENTED_TYPES[table] if table != ALL else _known_columns()
        if column not in known:
            where = f"table {table}" if table != ALL else "any table"
            raise fail(f"unknown column {column!r} of {where}")

    # --- compilation ---------------------------------------------------------------

    def rules_for(self, table: str) -> dict[str, Spec]:
        """The effective rules of ``table`` (``"*"`` rules, then the table's own)."""
        merged = dict(self._rules.get(ALL, {}))
        merged.update(self._table_rules(table) or {})
        return {target: spec for target, spec in merged.items() if spec is not None}

    def normalizer(self, record_type: type[Record], table: str) -> Normalizer:
        """The compiled function of ``table`` (built once, then cached)."""
        fn = self._compiled.get(record_type)
        if fn is None and _is_api(record_type):
            # Alerts, incidents and hunting rows of the polled APIs: rules over JSON paths (api_rules.py).
            from .api_rules import normalizer_for

            fn = normalizer_for(self.name, table, self.nested)
            if fn is None:
                raise MappingError(f"rule set {self.name!r} has no rules for {table} records", self.name, table)
            self._compiled[record_type] = fn
        if fn is None:
            known = record_type is not UnknownRecord and table in TABLES
            fn = _Compiler(self, table if known else None, record_type).build()
            self._compiled[record_type] = fn
        return fn


def _is_api(record_type: type[Record]) -> bool:
    from ..api.records import ApiRecord

    return issubclass(record_type, ApiRecord)


class _Compiler:
    """Generates the source of one (rule set, table) function and compiles it.

    Only identifiers it makes itself (``_k3``, ``_t7``) and column names that are
    attributes of the generated table struct appear in the source; every name and
    constant from the rule data reaches the code as a variable of its namespace.
    """

    def __init__(self, rule_set: RuleSet, table: str | None, record_type: type[Record] | None = None) -> None:
        self.rule_set = rule_set
        self.table = table  # None: records of unknown tables (properties is a dict)
        self.record_type = record_type
        self.struct_fields = frozenset(TABLES[table].__struct_fields__) if table else frozenset()
        self.kinds = DOCUMENTED_TYPES.get(table, {}) if table else {}
        self.ns: dict[str, Any] = {
            "_exact": exact_datetime,  # bound directly: one call per field, not two
            "_exact_text": _exact_text,
            "_collect": _add_collected,
            "_EMPTY": (str, list),
            "_iso_of": exact_iso,  # the ``iso`` text of a datetime column, without its ExactDatetime
            "_agrees": agrees,
            "_MISS": _MISS,
            "_NO_TEXTS": (None, None),
            "_of_column": exact_of_column,  # ExactDatetime.of_column without the bound method
            "_datetime": datetime,
            "_json_copy": msgspec.json.decode,
        }
        self.lines: list[str] = []
        self.counter = 0
        self.conds: dict[str, str] = {}
        self.memo: dict[tuple[str, ...], str] = {}
        self.pre: list[str] = []  # shared column steps of the field being emitted, run before it
        self.hoist: set[tuple[str, ...]] = set()
        self.uses_texts = False  # the generated code reads the texts of datetime columns

    def name(self, value: Any, prefix: str = "_c") -> str:
        self.counter += 1
        ident = f"{prefix}{self.counter}"
        self.ns[ident] = value
        return ident

    def build(self) -> Normalizer:
        table = self.table if self.table is not None else ALL
        rules = self.rule_set.rules_for(table)
        if self.table is None:
            # unknown tables: only the "*" rules, columns read from the dict
            rules = {t: s for t, s in self.rule_set._rules.get(ALL, {}).items() if s is not None}
        body = ["def normalize(record):", "    p = record.properties", "    out = {}"]
        self.uses_texts = False
        for cond in sorted({c for spec in rules.values() for c in conditions_of(spec) if self.available(spec)}):
            # each condition once per record, however many fields use it
            body.append(f"    {self.cond_var(cond)} = {self.name(_conditions()[cond], '_p')}(record)")
        # nested=True: one dict per path prefix ("host", "host.os"), filled directly
        groups: dict[tuple[str, ...], str] = {(): "out"}
        targets = [t for t, spec in rules.items() if self.available(spec)]
        self.hoist = _hoisted(rules[t] for t in targets)
        for target in targets if self.rule_set.nested else ():
            path = tuple(target.split("."))[:-1]
            for i in range(1, len(path) + 1):
                if path[:i] not in groups:
                    groups[path[:i]] = f"g{len(groups)}"
                    body.append(f"    {groups[path[:i]]} = {{}}")
        for target in targets:
            spec = rules[target]
            *parts, leaf = target.split(".") if self.rule_set.nested else [target]
            key = self.name(leaf, "_k")
            group = groups[tuple(parts)]
            if isinstance(spec, Mapping) and spec.keys() == {"envelope"} and self.of_type(spec["envelope"]):
                spec = {"const": getattr(Record, spec["envelope"]).fget(self.record_type)}  # a value of the type
            if isinstance(spec, Mapping) and spec.keys() == {"const"}:
                const = spec["const"]  # known now: set it, or leave it out, without a test
                if not _empty(const):
                    copy = "list" if isinstance(const, list) else ""
                    body.append(f"    {group}[{key}] = {copy}({self.name(const)})")
                continue
            self.lines, self.pre = [], []
            value = self.emit(spec, "    ")
            body += self.pre
            body += self.lines
            # None, "" and [] are left out; a true value is kept at the cost of one test
            # (an empty text, the common empty value, without a call)
            body.append(
                f"    if {value} or ({value} is not None and {value}.__class__ is not str"
                f" and not isinstance({value}, _EMPTY)):"
            )
            body.append(f"        {group}[{key}] = {value}")
        # children before their parents, each in the order of its first field
        order = list(groups)
        for path in sorted(order[1:], key=lambda p: (-len(p), order.index(p))):
            body.append(f"    if {groups[path]}:")
            body.append(f"        {groups[path[:-1]]}[{self.name(path[-1], '_k')}] = {groups[path]}")
        body.append("    return out")
        if self.uses_texts:
            # the texts of the record's datetime columns as they arrived (Origin.texts), once per
            # record; _src is (origin, position), or the origin alone (see Record._source)
            body[2:2] = [
                "    src = record._src",
                "    te0, tp0 = (",
                "        src[0].texts(record, src[1]) if src.__class__ is tuple"
                " else _NO_TEXTS if src is None else src.texts(record)",
                "    )",
            ]
        source = "\n".join(body) + "\n"
        filename = f"<m365parse rules {self.rule_set.name!r} {table}>"
        code = compile(source, filename, "exec")
        exec(code, self.ns)  # noqa: S102 - source built from identifiers this class made
        fn: Normalizer = self.ns["normalize"]
        fn.__doc__ = source  # kept for debugging: help(fn) shows the generated code
        return fn

    def cond_var(self, name: str) -> str:
        ident = self.conds.get(name)
        if ident is None:
            self.counter += 1
            ident = self.conds[name] = f"cond{self.counter}"
        return ident

    def available(self, spec: Spec) -> bool:
        """False when ``spec`` can only read columns this table does not have."""
        if isinstance(spec, str):
            spec = {"column": spec}
        if not isinstance(spec, Mapping):
            return True
        if "column" in spec:
            return self.table is None or spec["column"] in self.struct_fields
        if "first" in spec:
            return any(self.available(item) for item in spec["first"])
        if "collect" in spec:
            return any(self.available(item) for item in spec["collect"])
        if "if" in spec:
            return self.available(spec["then"]) or (spec.get("else") is not None and self.available(spec["else"]))
        return True

    def var(self) -> str:
        self.counter += 1
        return f"v{self.counter}"

    def emit(self, spec: Spec, indent: str) -> str:
        """Emit statements computing ``spec``; return the variable holding the value."""
        if isinstance(spec, str):
            spec = {"column": spec}
        elif callable(spec) and not isinstance(spec, Mapping):
            spec = {"call": spec}
        names = spec.get("transform", ())
        names = [names] if isinstance(names, str) else list(names)
        if "map" in spec:
            value = self.emit({k: v for k, v in spec.items() if k not in ("map", "default")}, indent)
            return self.emit_map(spec, value, indent)
        if "column" in spec and indent == "    ":
            return self.emit_shared(spec["column"], names)
        out = self.var()
        if "column" in spec:
            done = self.shared_in_branch(spec["column"], names)
            if done is None:
                self.lines.append(f"{indent}{out} = {self.column(spec['column'])}")
            else:  # the shared top-level steps, then the branch's own ones
                self.lines.append(f"{indent}{out} = {self.emit_shared(spec['column'], names[:done])}")
                names = names[done:]
        elif "first" in spec:
            items = list(spec["first"])
            first = self.emit(items[0], indent)
            self.lines.append(f"{indent}{out} = {first}")
            for item in items[1:]:
                self.lines.append(
                    f"{indent}if not {out} and ({out} is None or {out}.__class__ is str or isinstance({out}, _EMPTY)):"
                )
                inner = self.emit(item, indent + "    ")
                self.lines.append(f"{indent}    {out} = {inner}")
        elif "envelope" in spec:
            key = spec["envelope"]
            if key in ("time", "_TimeReceivedBySvc") and names[:1] == ["iso"]:
                names = names[1:]
                self.lines.append(f"{indent}{out} = {self.exact_text(f'record.{key}', 'te0', key)}")
            elif key in ("time", "_TimeReceivedBySvc"):
                self.lines.append(f"{indent}{out} = _exact(record, {self.name(key)})")
            elif self.of_type(key):
                # category and table of a generated table's record: one value for its type, made once
                assert self.record_type is not None
                value = getattr(Record, key).fget(self.record_type)
                self.lines.append(f"{indent}{out} = {self.name(value)}")
            else:
                # an attribute of every Record (ENVELOPE: the library's names, not the rule data's)
                self.lines.append(f"{indent}{out} = record.{key}")
        elif "const" in spec:
            const = spec["const"]
            copy = "list" if isinstance(const, list) else ""  # a record's own list, never the rule's
            self.lines.append(f"{indent}{out} = {copy}({self.name(const)})")
        elif "call" in spec:
            self.lines.append(f"{indent}{out} = {self.name(spec['call'], '_f')}(record)")
        elif "collect" in spec:
            self.lines.append(f"{indent}{out} = []")
            for item in spec["collect"]:
                inner = self.emit(item, indent)
                # _collect(out, inner), with the common case (one new text) inline
                self.lines.append(f"{indent}if {inner}.__class__ is str:")
                self.lines.append(f"{indent}    if {inner} and {inner} not in {out}:")
                self.lines.append(f"{indent}        {out}.append({inner})")
                self.lines.append(f"{indent}elif {inner}.__class__ is list:")  # _collect of a list, inline
                item = self.var()
                self.lines.append(f"{indent}    for {item} in {inner}:")
                self.lines.append(f"{indent}        if {item} is not None and {item} != '' and {item} not in {out}:")
                self.lines.append(f"{indent}            {out}.append({item})")
                self.lines.append(f"{indent}elif {inner} is not None:")
                self.lines.append(f"{indent}    _collect({out}, {inner})")
            self.lines.append(f"{indent}if not {out}:")
            self.lines.append(f"{indent}    {out} = None")
        elif "if" in spec:
            self.lines.append(f"{indent}if {self.cond_var(spec['if'])}:")
            then = self.emit(spec["then"], indent + "    ")
            self.lines.append(f"{indent}    {out} = {then}")
            self.lines.append(f"{indent}else:")
            if spec.get("else") is not None:
                other = self.emit(spec["else"], indent + "    ")
                self.lines.append(f"{indent}    {out} = {other}")
            else:
                self.lines.append(f"{indent}    {out} = None")
        if names and "column" in spec and self.is_text(spec["column"]):
            # a text column's transforms (the column read in this branch only), through their memo
            step = self.var()
            self.lines += self.remembered(names, out, step, indent)
            out, names = step, []
        for tname in names:
            fn = self.name(transform(tname), "_t")
            self.lines.append(f"{indent}if {out} is not None:")
            self.lines.append(f"{indent}    {out} = {fn}({out})")
        return out

    def of_type(self, key: str) -> bool:
        """Whether envelope ``key`` is a value of the record's type: ``category`` and ``table`` of a
        known table's record type whose properties are Record's own (they read only the class's ``_table``)."""
        rtype = self.record_type
        return (
            key in ("category", "table")
            and self.table is not None
            and rtype is not None
            and getattr(rtype, "_table", None) == self.table
            and getattr(rtype, key, None) is getattr(Record, key)
        )

    def emit_map(self, spec: Mapping[str, Any], value: str, indent: str) -> str:
        """Look ``value`` up in the spec's ``map``; ``default`` when it is not a key."""
        table, default = spec["map"], spec.get("default")
        out, ref, other = self.var(), self.name(dict(table), "_m"), self.name(default, "_d")
        self.lines.append(f"{indent}try:")
        self.lines.append(f"{indent}    {out} = {ref}.get({value}, {other})")
        self.lines.append(f"{indent}except TypeError:")  # an unhashable value: a list, a dict
        self.lines.append(f"{indent}    {out} = {other}")
        if any(isinstance(v, list) for v in (*table.values(), default)):
            self.lines.append(f"{indent}if {out}.__class__ is list:")
            self.lines.append(f"{indent}    {out} = {out}.copy()")
        return out

    def shared_in_branch(self, column: str, names: list[str]) -> int | None:
        """How many of the first steps of a column read inside a branch are shared top-level ones.

        The column and its first transforms are shared when the record computes
        them anyway (a top-level use, or an earlier field) or when two or more
        branches read them (``RemoteIP | ip`` in the ``then`` of one field and the
        ``else`` of two others).  None: nothing shared.  Datetime columns keep
        their own code.
        """
        if self.table is not None and self.kinds.get(column) == "datetime":
            return None
        if self.table is None and column in _datetime_columns():
            return None
        for done in range(len(names), -1, -1):
            key = (column, *names[:done])
            if key in self.hoist or key in self.memo:
                return done
        return None

    def emit_shared(self, column: str, names: list[str]) -> str:
        """A column and its transforms at the top level, each step computed once per record.

        Fields that read the same column through the same first transforms (four
        fields from one ``LoggedOnUsers`` JSON) share the variables; callers only
        read them.  The steps go to ``self.pre``: they run before the field's own
        code, at the top level, even when the field reads them inside a branch.
        """
        key: tuple[str, ...] = (column,)
        if names[:1] == ["iso"] and self.table is not None and self.kinds.get(column) == "datetime":
            # the text of a datetime column straight from its exact nanoseconds
            key += ("iso",)
            names = names[1:]
            var = self.memo.get(key)
            if var is None:
                var = self.memo[key] = self.var()
                self.pre.append(f"    {var} = {self.exact_text(f'p.{column}', 'tp0', column)}")
        var = self.memo.get(key)
        if var is None:
            var = self.memo[key] = self.var()
            self.pre.append(f"    {var} = {self.column(column)}")
        if names and self.is_text(column):
            # a text column's transforms: the whole chain through its memo, once per record
            chain = (column, *names)
            step = self.memo.get(chain)
            if step is None:
                step = self.memo[chain] = self.var()
                self.pre += self.remembered(names, var, step, "    ")
            return step
        for tname in names:
            key += (tname,)
            step = self.memo.get(key)
            if step is None:
                step = self.memo[key] = self.var()
                fn = self.name(transform(tname), "_t")
                self.pre.append(f"    {step} = None if {var} is None else {fn}({var})")
            var = step
        return var

    def is_text(self, column: str) -> bool:
        """Whether the column is a text column of a known table (its value a str or None)."""
        return self.table is not None and self.kinds.get(column) == "string" and column in self.struct_fields

    def remembered(self, names: list[str], value: str, out: str, indent: str) -> list[str]:
        """Lines setting ``out`` to the transforms ``names`` of ``value``, a text or None, through their memo.

        Transforms are functions of their value alone: the result of a text seen
        before (a device's address, a command line that comes again) is looked
        up; a list of texts is kept as a tuple and given as a new list, other dicts and lists
        of plain JSON as their JSON, decoded anew for each record.  ``None``
        is a key of every memo (a transform never gets None).
        """
        if all(n in _OWN_CACHE for n in names):
            # keeps what repeats itself, cheaper than a memo that misses (a list per device and record)
            steps = [f"{indent}{out} = {value}"]
            for tname in names:
                fn = self.name(transform(tname), "_t")
                steps += [f"{indent}if {out} is not None:", f"{indent}    {out} = {fn}({out})"]
            return steps
        memo, fill = _memo_of(tuple(names))
        m, f = self.name(memo, "_mm"), self.name(fill, "_mf")
        return [
            f"{indent}try:",
            f"{indent}    {out} = {m}.get({value}, _MISS)",
            f"{indent}except TypeError:",  # not a text after all (the record was changed): the transform
            f"{indent}    {out} = _MISS",
            f"{indent}if {out}.__class__ is not str and {out} is not None:",
            f"{indent}    if {out} is _MISS:",
            f"{indent}        {out} = {f}({value})",
            f"{indent}    elif {out}.__class__ is tuple:",
            f"{indent}        {out} = list({out})",
            f"{indent}    elif {out}.__class__ is bytes:",  # dicts and lists kept as their JSON (_as_json)
            f"{indent}        {out} = _json_copy({out})",
        ]

    def exact_text(self, value: str, texts: str, column: str) -> str:
        """An expression for ``exact_iso(record, column)``, ``value`` the decoded datetime.

        The text that arrived (an attribute of the record's ``texts`` view, read once
        per record) when it agrees with the value, as most do; else ``exact_iso``.
        """
        self.uses_texts = True
        ref, text = self.name(column), self.var()
        return (
            f"{text} if _agrees({text} := getattr({texts}, {ref}, None), {value})"
            f" else (None if {value} is None else _iso_of(record, {ref}))"
        )

    def column(self, column: str) -> str:
        if self.table is None:
            ref = self.name(column, "_n")
            if column in _datetime_columns():
                return f"_exact_text(p.get({ref}))"
            return f"p.get({ref})"
        if column not in self.struct_fields or not column.isidentifier():
            return "None"  # a "*" rule naming a column this table does not have
        if self.kinds.get(column) == "datetime":
            # a decoded datetime straight to its lazy ExactDatetime; anything else (None, a
            # value the caller put there) through exact_datetime, which knows what to do
            ref = self.name(column)
            fast = f"_of_column(p.{column}, record, {ref})"
            return f"{fast} if p.{column}.__class__ is _datetime else _exact(record, {ref})"
        return f"p.{column}"


def _column_uses(spec: Spec, where: str) -> Iterator[tuple[str, tuple[str, ...]]]:
    """``(where, key)`` for every column read of a rule: ``top`` (every record reads it),
    ``branch`` (the ``then`` or ``else`` of an ``if``) or ``lazy`` (a later item of ``first``);
    ``("call", ())`` for a function of the whole record (it may read any column)."""
    if isinstance(spec, str):
        spec = {"column": spec}
    if not isinstance(spec, Mapping) or "call" in spec:
        yield "call", ()
        return
    names = spec.get("transform", ())
    names = (names,) if isinstance(names, str) else tuple(names)
    if "column" in spec:
        yield where, (spec["column"], *names)
    for i, item in enumerate(spec.get("first", ())):
        yield from _column_uses(item, where if i == 0 else "lazy")
    for item in spec.get("collect", ()):
        yield from _column_uses(item, where)
    for key in ("then", "else"):
        if spec.get(key) is not None:
            yield from _column_uses(spec[key], "lazy" if where == "lazy" else "branch")


def _hoisted(specs: Iterable[Spec]) -> set[tuple[str, ...]]:
    """Column reads (with their transforms) worth computing once at the top level of a record:
    those read at the top level anyway, and those read in two or more branches."""
    top: set[tuple[str, ...]] = set()
    branches: dict[tuple[str, ...], int] = {}
    for spec in specs:
        for where, key in _column_uses(spec, "top"):
            if where == "top":
                top.add(key)
            elif where == "branch":
                branches[key] = branches.get(key, 0) + 1
    return top | {key for key, count in branches.items() if count >= 2}


def _columns_read(spec: Spec) -> set[str] | None:
    """The columns a rule reads; None when it may read any (a function of the whole record, or a
    condition whose columns are not declared)."""
    from .transforms import CONDITION_COLUMNS

    read: set[str] = set()
    for where, key in _column_uses(spec, "top"):
        if where == "call":
            return None
        read.add(key[0])
    for name in conditions_of(spec):
        columns = CONDITION_COLUMNS.get(name)
        if columns is None:
            return None
        read |= columns
    return read


def conditions_of(spec: Spec) -> Iterator[str]:
    """The names of the conditions a rule uses."""
    if isinstance(spec, Mapping):
        if "if" in spec:
            yield spec["if"]
        for key in ("then", "else"):
            if spec.get(key) is not None:
                yield from conditions_of(spec[key])
        for key in ("first", "collect"):
            for item in spec.get(key, ()):
                yield from conditions_of(item)


@functools.cache
def _datetime_columns() -> frozenset[str]:
    return frozenset(col for cols in DOCUMENTED_TYPES.values() for col, kind in cols.items() if kind == "datetime")


_MISS: Any = object()
_SCALARS = frozenset({str, int, float, bool, type(None)})
_MEMO_SIZE = 4096  # texts per memo: emptied when full
# Transforms that keep what repeats in a cache of their own (the addresses of a packed list): no
# memo, whose misses would cost more than they save where every record has its own text.
_OWN_CACHE = frozenset({"first_ip"})
_MEMO_TEXT = 512  # the longest text a memo keeps
_MEMOS: dict[tuple[str, ...], tuple[dict[Any, Any], Callable[[Any], Any]]] = {}


def _memo_of(names: tuple[str, ...]) -> tuple[dict[Any, Any], Callable[[Any], Any]]:
    """The memo of a chain of transforms (text -> result) and the function that fills it, shared by all rule sets."""
    found = _MEMOS.get(names)
    if found is None:
        first, *rest = (transform(name) for name in names)
        memo: dict[Any, Any] = {None: None}

        def fill(value: Any) -> Any:
            if value is None:  # (a memo being cleared by another thread)
                return None
            out = first(value)
            for fn in rest:
                if out is None:
                    break
                out = fn(out)
            if value.__class__ is not str or len(value) > _MEMO_TEXT:
                return out  # (a long text, most often unique, is not kept: a memo stays small)
            kind = out.__class__
            kept: Any
            if kind is list and all(item.__class__ in _SCALARS for item in out):
                kept = tuple(out)  # each record gets a new list of it
            elif kind in _SCALARS:
                kept = out
            elif kind is list or kind is dict:
                # dicts and lists of plain JSON (OCSF attacks[], fingerprints): kept as their JSON,
                # each record gets new ones decoded from it (msgspec, in C: a fifth of the transforms)
                kept = _as_json(out)
                if kept is None:
                    return out  # a datetime in it, a float that is not finite: computed every time
            else:
                return out  # a datetime: computed every time
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
                memo[None] = None
            memo[value] = kept
            return out

        found = _MEMOS[names] = (memo, fill)
    return found


def _as_json(value: Any) -> bytes | None:
    """``value`` (dicts with text keys, lists, JSON scalars and finite floats only) as the JSON
    that decodes to an equal copy of it, member order and types kept; None for anything else."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = item.__class__
        if kind is dict:
            if not all(key.__class__ is str for key in item):
                return None
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind not in _SCALARS or (kind is float and not math.isfinite(item)):  # (JSON has no NaN)
            return None
    try:
        return msgspec.json.encode(value)
    except (TypeError, ValueError, OverflowError):  # a text with a lone surrogate (not UTF-8), ...
        return None


def _exact_text(value: Any) -> Any:
    """A timestamp string of an untyped (unknown-table) row as an ExactDatetime."""
    if isinstance(value, str):
        ns = parse_ns(value)
        if ns is not None:
            return ExactDatetime.from_ns(ns)
    return value


def _empty(value: Any) -> bool:
    """``None``, ``""`` or ``[]``: a value that is left out of the result."""
    return value is None or (isinstance(value, (str, list)) and not value)


def _add_collected(out: list[Any], value: Any) -> None:
    if value is None or value == "":
        return
    for item in value if isinstance(value, list) else (value,):
        if item is not None and item != "" and item not in out:
            out.append(item)


def _merged(base: RuleSet, table: str, overrides: Mapping[str, Spec]) -> dict[str, Spec]:
    """The rules of ``table`` in ``base``, then ``overrides`` (a derived set's table built on first use)."""
    return {**(base._table_rules(table) or {}), **overrides}


def _check_paths(rule_set: str, table: str, rules: Mapping[str, Spec]) -> None:
    """Targets of a nested rule set: no empty part, no target that another one extends."""
    for target in rules:
        if "" in target.split("."):
            raise MappingError("a nested target has an empty part", rule_set, table, target)
        head = target.rpartition(".")[0]
        while head:
            if head in rules:
                raise MappingError(f"{head!r} is a field and also holds {target!r}", rule_set, table, head)
            head = head.rpartition(".")[0]


def describe(spec: Spec) -> str:
    """A rule in words, for the generated mapping docs (``JSA.md``, ``ECS.md``)."""
    if spec is None:
        return ""
    if isinstance(spec, str):
        return f"`{spec}`"
    if callable(spec) and not isinstance(spec, Mapping):
        return f"`{getattr(spec, '__name__', 'callable')}()`"
    names = spec.get("transform", ())
    names = [names] if isinstance(names, str) else list(names)
    suffix = " | " + ", ".join(names) if names else ""
    if "column" in spec:
        text = f"`{spec['column']}`"
    elif "first" in spec:
        text = " or ".join(describe(item) for item in spec["first"])
    elif "envelope" in spec:
        text = f"envelope `{spec['envelope']}`"
    elif "const" in spec:
        text = f"`{msgspec.json.encode(spec['const']).decode()}`"
    elif "collect" in spec:
        text = "all of " + ", ".join(describe(item) for item in spec["collect"])
    elif "if" in spec:
        text = f"if {spec['if']}: {describe(spec['then']) or 'none'}; else {describe(spec.get('else')) or 'none'}"
    elif "call" in spec:
        text = describe(spec["call"])
    else:
        text = "?"
    if "map" in spec:
        table = spec["map"]
        default = spec.get("default")
        shown = ", ".join(f"{k} → {msgspec.json.encode(v).decode()}" for k, v in list(table.items())[:6])
        more = f", … ({len(table)} values)" if len(table) > 6 else ""
        otherwise = f"; other → {msgspec.json.encode(default).decode()}" if default is not None else ""
        suffix += f" mapped ({shown}{more}{otherwise})"
    return text + suffix


class Registry:
    """The named rule sets: list, get and register them.

    The built-in sets are known by name when :mod:`m365parse` is imported and
    built on first use (their modules imported then); sets that other packages
    ship through the ``m365parse.mappings`` entry-point group are loaded when a
    name is not a built-in one, or when the names are listed.
    """

    def __init__(self) -> None:
        self._sets: dict[str, RuleSet] = {}
        self._builtin: dict[str, Callable[[], RuleSet]] = {}
        self._plugins_loaded = False

    def register(self, rule_set: RuleSet) -> RuleSet:
        """Add a rule set; :class:`MappingError` when its name is taken."""
        if not isinstance(rule_set, RuleSet):
            raise MappingError(f"expected a RuleSet, got {type(rule_set).__name__}")
        if rule_set.name in self._sets or rule_set.name in self._builtin:
            raise MappingError(f"a rule set named {rule_set.name!r} is already registered", rule_set.name)
        self._sets[rule_set.name] = rule_set
        return rule_set

    def register_lazy(self, name: str, load: Callable[[], RuleSet]) -> None:
        """Add the rule set ``name`` that ``load()`` builds, on the first :meth:`get` of it.

        :class:`MappingError` when the name is taken, now or (a set of another
        name) when it is loaded.
        """
        if name in self._sets or name in self._builtin:
            raise MappingError(f"a rule set named {name!r} is already registered", name)
        self._builtin[name] = load

    def unregister(self, name: str) -> None:
        """Remove the rule set called ``name``."""
        self._load_plugins()
        if self._sets.pop(name, None) is None and self._builtin.pop(name, None) is None:
            raise MappingError(f"no rule set named {name!r}", name)

    def get(self, name: str) -> RuleSet:
        """The rule set called ``name``; :class:`MappingError` when there is none."""
        found = self._sets.get(name)
        if found is None and name in self._builtin:
            found = self._build(name)
        if found is None:
            self._load_plugins()
            found = self._sets.get(name)
        if found is None:
            raise MappingError(f"no rule set named {name!r} (registered: {', '.join(self.names())})", name)
        return found

    def _build(self, name: str) -> RuleSet:
        rule_set = self._builtin[name]()
        if not isinstance(rule_set, RuleSet) or rule_set.name != name:
            raise MappingError(f"the rule set registered as {name!r} did not load as a RuleSet of that name", name)
        del self._builtin[name]
        self._sets[name] = rule_set
        return rule_set

    def names(self) -> list[str]:
        """Names of every registered rule set, sorted."""
        self._load_plugins()
        return sorted([*self._sets, *self._builtin])

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for entry in _entry_points():
            try:
                loaded = entry.load()
                rule_set = loaded() if callable(loaded) and not isinstance(loaded, RuleSet) else loaded
            except Exception as exc:
                raise MappingError(f"entry point {entry.name!r} ({entry.value}) failed to load: {exc}") from exc
            if not isinstance(rule_set, RuleSet):
                raise MappingError(f"entry point {entry.name!r} ({entry.value}) did not give a RuleSet")
            self.register(rule_set)


def _entry_points() -> Iterable[metadata.EntryPoint]:
    from importlib import metadata  # ~25 ms: imported only when entry points are read

    return metadata.entry_points(group=ENTRY_POINT_GROUP)


#: The registry of rule sets.
registry = Registry()


def _resolve(rule_set: str | RuleSet) -> RuleSet:
    return rule_set if isinstance(rule_set, RuleSet) else registry.get(rule_set)


def normalize(record: Record, rule_set: str | RuleSet = "jsa") -> dict[str, Any]:
    """Normalize one record with a rule set (by name, or a :class:`RuleSet`).

    Fields with no value are left out.  Records of unknown tables get the
    rule set's ``"*"`` rules.
    """
    rs = _resolve(rule_set)
    rtype = type(record)
    fn = rs._compiled.get(rtype)
    if fn is None:
        fn = rs.normalizer(rtype, record.table)
    return fn(record)


@collector_off
def normalize_batch(batch: Batch | Iterable[Record], rule_set: str | RuleSet = "jsa") -> list[dict[str, Any]]:
    """Normalize every record of a batch (its errors are skipped), in order.

    Python's cyclic garbage collector is off while the records are normalized (and
    restored after, when it was on), as while :func:`m365parse.decode` builds records:
    the outputs are new trees of dicts and lists, without cycles, and the collector
    walking them again and again cost 5-15% of the time.  A cycle that a rule's own
    function makes is collected after the call.
    """
    rs = _resolve(rule_set)
    records = batch.records if isinstance(batch, Batch) else batch
    compiled = rs._compiled
    out: list[dict[str, Any]] = []
    append = out.append
    last: type[Record] | None = None
    fn: Normalizer | None = None
    for record in records:
        rtype = type(record)
        if rtype is not last:  # runs of one table (SIEM alerts, hunting rows) look the function up once
            fn = compiled.get(rtype)
            if fn is None:
                fn = rs.normalizer(rtype, record.table)
            last = rtype
        append(fn(record))  # type: ignore[misc]
    return out


class NormalizedBatch(msgspec.Struct):
    """What :func:`decode_normalized` returns: a :class:`m365parse.Batch` whose records are events.

    Attributes:
        events: the normalized event of each decoded record, in input order
            (``normalize_batch(decode(data), rule_set)``).
        errors: one :class:`m365parse.InvalidRecord` per input record that could
            not be decoded, as :attr:`m365parse.Batch.errors`.
        next_link, count, envelope: as :class:`m365parse.Batch`'s.

    ``len(events) + len(errors)`` is the number of records in the input.
    """

    events: list[dict[str, Any]]
    errors: list[InvalidRecord]
    next_link: str | None = None
    count: int | None = None
    envelope: dict[str, Any] = msgspec.field(default_factory=dict)


@collector_off  # the decode, the events and the batch made of them: no cycle
def decode_normalized(
    data: bytes | bytearray | memoryview | str | Iterable[bytes], rule_set: str | RuleSet = "jsa"
) -> NormalizedBatch:
    """Decode ``data`` (anything :func:`m365parse.decode` takes) and normalize its records.

    The events are ``normalize_batch(decode(data), rule_set)`` and the errors
    ``decode(data).errors``, but the records are decoded for the rule set: streamed
    records, advanced hunting rows and the alerts and incidents of the polled APIs
    with only the columns (JSON paths) its rules read (:meth:`RuleSet.projection`;
    msgspec skips the others), SIEM alerts as :func:`m365parse.decode` does.  A
    rule set that reads nearly everything (``"ecs"``, ``"ocsf"``) gains nothing
    from it; ``"jsa"`` reads a sixth of the columns of a streamed record.  One difference: a record whose *unread*
    columns hold a value :func:`m365parse.decode` cannot read at all (bytes that
    are not UTF-8, an integer of more than 4,300 digits) gives its event here,
    where :func:`m365parse.decode` reports it as an :class:`m365parse.InvalidRecord`
    (or, for a lone record, the input as not JSON); and JSON lines whose values are
    not one a line (a record cut over two lines) may be read value by value here
    where :func:`m365parse.decode`, its one-pass decode failing on a column the
    rule set does not read, reads them line by line.

    Runs with the cyclic garbage collector off, restored as it was found, as
    :func:`m365parse.decode` and :func:`normalize_batch` do: between the two, a
    collection walked the new records (7% of the time with ``"ecs"``).

    Raises :class:`m365parse.InvalidInput` as :func:`m365parse.decode` does, and
    :class:`MappingError` as :func:`normalize_batch` does.
    """
    from .._decode import decode

    rs = _resolve(rule_set)
    token = CURRENT.set(rs.projection())
    try:
        batch = decode(data)
    finally:
        CURRENT.reset(token)
    return NormalizedBatch(normalize_batch(batch, rs), batch.errors, batch.next_link, batch.count, batch.envelope)
