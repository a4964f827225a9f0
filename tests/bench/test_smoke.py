"""Each benchmark still starts: run at a tiny size, it returns its figures (no timing
is asserted here; speed is measured by `make bench`)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS, main
from bench.report import Result, table
from bench.workspace import SMOKE, Workspace


@pytest.mark.parametrize("name", list(BENCHMARKS))
async def test_each_benchmark_runs_at_a_tiny_size_and_returns_its_figures(
        name: str, tmp_path: Path) -> None:
    results = await BENCHMARKS[name](Workspace(SMOKE, root=tmp_path))

    assert results
    for result in results:
        assert result.error is None, result.error
        if result.skipped is None:
            assert result.figures, result.name
            assert all(math.isfinite(value) and value >= 0 for value in result.figures.values())
            assert result.headline
    skipped = [f"{result.name}: {result.skipped}" for result in results if result.skipped]
    if skipped:
        pytest.skip("; ".join(skipped))


def test_the_table_has_a_row_per_result_with_its_ratio_and_verdict() -> None:
    from datetime import datetime

    results = [
        Result("attendance import", {"marks_per_s": 400_000.0}, headline="400,000 marks/s",
               baseline="raw executemany 600,000 rows/s", ratio=400 / 600, target="≥ 0.5",
               met=True),
        Result("retention sweep", {"seconds": 1.5}, headline="1.5 s", target="≤ 1 s",
               met=False, notes=["100,000 pupils"]),
        Result.skip("visits recorded", "the /visit conversation is not registered yet"),
    ]

    text = table(results, scale="full", seconds=12.0, started=datetime(2026, 7, 18, 10, 0),
                 appendix="## Changes made for the targets\n\n- none yet\n")

    lines = text.splitlines()
    assert ("| attendance import | 400,000 marks/s | raw executemany 600,000 rows/s | 0.67"
            " | ≥ 0.5 | met |") in lines
    assert "| retention sweep | 1.5 s | — | — | ≤ 1 s | MISSED |" in lines
    assert ("| visits recorded | skipped: the /visit conversation is not registered yet"
            " | — | — | — | skipped |") in lines
    assert "- **retention sweep**: 100,000 pupils" in lines
    assert text.endswith("## Changes made for the targets\n\n- none yet\n")


def test_the_runner_writes_the_table_where_asked(tmp_path: Path) -> None:
    out = tmp_path / "results.md"

    assert main(["retention", "--size", "smoke", "--out", str(out)]) == 0

    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Benchmark results")
    assert "| retention sweep |" in text


def test_an_unknown_benchmark_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["nonsense"])

    assert stopped.value.code == 2
    assert "no benchmark called nonsense" in capsys.readouterr().err
