#!/usr/bin/env python3
"""Extract the part of the compiled OCSF schema that the tests of the "ocsf" rule set need.

usage: python tests/data/ocsf/extract.py OCSF-COMPILED.json [OUT.json]

Reads the output of the OCSF project's compiler (``ocsf-1.8.0-compiled.json``, see
``README.md`` beside this script) and writes ``ocsf-1.8.0-subset.json``: the classes
listed in ``CLASSES`` and every object reachable from them, each attribute as
``[type, object_type, requirement, is_array, profiles, {enum value: caption}]``,
plus the dictionary's types (base type, regex, range, max length).  Descriptions
are left out; nothing else is changed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

#: The classes the rule set may emit (and Base Event, for unknown tables and kinds).
CLASSES = (
    "base_event",
    "file_activity",
    "kernel_extension_activity",
    "memory_activity",
    "module_activity",
    "scheduled_job_activity",
    "process_activity",
    "event_log_actvity",
    "script_activity",
    "peripheral_activity",
    "vulnerability_finding",
    "compliance_finding",
    "detection_finding",
    "data_security_finding",
    "incident_finding",
    "account_change",
    "authentication",
    "entity_management",
    "group_management",
    "network_activity",
    "http_activity",
    "dns_activity",
    "smb_activity",
    "ssh_activity",
    "email_activity",
    "inventory_info",
    "user_inventory",
    "software_info",
    "cloud_resources_inventory_info",
    "evidence_info",
    "web_resources_activity",
    "api_activity",
    "file_hosting",
    "win/registry_key_activity",
    "win/registry_value_activity",
    "win/windows_service_activity",
)


def attribute(at: dict[str, Any]) -> list[Any]:
    enum = at.get("enum")
    return [
        at["type"],
        at.get("object_type"),
        at.get("requirement", "optional"),
        bool(at.get("is_array", False)),
        at.get("profiles") or None,
        {k: v.get("caption", "") for k, v in enum.items()} if enum else None,
    ]


def main() -> None:
    src = Path(sys.argv[1])
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).with_name("ocsf-1.8.0-subset.json")
    schema = json.loads(src.read_text("utf-8"))
    classes: dict[str, Any] = {}
    todo: list[str] = []
    for name in CLASSES:
        c = schema["classes"][name]
        attrs = {n: attribute(a) for n, a in sorted(c["attributes"].items())}
        todo += [a[1] for a in attrs.values() if a[1]]
        classes[str(c["uid"])] = {
            "name": name,
            "caption": c["caption"],
            "category_uid": c.get("category_uid", 0),
            "category_name": c.get("category_name", ""),
            "profiles": c.get("profiles") or [],
            "attributes": attrs,
        }
    objects: dict[str, Any] = {}
    while todo:
        name = todo.pop()
        if name in objects:
            continue
        o = schema["objects"][name]
        attrs = {n: attribute(a) for n, a in sorted(o["attributes"].items())}
        objects[name] = {"attributes": attrs}
        todo += [a[1] for a in attrs.values() if a[1] and a[1] not in objects]
    types = {}
    for name, t in schema["dictionary"]["types"]["attributes"].items():
        types[name] = {k: t[k] for k in ("type", "regex", "range", "max_len") if k in t}
    data = {
        "version": schema["version"],
        "source": "ocsf-schema 1.8.0 compiled by ocsf-schema-compiler 1.1.1 (see README.md)",
        "types": types,
        "classes": classes,
        "objects": dict(sorted(objects.items())),
    }
    out.write_text(json.dumps(data, separators=(",", ":"), sort_keys=False) + "\n", "utf-8")
    print(f"{out}: {len(classes)} classes, {len(objects)} objects, {out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
