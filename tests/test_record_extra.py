"""Record.extra / Record.envelope_extra: a dict of the record's own, made when first read.

The records of a decode share one read-only empty default in the struct's slot (no
dict made and freed per record); reading the attribute gives the record a dict of
its own.  These tests pin what the documented API promises either way.
"""

from __future__ import annotations

import copy
import pickle

import msgspec
import pytest

import m365parse
from m365parse import Record
from m365parse.tables import DeviceProcessEventsRecord

BODY = (
    b'{"records": ['
    b'{"time": "2024-05-14T08:41:56.5950497Z", "tenantId": "t", "category": "AdvancedHunting-DeviceProcessEvents",'
    b' "properties": {"DeviceName": "a", "Timestamp": "2024-05-14T08:41:56.5950497Z"}},'
    b'{"time": "2024-05-14T08:41:57Z", "tenantId": "t", "category": "AdvancedHunting-DeviceProcessEvents",'
    b' "properties": {"DeviceName": "b", "NewColumn": 1}}'
    b"]}"
)


def _records() -> list[Record]:
    batch = m365parse.decode(BODY)
    assert not batch.errors
    return batch.records


def test_empty_extra_is_a_dict_of_the_records_own() -> None:
    first, second = _records()
    assert first.extra == {} and first.envelope_extra == {}
    assert type(first.extra) is dict and type(first.envelope_extra) is dict
    assert first.extra is first.extra  # the same dict on every read
    first.extra["mine"] = 1
    first.envelope_extra["env"] = 2
    assert first.extra == {"mine": 1} and first.envelope_extra == {"env": 2}
    assert second.extra == {"NewColumn": 1} and second.envelope_extra == {}
    fresh = DeviceProcessEventsRecord(properties=first.properties)
    assert fresh.extra == {} and fresh.envelope_extra == {}


def test_records_never_share_an_extra() -> None:
    a = DeviceProcessEventsRecord(properties=None)
    b = DeviceProcessEventsRecord(properties=None)
    a.extra["x"] = 1
    assert b.extra == {}
    assert a.extra is not b.extra


def test_given_and_assigned_extra() -> None:
    given = {"k": "v"}
    record = DeviceProcessEventsRecord(properties=None, extra=given, envelope_extra={"e": 1})
    assert record.extra is given and record.envelope_extra == {"e": 1}
    record.extra = {"other": 2}
    assert record.extra == {"other": 2}
    record.envelope_extra = {}
    assert record.envelope_extra == {}


def test_equality_and_repr_do_not_tell_an_unread_extra_from_an_empty_one() -> None:
    first = _records()[0]
    again = _records()[0]
    _ = again.extra  # read: its own dict now
    assert first == again
    assert DeviceProcessEventsRecord(properties=None) == DeviceProcessEventsRecord(properties=None, extra={})
    assert DeviceProcessEventsRecord(properties=None) != DeviceProcessEventsRecord(properties=None, extra={"a": 1})
    assert "extra" not in repr(_records()[0])
    assert "extra={'NewColumn': 1}" in repr(_records()[1])


def test_pickle_and_copy() -> None:
    # with their origin (pickled with them) and without one
    for record in [*_records(), *(msgspec.structs.replace(r, _src=None) for r in _records())]:
        back = pickle.loads(pickle.dumps(record))
        assert back == record
        back.extra["added"] = True
        assert "added" not in record.extra
        clone = copy.deepcopy(record)
        assert clone == record
        clone.extra["added"] = True
        assert "added" not in record.extra
        shallow = copy.copy(record)
        assert shallow == record
        shallow.envelope_extra["x"] = 1
        assert DeviceProcessEventsRecord(properties=None).envelope_extra == {}


def test_msgspec_views_of_a_record_hold_an_empty_dict() -> None:
    record = _records()[0]
    fields = msgspec.structs.asdict(record)
    assert fields["extra"] == {} and fields["envelope_extra"] == {}
    assert isinstance(fields["extra"], dict)
    with pytest.raises(TypeError):
        fields["extra"]["x"] = 1  # the shared default is never changed
    assert DeviceProcessEventsRecord(properties=None).extra == {}
    made = DeviceProcessEventsRecord(properties=None)  # (a decoded record's origin is not JSON)
    encoded = msgspec.json.decode(msgspec.json.encode(made))
    assert encoded["@m365parse.extra"] == {} and encoded["@m365parse.envelope_extra"] == {}
    assert msgspec.to_builtins(made)["@m365parse.extra"] == {}
    record.extra["x"] = 1
    assert msgspec.structs.asdict(record)["extra"] == {"x": 1}


def test_to_dict_and_envelope_keep_extra() -> None:
    record = _records()[1]
    assert record.to_dict()["extra"] == {"NewColumn": 1}
    plain = _records()[0]
    assert plain.to_dict()["extra"] == {}
    assert "NewColumn" not in plain.envelope
