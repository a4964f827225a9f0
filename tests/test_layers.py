"""The package's imports flow one way (docs/ARCHITECTURE.md): nothing lower imports higher,
handlers and jobs never import each other, and SQL lives in bot/storage/ only (portable
SQL outside the SQLite backend and its migrations)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "bot"

# Lower number = lower layer. A module may import only its own layer or lower ones.
LAYERS: dict[str, int] = {
    "bot.domain": 0,
    "bot.settings": 0,
    "bot.clock": 0,
    "bot.logs": 0,
    "bot.files": 0,
    "bot.storage": 1,
    "bot.importing": 2,
    "bot.charts": 2,
    "bot.processing": 2,
    "bot.chat": 2,  # chat rendering, below handlers and jobs
    "bot.usecases": 3,
    "bot.jobs": 4,
    "bot.handlers": 4,
    "bot.reports": 4,
    "bot.app": 5,
    "bot.webhook": 5,
    "bot.harness": 6,
    "bot.demo": 6,
    "bot.synthetic": 6,
    "bot.cli": 7,
    "bot.__main__": 8,
}
# Packages of one layer that must not import each other either: handlers and jobs both
# call down into the use cases (what they share lives there, or in bot.chat).
APART = (("bot.handlers", "bot.jobs"), ("bot.handlers", "bot.reports"),
         ("bot.jobs", "bot.reports"))


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(name: str) -> int | None:
    for prefix in sorted(LAYERS, key=len, reverse=True):
        if name == prefix or name.startswith(prefix + "."):
            return LAYERS[prefix]
    return None


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("bot")}


SOURCES = sorted(path for path in PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: module_name(path))
def test_imports_flow_downwards(path: Path) -> None:
    name = module_name(path)
    if name == "bot" or name.startswith("bot.sandbox"):
        return
    own = layer_of(name)
    assert own is not None, f"{name} is in no layer: add it to LAYERS"
    for imported in imports_of(path):
        if imported.startswith("bot.sandbox"):
            assert own >= LAYERS["bot.harness"], f"{name} imports the stand-in"
            continue
        theirs = layer_of(imported)
        if theirs is None:
            continue  # `from bot import charts` style: the module itself is checked below
        assert theirs <= own, f"{name} (layer {own}) imports {imported} (layer {theirs})"


@pytest.mark.parametrize("path", sorted(PACKAGE.joinpath("sandbox").rglob("*.py")),
                         ids=lambda path: module_name(path))
def test_the_stand_in_stands_apart(path: Path) -> None:
    for imported in imports_of(path):
        assert imported.startswith("bot.sandbox"), f"{module_name(path)} imports {imported}"


def test_no_two_modules_import_each_other() -> None:
    # A package's __init__ re-exporting its modules is not a cycle.
    graph = {module_name(path): imports_of(path) for path in SOURCES
             if path.name != "__init__.py"}
    pairs = sorted((a, b) for a, deps in graph.items() for b in deps
                   if a < b and a in graph.get(b, set()))
    assert pairs == []


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: module_name(path))
def test_handlers_and_jobs_never_import_each_other(path: Path) -> None:
    name = module_name(path)
    for one, other in APART:
        for mine, theirs in ((one, other), (other, one)):
            if _within(name, mine):
                crossing = sorted(i for i in imports_of(path) if _within(i, theirs))
                assert crossing == [], f"{name} imports {crossing}: move the shared part down"


# A statement's start, or a clause only SQL has (upper-case keywords, as the project
# writes SQL), in a string literal: f-strings' text parts and implicitly joined literals
# count, since the parser joins those into one constant.
_SQL = re.compile(
    r"^\s*(SELECT\s.*\bFROM\b|INSERT\s+INTO\b|UPDATE\s+\w+\s+SET\b|DELETE\s+FROM\b"
    r"|CREATE\s+(UNIQUE\s+)?(TABLE|INDEX|TRIGGER|VIEW)\b|DROP\s+(TABLE|INDEX)\b"
    r"|ALTER\s+TABLE\b|PRAGMA\s|BEGIN(\s+IMMEDIATE)?\s*$|COMMIT\s*$|ROLLBACK\s*$|VACUUM\b"
    r"|WITH\s+RECURSIVE\b)"
    r"|\b(FROM|JOIN)\s+\w+(\s+\w+)?\s+(WHERE|ON|ORDER\s+BY|GROUP\s+BY)\b"
    r"|\bON\s+CONFLICT\b", re.S)


def sql_literals(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and _SQL.search(node.value):
            found.append(f"line {node.lineno}: {node.value.strip()[:60]!r}")
    return found


def test_the_sql_check_sees_sql() -> None:
    assert _SQL.search("SELECT id FROM pupils WHERE upn = ?")
    assert _SQL.search("UPDATE officers SET telegram_user_id = NULL WHERE id = ?")
    assert _SQL.search(" FROM marks m JOIN pupils p ON p.id = m.pupil_id")
    assert not _SQL.search("Select a pupil from the list where it says so.")
    assert not _SQL.search("update the record")


@pytest.mark.parametrize("path", [path for path in SOURCES
                                  if not _within(module_name(path), "bot.storage")],
                         ids=lambda path: module_name(path))
def test_no_sql_outside_storage(path: Path) -> None:
    assert sql_literals(path) == [], f"{module_name(path)}: SQL belongs in bot/storage/"


# SQLite's own SQL, allowed only in its backend and its migrations: the PostgreSQL
# backend runs every other storage module's SQL as written (placeholders translated).
_SQLITE_ONLY = re.compile(
    r"\bINSERT\s+OR\b|\bREPLACE\s+INTO\b|\bIFNULL\s*\(|\bPRAGMA\b|\browid\b|\bstrftime\s*\("
    r"|\bjulianday\s*\(|\bGLOB\b|\bWITHOUT\s+ROWID\b|\bsqlite_\w+|\blast_insert_rowid\b"
    r"|\bdatetime\s*\(\s*'|\bdate\s*\(\s*'now", re.I)
_SQLITE_MODULES = {"bot.storage.sqlite", "bot.storage.schema"}


@pytest.mark.parametrize("path", [path for path in SOURCES
                                  if _within(module_name(path), "bot.storage")
                                  and module_name(path) not in _SQLITE_MODULES],
                         ids=lambda path: module_name(path))
def test_storage_sql_is_portable(path: Path) -> None:
    found = [text for text in _string_constants(path) if _SQLITE_ONLY.search(text)]
    assert found == [], f"{module_name(path)} uses SQLite-only SQL: {found}"


def _string_constants(path: Path) -> list[str]:
    """Every string constant but docstrings (a string standing alone as a statement):
    prose may name what SQLite does, as the PostgreSQL schema's translation notes do."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    prose = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in prose]
