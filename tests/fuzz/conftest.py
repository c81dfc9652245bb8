"""Prints how many inputs the hostile-input tests tried (M365PARSE_FUZZ_STATS=1 or the long profile)."""

from __future__ import annotations

import os

import pytest

from ._support import LONG, SEED, TRIED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TRIED or not (LONG or os.environ.get("M365PARSE_FUZZ_STATS") == "1"):
        return
    terminalreporter.section("m365parse: hostile inputs tried")
    for kind, count in sorted(TRIED.items()):
        terminalreporter.write_line(f"{count:>10}  {kind}")
    terminalreporter.write_line(f"{sum(TRIED.values()):>10}  in total (seed {SEED})")
