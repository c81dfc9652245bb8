"""The shape registry: its contract, and nothing built at import."""

from __future__ import annotations

import subprocess
import sys

import m365parse
from m365parse.shapes import SHAPES, Shape


def test_every_shape_keeps_the_contract() -> None:
    names = [shape.name for shape in SHAPES]
    assert len(names) == len(set(names))
    for shape in SHAPES:
        assert isinstance(shape, Shape)
        # items are recognised and built by the same shape; a shape without items is an envelope
        assert (shape.recognise is None) == (shape.build is None), shape.name
        assert shape.recognise is None or (callable(shape.recognise) and callable(shape.build))
        assert shape.recognise is not None or shape.unwrap is not None, shape.name
        assert (shape.sniff is None) == (shape.whole is None), shape.name
        assert shape.page is None or shape.contexts is not None


def test_no_decoder_and_no_api_struct_is_built_at_import() -> None:
    code = (
        "import sys, m365parse\n"
        "from m365parse.shapes import stream, siem, alerts, hunting\n"
        "assert stream._decoders_of.cache_info().currsize == 0\n"
        "assert siem._decoders.cache_info().currsize == 0\n"
        "assert alerts._alert.cache_info().currsize == 0\n"
        "assert hunting._decoders.cache_info().currsize == 0\n"
        "assert 'm365parse.api.graph' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_items_are_recognised_in_order() -> None:
    # A Graph alert has a `category` key: it must not be taken for a streamed record.
    batch = m365parse.decode(b'{"providerAlertId": "p", "category": "Execution", "title": 5}')
    assert [r.table for r in batch.records] == ["GraphAlert"]
    assert batch.records[0].extra == {"title": 5}
