"""An OCSF 1.8.0 event validator over the schema subset in ``tests/data/ocsf`` (test code, not the library's).

:func:`check_event` raises AssertionError naming the path of the first problem:
the class's required attributes and those of each declared profile present, no
attribute outside the class (or object) and the declared profiles (``unmapped``
and the ``object``-typed attributes hold anything), every value of its type
(recursively into objects, regexes and ranges of the dictionary's types), every
enum attribute in its enum, and every caption sibling (``activity_name``,
``type_name``, ``severity``, ``class_name``, ...) the caption of its id (free text
only for 99, Other).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

SUBSET = Path(__file__).resolve().parent / "data" / "ocsf" / "ocsf-1.8.0-subset.json"
SCHEMA: dict[str, Any] = json.loads(SUBSET.read_text("utf-8"))
TYPES: dict[str, dict[str, Any]] = SCHEMA["types"]
CLASSES: dict[str, dict[str, Any]] = SCHEMA["classes"]
OBJECTS: dict[str, dict[str, Any]] = SCHEMA["objects"]

#: id attribute -> its caption sibling, where the name does not follow ``<x>_id`` -> ``<x>``.
SIBLINGS = {"type_uid": "type_name", "class_uid": "class_name", "category_uid": "category_name"}
_REGEX = {name: re.compile(t["regex"]) for name, t in TYPES.items() if "regex" in t}


def _base(type_name: str) -> str:
    """The primitive type at the root of a dictionary type (``port_t`` -> ``integer_t``)."""
    seen = type_name
    while seen in TYPES and "type" in TYPES[seen] and TYPES[seen]["type"] != seen:
        seen = TYPES[seen]["type"]
    return seen


def _scalar(path: str, type_name: str, value: Any) -> None:
    base = _base(type_name)
    where = f"{path}={value!r} ({type_name})"
    if base == "string_t":
        assert isinstance(value, str) and value != "", where
    elif base in ("integer_t", "long_t"):
        assert isinstance(value, int) and not isinstance(value, bool), where
    elif base == "float_t":
        assert isinstance(value, (int, float)) and not isinstance(value, bool), where
    elif base == "boolean_t":
        assert isinstance(value, bool), where
    elif base == "json_t":
        json.dumps(value)
    else:
        raise AssertionError(f"{where}: no check for type {base}")
    t = TYPES.get(type_name, {})
    if type_name in _REGEX:
        assert _REGEX[type_name].search(value), where
    if "max_len" in t:
        assert len(value) <= t["max_len"], where
    if "range" in t:
        low, high = t["range"]
        assert low <= value <= high, where


def _applies(profiles_of_attribute: list[str] | None, declared: list[str]) -> bool:
    return not profiles_of_attribute or any(p in declared for p in profiles_of_attribute)


def _check_object(path: str, obj: Any, attributes: dict[str, list[Any]], profiles: list[str]) -> None:
    assert isinstance(obj, dict) and obj, f"{path}: an object must be a non-empty dict: {obj!r}"
    for name, spec in attributes.items():
        type_name, object_type, requirement, is_array, attr_profiles, enum = spec
        if requirement == "required" and _applies(attr_profiles, profiles):
            assert name in obj, f"{path}.{name} is required".lstrip(".")
    for name, value in obj.items():
        where = f"{path}.{name}".lstrip(".")
        assert name in attributes, f"{where} is not an attribute here"
        type_name, object_type, requirement, is_array, attr_profiles, enum = attributes[name]
        assert _applies(attr_profiles, profiles), f"{where} needs one of the profiles {attr_profiles}"
        items = value if is_array else [value]
        if type_name == "json_t" and not is_array:
            json.dumps(value)  # any JSON value, a list included
            continue
        if is_array:
            assert isinstance(value, list) and value, f"{where} must be a non-empty list: {value!r}"
        else:
            assert not isinstance(value, list), f"{where} must not be a list: {value!r}"
        for i, item in enumerate(items):
            at = f"{where}[{i}]" if is_array else where
            if type_name == "object_t":
                if object_type == "object":  # free-form (unmapped, xattributes)
                    assert isinstance(item, dict), at
                    json.dumps(item)
                else:
                    _check_object(at, item, OBJECTS[object_type]["attributes"], profiles)
            else:
                _scalar(at, type_name, item)
            if enum:
                assert str(item) in enum, f"{at}: {item!r} is not in the enum {sorted(enum)}"
        if enum and not is_array:
            sibling = _sibling(name, attributes)
            # a caption is the enum's, except for 99 (Other), where the source's text may stand
            if sibling and sibling in obj and (value != 99 or name == "type_uid"):
                assert obj[sibling] == enum[str(value)], f"{where}={value}: {sibling} is {obj[sibling]!r}"


def _sibling(name: str, attributes: dict[str, list[Any]]) -> str | None:
    """The caption attribute of an enum attribute: ``activity_id`` -> ``activity_name``, ``severity_id`` -> ``severity``."""
    if name in SIBLINGS:
        return SIBLINGS[name]
    if not name.endswith("_id"):
        return None
    for candidate in (name[:-3] + "_name", name[:-3]):
        if candidate in attributes:
            return candidate
    return None


def check_event(event: dict[str, Any]) -> None:
    """Raise AssertionError when ``event`` is not a valid OCSF 1.8.0 event."""
    uid = event.get("class_uid")
    assert str(uid) in CLASSES, f"class_uid {uid!r} is not a class of the subset"
    cls = CLASSES[str(uid)]
    profiles = event.get("metadata", {}).get("profiles", [])
    for p in profiles:
        assert p in cls["profiles"], f"profile {p} is not a profile of {cls['name']}"
    _check_object("", event, cls["attributes"], profiles)
    assert event["type_uid"] == event["class_uid"] * 100 + event["activity_id"], "type_uid"
    assert event["category_uid"] == cls["category_uid"], "category_uid"
    assert event["metadata"]["version"] == SCHEMA["version"]
    json.dumps(event)
