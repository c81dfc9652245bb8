"""The atheris harness runs in the default suite on the corpus (without atheris), and under atheris in the long profile."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from ._support import LONG, ROOT, TRIED, corpus, rng, scaled
from .harness import one_input
from .test_mutations import mutate


def test_one_input_over_the_corpus_and_its_mutations() -> None:
    sources = corpus()
    for source in sources:
        TRIED["harness: corpus"] += 1
        one_input(source.data)
    r = rng("harness")
    for _ in range(scaled(100, 20_000)):
        TRIED["harness: mutations"] += 1
        one_input(mutate(r, r.choice(sources).data))
    for data in (b"", b"\n", b"\xef\xbb\xbf", b"{", b"[", b"\x00" * 10, b"{}" * 100):
        one_input(data)


@pytest.mark.skipif(not LONG, reason="the atheris run is part of the long profile (M365PARSE_FUZZ_LONG=1)")
@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris is not installed (the fuzz extra)")
def test_atheris_run() -> None:
    seconds = os.environ.get("M365PARSE_FUZZ_ATHERIS_SECONDS", "600")
    result = subprocess.run(
        [sys.executable, "-m", "tests.fuzz.harness", f"-max_total_time={seconds}", "-print_final_stats=1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    stats = [line for line in result.stderr.splitlines() if line.startswith("stat::number_of_executed_units")]
    if stats:
        TRIED["atheris"] += int(stats[-1].split(":")[-1])
    assert result.returncode == 0, result.stderr[-5000:]
