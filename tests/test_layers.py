"""The package's imports flow one way (docs/ARCHITECTURE.md): nothing lower imports higher."""

from __future__ import annotations

import ast
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
    "bot.usecases": 2,
    "bot.importing": 2,
    "bot.charts": 2,
    "bot.processing": 2,
    "bot.jobs": 3,
    "bot.handlers": 3,
    "bot.reports": 3,
    "bot.app": 4,
    "bot.harness": 5,
    "bot.demo": 5,
    "bot.synthetic": 5,
    "bot.cli": 6,
    "bot.__main__": 7,
}


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
