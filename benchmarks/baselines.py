"""What a user would write instead of m365parse: a hand-written mapping, pydantic models.

The hand-written mapping picks the ~15 fields a typical pipeline forwards from a
``json.loads`` (or ``orjson.loads``) dict.  It does less than m365parse: no type
checks, timestamps stay strings, the other columns are dropped.

The pydantic v2 models are generated from :data:`m365parse.TABLES`: the same
tables and columns, the same Python types, every field optional, pydantic's
default lax mode, and a discriminated union on ``category``.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Annotated, Any, Literal, Optional, Union

import msgspec.inspect as mi

from m365parse.tables import RECORD_TYPES, TABLES

__all__ = ["map_record", "map_alert", "pydantic_models"]


def map_record(r: dict[str, Any]) -> dict[str, Any]:
    """The fields a pipeline would forward from one streamed record (a dict)."""
    p = r["properties"]
    return {
        "table": r["category"][16:],
        "time": r.get("time"),
        "timestamp": p.get("Timestamp"),
        "action": p.get("ActionType"),
        "device_name": p.get("DeviceName"),
        "device_id": p.get("DeviceId"),
        "user": p.get("AccountName") or p.get("InitiatingProcessAccountName"),
        "domain": p.get("AccountDomain") or p.get("InitiatingProcessAccountDomain"),
        "file_name": p.get("FileName"),
        "folder_path": p.get("FolderPath"),
        "sha256": p.get("SHA256") or p.get("InitiatingProcessSHA256"),
        "command_line": p.get("ProcessCommandLine") or p.get("InitiatingProcessCommandLine"),
        "process": p.get("InitiatingProcessFileName"),
        "remote_ip": p.get("RemoteIP") or p.get("IPAddress"),
        "remote_port": p.get("RemotePort"),
        "local_ip": p.get("LocalIP"),
        "report_id": p.get("ReportId"),
    }


def map_alert(a: dict[str, Any]) -> dict[str, Any]:
    """The fields a pipeline would forward from one SIEM REST API alert (a dict)."""
    return {
        "time": a.get("AlertTime"),
        "alert_id": a.get("AlertId"),
        "title": a.get("AlertTitle"),
        "severity": a.get("Severity"),
        "category": a.get("Category"),
        "device_name": a.get("ComputerDnsName"),
        "device_id": a.get("DeviceID"),
        "user": a.get("UserName"),
        "domain": a.get("UserDomain"),
        "file_name": a.get("FileName"),
        "file_path": a.get("FilePath"),
        "sha256": a.get("Sha256"),
        "ip": a.get("IpAddress"),
        "url": a.get("Url"),
        "command_line": a.get("CommandLine"),
        "threat": a.get("ThreatName"),
    }


_SCALARS: dict[type[mi.Type], Any] = {
    mi.StrType: str,
    mi.IntType: int,
    mi.FloatType: float,
    mi.BoolType: bool,
    mi.DateTimeType: datetime,
    mi.AnyType: Any,
}


def _annotation(t: mi.Type) -> Any:
    """The pydantic annotation of a msgspec type, without its ``None`` member."""
    if isinstance(t, mi.UnionType):
        members = [_annotation(m) for m in t.types if not isinstance(m, mi.NoneType)]
        return members[0] if len(members) == 1 else Union[tuple(members)]  # noqa: UP007
    if isinstance(t, mi.DictType):
        return dict[str, Any]
    if isinstance(t, mi.ListType):
        return list[Any]
    if type(t) in _SCALARS:
        return _SCALARS[type(t)]
    raise TypeError(f"no pydantic equivalent for {t!r}")


def _fields(struct: type) -> dict[str, Any]:
    from pydantic import BaseModel, Field

    fields: dict[str, Any] = {}
    info = mi.type_info(struct)
    assert isinstance(info, mi.StructType)
    for f in info.fields:
        annotation = Optional[_annotation(f.type)]  # noqa: UP045
        if f.name.startswith("_") or hasattr(BaseModel, f.name):
            fields[f"f_{f.name.lstrip('_')}"] = (annotation, Field(None, alias=f.name))
        else:
            fields[f.name] = (annotation, None)
    return fields


@functools.cache
def pydantic_models() -> dict[str, Any]:
    """Pydantic v2 models of every table: ``{"body", "record", "records", "alerts"}`` type adapters.

    ``body`` validates an Event Hubs body, ``record`` one streamed record (a JSON
    line), ``alerts`` a JSON array of SIEM alerts.
    """
    from pydantic import ConfigDict, Field, TypeAdapter, create_model

    config = ConfigDict(extra="ignore", protected_namespaces=(), populate_by_name=True)
    envelope = {
        "time": (Optional[datetime], None),  # noqa: UP045
        "tenantId": (Optional[str], None),  # noqa: UP045
        "operationName": (Optional[str], None),  # noqa: UP045
        "TimeReceivedBySvc": (Optional[datetime], Field(None, alias="_TimeReceivedBySvc")),  # noqa: UP045
        "Tenant": (Optional[str], None),  # noqa: UP045
    }
    record_models = []
    for table in RECORD_TYPES:
        props = create_model(table, __config__=config, **_fields(TABLES[table]))
        record_models.append(
            create_model(
                f"{table}Record",
                __config__=config,
                category=(Literal[f"AdvancedHunting-{table}"], ...),
                properties=(props, ...),
                **envelope,
            )
        )
    one = Annotated[Union[tuple(record_models)], Field(discriminator="category")]  # noqa: UP007
    body = create_model("Body", __config__=config, records=(list[one], ...))
    alert = create_model("SiemAlert", __config__=config, **_fields(TABLES["SiemAlert"]))
    return {
        "body": TypeAdapter(body),
        "record": TypeAdapter(one),
        "alerts": TypeAdapter(list[alert]),
    }
