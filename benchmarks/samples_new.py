"""Write ``m365parse/samples/<Table>.json`` for the tables that have no hand-written sample.

Run ``python -m benchmarks.samples_new``.  Each sample is one Event Hubs body of 3
records whose values follow the table's columns and types (``m365parse.TABLES``)
and a vocabulary of realistic, made-up values chosen by column name (users,
hosts, addresses from the documentation ranges, hashes, GUIDs), the way the
hand-written samples are.  Spellings and JSON types are the ones real records
use (``ISP``, ``IPAddress``, arrays where the data sends arrays).  Deterministic:
the same files every run; existing samples are never overwritten.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from pathlib import Path
from typing import Any

import msgspec

import m365parse
from m365parse._values import JsonText, Timestamp

SAMPLES = Path(m365parse.__file__).resolve().parent / "samples"
TENANT = "3f2a8c1e-7b4d-4e9a-9c61-5d0b2e7f8a14"
USERS = [("avery.lin", "Avery Lin"), ("jordan.okafor", "Jordan Okafor"), ("mika.tanaka", "Mika Tanaka")]
HOSTS = ["fin-ws-0142.corp.contoso.com", "dev-lx-0007.corp.contoso.com", "srv-app-03.corp.contoso.com"]
IPS = ["203.0.113.14", "198.51.100.23", "10.20.4.17", "2001:db8:4a1c::17"]
APPS = ["Microsoft Teams", "Microsoft Exchange Online", "Microsoft SharePoint Online"]
SEVERITIES = ["Low", "Medium", "High"]

# column name fragment -> values (first match wins, in this order)
BY_NAME: list[tuple[str, list[Any]]] = [
    ("ActionType", ["Create", "Update", "Read"]),
    ("Browser", ["Edge 124.0.2478", "Chrome 124.0.6367", "Safari 17.4"]),
    ("ClientApp", ["Browser", "Mobile Apps and Desktop clients", "Browser"]),
    ("Latitude", ["50.1109", "47.6062", "34.6937"]),
    ("Longitude", ["8.6821", "-122.3321", "135.5023"]),
    ("Result", ["Success", "Failure", "Success"]),
    ("Reason", ["", "InvalidPassword", ""]),
    ("Cve", ["CVE-2024-21412", "CVE-2023-4863", "CVE-2024-3094"]),
    ("Query", ["contoso.com", "login.example.com", "api.example.com"]),
    ("Policies", ["Require MFA for admins", "Block legacy authentication", "Require compliant device"]),
    ("Policy", ["Require MFA for admins", "Block legacy authentication", "Require compliant device"]),
    ("Method", ["GET", "POST", "PATCH"]),
    ("Scope", ["User.Read", "Mail.Read", "Directory.Read.All"]),
    ("Uri", ["https://graph.microsoft.com/v1.0/users", "https://graph.microsoft.com/v1.0/me/messages", "https://graph.microsoft.com/v1.0/groups"]),
    ("Thumbprint", [hashlib.sha1(str(i).encode()).hexdigest() for i in range(3)]),
    ("Vendor", ["Contoso Ltd.", "Microsoft", "Fabrikam"]),
    ("Publisher", ["Contoso Ltd.", "Microsoft", "Fabrikam"]),
    ("SoftwareName", ["edge_chromium", "openssl", "xz_utils"]),
    ("Description", ["Remote code execution in a file handler", "Heap overflow in an image decoder", "Backdoor in a compression library"]),
    ("Risk", ["none", "low", "medium"]),
    ("Level", ["Low", "Medium", "High"]),
    ("Platform", ["Windows", "Linux", "macOS"]),
    ("Sender", ["mika.tanaka@example.com", "payroll@contoso.com", "jordan.okafor@contoso.com"]),
    ("Recipient", ["avery.lin@contoso.com", "jordan.okafor@contoso.com", "mika.tanaka@contoso.com"]),
    ("Workload", ["Exchange", "SharePoint", "Teams"]),
    ("Time", ["2026-06-12T07:02:11Z", "2026-06-13T08:15:42Z", "2026-06-14T09:30:05Z"]),
    ("Date", ["2026-06-12T07:02:11Z", "2026-06-13T08:15:42Z", "2026-06-14T09:30:05Z"]),
    ("ThreatTypes", ["Phish", "Malware", "Spam"]),
    ("Version", ["1.0.3", "2.4.1", "10.0.22631"]),
    ("Type", ["User", "Chat", "Group"]),
    ("Severity", SEVERITIES),
    ("Upn", [f"{u}@contoso.com" for u, _ in USERS]),
    ("EmailAddress", [f"{u}@contoso.com" for u, _ in USERS]),
    ("DisplayName", [n for _, n in USERS]),
    ("AccountName", [u for u, _ in USERS]),
    ("Domain", ["corp.contoso.com", "contoso.com", "example.com"]),
    ("DeviceName", HOSTS),
    ("HostName", HOSTS),
    ("IPAddress", IPS),
    ("IpAddress", IPS),
    ("IP", IPS),
    ("Url", ["https://contoso.sharepoint.example.com/sites/Finance", "https://example.com/login", "https://www.example.com/"]),
    ("Sha256", [hashlib.sha256(str(i).encode()).hexdigest() for i in range(3)]),
    ("SHA256", [hashlib.sha256(str(i).encode()).hexdigest() for i in range(3)]),
    ("Sha1", [hashlib.sha1(str(i).encode()).hexdigest() for i in range(3)]),
    ("SHA1", [hashlib.sha1(str(i).encode()).hexdigest() for i in range(3)]),
    ("Md5", [hashlib.md5(str(i).encode()).hexdigest() for i in range(3)]),
    ("MD5", [hashlib.md5(str(i).encode()).hexdigest() for i in range(3)]),
    ("FileName", ["invoice_0524.pdf", "setup.exe", "report.xlsx"]),
    ("FolderPath", ["C:\\Users\\avery.lin\\Downloads", "/usr/local/bin", "C:\\Program Files\\Contoso"]),
    ("CommandLine", ['"powershell.exe" -NoProfile -File C:\\Scripts\\sync.ps1', "/usr/bin/python3 app.py", "cmd.exe /c whoami"]),
    ("Country", ["DE", "US", "JP"]),
    ("City", ["Frankfurt am Main", "Seattle", "Osaka"]),
    ("Location", ["westeurope", "eastus", "japaneast"]),
    ("Region", ["westeurope", "eastus", "japaneast"]),
    ("OSPlatform", ["Windows11", "Linux", "macOS"]),
    ("Application", APPS),
    ("AppName", APPS),
    ("Title", ["Suspicious sign-in activity", "Unusual file download", "Possible credential theft"]),
    ("Category", ["InitialAccess", "Exfiltration", "CredentialAccess"]),
    ("Subject", ["Q2 budget review", "Your invoice is ready", "Team offsite plans"]),
    ("Status", ["Active", "Resolved", "Active"]),
    ("Name", ["contoso-prod", "finance-share", "app-frontend"]),
    ("UserAgent", ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"]),
]


INT_BY_NAME: list[tuple[str, list[int]]] = [
    ("ErrorCode", [0, 50126, 0]),
    ("Port", [443, 3389, 445]),
    ("Count", [3, 12, 1]),
    ("Size", [48211, 1048576, 512]),
    ("Length", [48211, 1048576, 512]),
    ("Duration", [120, 35, 2048]),
    ("Risk", [0, 10, 50]),
    ("Score", [12, 48, 87]),
    ("Is", [1, 0, 0]),
    ("Id", [5456, 1204, 88]),
]


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _base(name: str) -> Any:
    field = next(f for f in msgspec.structs.fields(TABLE_STRUCT[0]) if f.name == name)
    args = [a for a in getattr(field.type, "__args__", (field.type,)) if a is not type(None)]
    return args[0] if len(args) == 1 else field.type


TABLE_STRUCT: list[Any] = [None]


def value(table: str, column: str, kind: Any, i: int, rng: random.Random) -> Any:
    """A realistic value of ``column`` for record ``i``."""
    if kind is Timestamp:
        return f"2026-06-1{i + 2}T0{i + 7}:1{i}:2{i}.{rng.randrange(10**7):07d}Z"
    if kind is bool:
        return [True, False, False][i]
    if kind is int:
        for fragment, values in INT_BY_NAME:
            if fragment in column:
                return values[i]
        return [1, 2, 4][i]
    if kind is float:
        return [1.0, 4.5, 9.0][i]
    if column.endswith(("Id", "ID", "Guid")) and kind is not int:
        return _guid(rng)
    if kind is JsonText or kind is Any or kind == (int | str):
        if kind == (int | str):
            return i + 1
        return [{"Name": column, "Value": i}] if i != 1 else {"Key": column, "Count": i + 1}
    for fragment, values in BY_NAME:
        if fragment in column:
            return values[i % len(values)]
    return ["Enabled", "Default", "Contoso"][i]


def record(table: str, i: int, rng: random.Random) -> dict[str, Any]:
    struct = m365parse.TABLES[table]
    TABLE_STRUCT[0] = struct
    props: dict[str, Any] = {}
    for f in msgspec.structs.fields(struct):
        if f.name == "MachineGroup":
            continue
        if rng.random() < 0.15:
            continue  # not every column in every record, as in real feeds
        props[f.encode_name] = value(table, f.name, _base(f.name), i, rng)
    props["MachineGroup"] = ["Finance", "Servers", "Workstations"][i]
    stamp = f"2026-06-1{i + 2}T0{i + 7}:1{i}:3{i}.{rng.randrange(10**7):07d}Z"
    return {"time": stamp, "tenantId": TENANT, "operationName": "Publish", "category": f"AdvancedHunting-{table}", "properties": props}


def main() -> None:
    for table in m365parse.TABLES:
        path = SAMPLES / f"{table}.json"
        if path.exists() or table == "SiemAlert":
            continue
        rng = random.Random(table)
        records = [record(table, i, rng) for i in range(3)]
        text = '{"records": [\n' + ",\n".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in records) + "\n]}\n"
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(SAMPLES.parent.parent)}")


if __name__ == "__main__":
    main()
