"""Security: nothing derived from input is evaluated; generated mapping code holds no rule data.

The library compiles Python in two places, the mapping compiler
(``m365parse/mappings/registry.py``) and ``m365parse/_codegen.py`` (the API kinds'
normalizers, from their rules, and ``to_dict()``'s per-type code), from rule sets, which are trusted code
(see the threat model in README.md).  These tests keep it that way: any other
``eval``/``exec``/``compile`` fails here, and the generated source is checked to
contain only identifiers the compiler made, whatever the rule data and the input
records hold.
"""

from __future__ import annotations

import ast
import contextlib
import io
import keyword
import re
import tokenize
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import m365parse
from m365parse import TABLES

from ..conftest import body, record
from ._support import TRIED, examples

PACKAGE = Path(m365parse.__file__).resolve().parent
DYNAMIC = {"eval", "exec", "compile", "__import__", "breakpoint"}
#: (file, enclosing function, call) that may compile code: the mapping compiler only.
ALLOWED = {
    ("mappings/registry.py", "build", "compile"),
    ("mappings/registry.py", "build", "exec"),
    # the API kinds' normalizers and readers, to_dict()'s fill functions (their sources are
    # checked in tests/test_api_rules_compiled.py)
    ("_codegen.py", "compile_function", "compile"),
    ("_codegen.py", "compile_function", "exec"),
}
#: Modules the library has no business using on input (I/O lives in __main__.py only).
FORBIDDEN_IMPORTS = {"pickle", "marshal", "shelve", "subprocess", "socket", "ctypes", "code", "codeop"}


def _calls(tree: ast.AST) -> list[tuple[str, str, int]]:
    """(enclosing function, called name, line) of every call of a dynamic-code builtin."""
    found = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            if isinstance(child, ast.Call):
                func = child.func
                if isinstance(func, ast.Name) and func.id in DYNAMIC:
                    found.append((function, func.id, child.lineno))
                # builtins.eval(...), getattr(builtins, "exec")(...), importlib.import_module(...)
                if isinstance(func, ast.Attribute) and func.attr in DYNAMIC - {"compile"}:
                    found.append((function, func.attr, child.lineno))
                if isinstance(func, ast.Attribute) and func.attr == "compile" and not (
                    isinstance(func.value, ast.Name) and func.value.id == "re"
                ):
                    found.append((function, "compile", child.lineno))
                if isinstance(func, ast.Name) and func.id == "getattr" and any(
                    isinstance(a, ast.Constant) and a.value in DYNAMIC for a in child.args
                ):
                    found.append((function, "getattr", child.lineno))
            visit(child, inner)

    visit(tree, "<module>")
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "schema" not in p.parts)


def test_no_eval_exec_or_compile_outside_the_mapping_compiler() -> None:
    seen = set()
    for path in _modules():
        rel = path.relative_to(PACKAGE).as_posix()
        for function, name, line in _calls(ast.parse(path.read_text("utf-8"), str(path))):
            assert (rel, function, name) in ALLOWED, f"{rel}:{line}: {name}() in {function}()"
            seen.add((rel, function, name))
    assert seen <= ALLOWED


def test_the_scan_would_see_them() -> None:
    source = "def f(x):\n    eval(x)\n    builtins.exec(x)\n    compile(x, 'f', 'exec')\n    re.compile(x)\n    getattr(builtins, 'eval')(x)\n"
    assert [name for _, name, _ in _calls(ast.parse(source))] == ["eval", "exec", "compile", "getattr"]


def test_no_dangerous_modules_and_no_io_outside_the_command_line() -> None:
    for path in _modules():
        rel = path.relative_to(PACKAGE).as_posix()
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                names = {(node.module or "").split(".")[0]}
            else:
                names = set()
            assert not names & FORBIDDEN_IMPORTS, f"{rel}: imports {names & FORBIDDEN_IMPORTS}"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open":
                assert rel in ("__main__.py", "tables/_generate.py", "api/_generate.py"), f"{rel}:{node.lineno}: open()"


# --- generated mapping code ----------------------------------------------------------------

GENERATED = re.compile(r"_?[a-z]+\d+\Z")  # the compiler's own identifiers: v3, _k12, cond4, g2
FIELDS = frozenset(name for struct in TABLES.values() for name in struct.__struct_fields__)


def _tokens(source: str) -> tuple[set[str], set[str]]:
    names, literals = set(), set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME and not keyword.iskeyword(tok.string) and not GENERATED.match(tok.string):
            names.add(tok.string)
        elif tok.type in (tokenize.STRING, tokenize.NUMBER) or (tok.type == tokenize.OP and tok.string in ("@", "`")):
            literals.add(tok.string)
    return names, literals


def _records() -> list[m365parse.Record]:
    out = [m365parse.decode(body(record(t, MachineGroup="g"))).records[0] for t in TABLES if t != "SiemAlert"]
    out.append(m365parse.decode(b'[{"AlertId": "a1"}]').records[0])
    hostile = "AdvancedHunting-x'); __import__('os').system('echo pwned'); ('"
    out.append(m365parse.decode(body(dict(record(), category=hostile))).records[0])
    return out


def _sources(rule_set: m365parse.RuleSet) -> list[str]:
    return [fn.__doc__ or "" for fn in rule_set._compiled.values()]


def _baseline() -> tuple[set[str], set[str]]:
    """Names and literals of the code generated for the built-in rule sets."""
    names: set[str] = set()
    literals: set[str] = set()
    for name in m365parse.registry.names():
        rule_set = m365parse.registry.get(name)
        for rec in _records():
            m365parse.normalize(rec, rule_set)
        for source in _sources(rule_set):
            n, lit = _tokens(source)
            names |= n
            literals |= lit
    return names, literals


HOSTILE = [
    "x'); __import__('os').system('echo pwned'); ('",
    '"""\nimport os\n"""',
    "\nreturn None\n",
    "{0.__class__}",
    "a.b.c",
    "__builtins__",
    "\\",
    "\x00",
    "' + open('/etc/passwd').read() + '",
]
hostile_text = st.sampled_from(HOSTILE) | st.text(min_size=1, max_size=20)
json_like = st.recursive(st.none() | st.booleans() | st.integers() | hostile_text, lambda c: st.lists(c, max_size=3), max_leaves=5)


@st.composite
def specs(draw: st.DrawFn, table: str, depth: int = 0) -> Any:
    from m365parse.mappings.transforms import CONDITIONS, TRANSFORMS

    columns = sorted(m365parse.tables.DOCUMENTED_TYPES[table]) if table != "*" else ["FileName", "Timestamp", "RemoteIP"]
    kinds = ["column", "const", "envelope"] + (["first", "collect", "if"] if depth < 2 else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "column":
        spec: Any = {"column": draw(st.sampled_from(columns))}
    elif kind == "const":
        spec = {"const": draw(json_like)}
    elif kind == "envelope":
        spec = {"envelope": draw(st.sampled_from(["time", "tenantId", "category", "table", "Tenant"]))}
    elif kind in ("first", "collect"):
        spec = {kind: draw(st.lists(specs(table, depth + 1), min_size=1, max_size=3))}
    else:
        spec = {"if": draw(st.sampled_from(sorted(CONDITIONS))), "then": draw(specs(table, depth + 1))}
    if draw(st.booleans()):
        spec["transform"] = draw(st.sampled_from(sorted(n for n in TRANSFORMS if ":" not in n)))
    return spec


@st.composite
def rule_sets(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    rules: dict[str, dict[str, Any]] = {}
    for table in draw(st.lists(st.sampled_from(["*", *sorted(t for t in TABLES if t != "SiemAlert")]), unique=True, min_size=1, max_size=3)):
        rules[table] = {draw(hostile_text): draw(specs(table)) for _ in range(draw(st.integers(1, 4)))}
    return rules


@examples(25, 1000)
@given(rules=rule_sets(), nested=st.booleans())
def test_generated_code_holds_no_rule_data(rules: dict[str, dict[str, Any]], nested: bool) -> None:
    TRIED["security: generated rule sets"] += 1
    try:
        rule_set = m365parse.RuleSet("hostile", rules, nested=nested)
    except m365parse.MappingError:
        TRIED["security: rule sets refused"] += 1
        return  # e.g. "a.b" and "a" as nested targets: refused when created, which is fine
    for rec in _records():
        with contextlib.suppress(m365parse.M365ParseError):
            m365parse.normalize(rec, rule_set)
    names, literals = _baseline_cached()
    for source in _sources(rule_set):
        got_names, got_literals = _tokens(source)
        assert got_names <= names | FIELDS, got_names - names - FIELDS
        assert got_literals <= literals, got_literals - literals
        for text in HOSTILE:
            assert text not in source


_BASELINE: list[tuple[set[str], set[str]]] = []


def _baseline_cached() -> tuple[set[str], set[str]]:
    if not _BASELINE:
        _BASELINE.append(_baseline())
    return _BASELINE[0]


@pytest.mark.parametrize("column", HOSTILE)
def test_hostile_column_transform_and_condition_names_are_refused(column: str) -> None:
    for spec in ({"column": column}, {"column": "FileName", "transform": column}, {"if": column, "then": "FileName"}, {"envelope": column}):
        with pytest.raises(m365parse.MappingError):
            m365parse.RuleSet("hostile", {"DeviceEvents": {"x": spec}})
    with pytest.raises(m365parse.MappingError):
        m365parse.RuleSet("hostile", {column: {"x": "FileName"}})


def test_hostile_target_names_come_out_as_data() -> None:
    rules = {"*": {text: {"const": text} for text in HOSTILE}}
    out = m365parse.normalize(_records()[0], m365parse.RuleSet("hostile", rules))
    assert out == {text: text for text in HOSTILE}
