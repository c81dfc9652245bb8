"""Coverage-guided fuzzing with atheris, for long runs outside the test suite.

    python -m pip install -e '.[test,fuzz]'
    python -m tests.fuzz.harness -max_total_time=3600           # seeded from the corpus
    python -m tests.fuzz.harness -max_total_time=3600 CORPUS_DIR  # libFuzzer options and dirs

Each input goes through decode() (as bytes and as str), the incremental
JsonLinesDecoder (chunked at places the input picks), expand() of the input as
JSON text, and every use of each decoded record (to_dict, timestamp_ns, expand,
normalize with every rule set).  Anything but M365ParseError is a crash; a hang
is caught by libFuzzer's -timeout (default here: 10 s).  Found inputs land in the
working directory as crash-*/timeout-* files; replay one with
``python -m tests.fuzz.harness crash-<id>``.

``tests/fuzz/test_harness.py`` runs :func:`one_input` over the corpus in the
default test suite, so the harness itself never rots.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from pathlib import Path

import m365parse
from m365parse._values import expand_value

from ._support import corpus, exercise

_LIMITS = (1, 64, 4096, 64 * 1024 * 1024)


def one_input(data: bytes) -> None:
    """Run one input through every entry point; raise on anything but M365ParseError."""
    try:
        batch = m365parse.decode(data)
    except m365parse.InvalidInput:
        batch = None
    if batch is not None:
        for record in batch.records:
            exercise(record)
    text = data.decode("utf-8", "surrogateescape")
    with contextlib.suppress(m365parse.InvalidInput):
        m365parse.decode(text)
    # the incremental decoder, cut where the input's first bytes say
    cuts = sorted({b * len(data) // 256 for b in data[:6]})
    decoder = m365parse.JsonLinesDecoder(max_record_bytes=_LIMITS[data[0] % 4] if data else 64)
    start = 0
    for cut in [*cuts, len(data)]:
        for record in decoder.feed(data[start:cut]).records:
            exercise(record)
        start = cut
    decoder.close()
    with contextlib.suppress(m365parse.InvalidJSONText):
        expand_value(text, "AdditionalFields")


def _seed_dir() -> str:
    directory = tempfile.mkdtemp(prefix="m365parse-seeds-")
    for i, source in enumerate(corpus()):
        Path(directory, f"seed-{i:04d}").write_bytes(source.data)
    return directory


def main(argv: list[str] | None = None) -> None:
    import atheris  # the optional "fuzz" extra

    args = list(sys.argv if argv is None else argv)
    if all(a.startswith("-") for a in args[1:]):  # no corpus directory or input file given
        args.append(_seed_dir())
    if not any(a.startswith("-timeout=") for a in args[1:]):
        args.append("-timeout=10")
    atheris.instrument_all()
    atheris.Setup(args, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
