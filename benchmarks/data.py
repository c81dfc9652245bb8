"""Deterministic benchmark data, generated from the package's own sample records.

Every record starts from one of the 3 sample records of its table in
``m365parse/samples/`` (so envelope key order, column order and the form of the
JSON-in-string columns vary the way the samples do), and gets its own values:
timestamps with Kusto's 7 fractional digits, devices, users, files and hashes drawn
from seeded pools, long command lines, addresses, ports, ids, and JSON-in-string
``AdditionalFields`` with their numbers changed.  The same seed gives the same
bytes on every machine and Python version.

Tables are mixed in the proportions of :data:`MIX`: network, process and file
events dominate a real Defender stream; alerts and email are rare.
"""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

import m365parse
from m365parse.tables import DOCUMENTED_TYPES

from . import api_shapes
from .api_shapes import SHAPES as API_SHAPES

__all__ = ["MIX", "SHAPES", "Generator", "encode_units", "join_units", "split_units"]

SAMPLES = Path(m365parse.__file__).resolve().parent / "samples"

#: Share of each table in the generated stream, in percent.
MIX: dict[str, float] = {
    "DeviceNetworkEvents": 24.5,
    "DeviceProcessEvents": 16.0,
    "DeviceFileEvents": 16.0,
    "DeviceRegistryEvents": 8.0,
    "DeviceImageLoadEvents": 8.0,
    "DeviceEvents": 8.0,
    "DeviceLogonEvents": 4.0,
    "CloudAppEvents": 3.0,
    "DeviceFileCertificateInfo": 2.0,
    "IdentityLogonEvents": 2.0,
    "DeviceNetworkInfo": 1.5,
    "IdentityQueryEvents": 1.5,
    "EmailEvents": 1.2,
    "DeviceInfo": 1.0,
    "AlertEvidence": 0.7,
    "EmailUrlInfo": 0.6,
    "IdentityDirectoryEvents": 0.5,
    "EmailAttachmentInfo": 0.4,
    "AlertInfo": 0.3,
    "IdentityInfo": 0.3,
    "UrlClickEvents": 0.3,
    "EmailPostDeliveryEvents": 0.2,
}

#: Input shapes: name -> what a unit of input is.
SHAPES = {
    "body": 'Event Hubs message bodies {"records": [...]}',
    "lines": "JSON lines (Azure Storage blobs), in blocks",
    "siem": "SIEM REST API responses: JSON arrays of alerts",
    **API_SHAPES,
}

_BASE_NS = 1_715_670_000 * 1_000_000_000  # 2024-05-14T07:00:00Z
_TICK = 100  # Kusto keeps 100 ns ticks

# Datetime columns that are not "around the event" (certificate dates, account creation).
_FIXED_TIMES = frozenset(
    {
        "CertificateCreationTime",
        "CertificateExpirationTime",
        "CertificateCountersignatureTime",
        "CreatedDateTime",
        "DeletedDateTime",
    }
)
_IPV4_COLUMNS = frozenset(
    {
        "RemoteIP",
        "LocalIP",
        "IPAddress",
        "IpAddress",
        "FileOriginIP",
        "RequestSourceIP",
        "DestinationIPAddress",
        "SenderIPv4",
        "PublicIP",
    }
)
_PORT_COLUMNS = frozenset({"RemotePort", "LocalPort", "Port", "DestinationPort", "RequestSourcePort"})
_PID_COLUMNS = frozenset({"ProcessId", "InitiatingProcessId", "InitiatingProcessParentId"})

# Column (or the rest of an InitiatingProcess* column) -> key of a file of the pool.
_FILE_KEYS = {
    "FileName": "name",
    "FolderPath": "path",
    "SHA1": "sha1",
    "Sha1": "sha1",
    "FileHash": "sha1",
    "SHA256": "sha256",
    "Sha256": "sha256",
    "MD5": "md5",
    "Md5": "md5",
    "FilePath": "folder",
}
_ACCOUNT_KEYS = {
    "Name": "name",
    "Domain": "domain",
    "Sid": "sid",
    "Upn": "upn",
    "ObjectId": "oid",
    "DisplayName": "display",
    "Id": "oid",
}

_DEPARTMENTS = ("fin", "hr", "eng", "ops", "sales", "legal", "it", "mkt", "rnd", "sec")
_SERVER_ROLES = ("sql", "web", "dc", "file", "app", "exch", "build", "jump")
_GROUPS = ("Finance Workstations", "Tier 0 Servers", "Engineering", "Default", "Kiosks", "Developers")
_FIRST = ("avery", "jordan", "sam", "noor", "li", "maria", "kenji", "ola", "priya", "tomas", "elif", "dara")
_LAST = ("lin", "okafor", "schmidt", "garcia", "novak", "haddad", "tanaka", "berg", "rossi", "kowalski")
_EXECUTABLES = (
    ("powershell.exe", "C:\\Windows\\System32\\WindowsPowerShell\\v1.0"),
    ("cmd.exe", "C:\\Windows\\System32"),
    ("rundll32.exe", "C:\\Windows\\System32"),
    ("svchost.exe", "C:\\Windows\\System32"),
    ("msedge.exe", "C:\\Program Files (x86)\\Microsoft\\Edge\\Application"),
    ("chrome.exe", "C:\\Program Files\\Google\\Chrome\\Application"),
    ("OUTLOOK.EXE", "C:\\Program Files\\Microsoft Office\\root\\Office16"),
    ("WINWORD.EXE", "C:\\Program Files\\Microsoft Office\\root\\Office16"),
    ("sqlservr.exe", "C:\\Program Files\\Microsoft SQL Server\\MSSQL16.MSSQLSERVER\\MSSQL\\Binn"),
    ("MsMpEng.exe", "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24040.4-0"),
    ("python.exe", "C:\\Users\\{user}\\AppData\\Local\\Programs\\Python\\Python311"),
    ("Teams.exe", "C:\\Users\\{user}\\AppData\\Local\\Microsoft\\Teams\\current"),
    ("wmiprvse.exe", "C:\\Windows\\System32\\wbem"),
    ("msiexec.exe", "C:\\Windows\\System32"),
    ("git.exe", "C:\\Program Files\\Git\\cmd"),
    ("node.exe", "C:\\Program Files\\nodejs"),
)
_DOCUMENTS = (
    "Rechnung_Mai_2024.docm",
    "Budget_Q2_final_v3.xlsx",
    "setup_x64_4.2.1.msi",
    "invoice-88213.pdf",
    "report.html",
    "build.log",
    "id_rsa.pub",
    "cache_data_0",
    "~$Quarterly Review.pptx",
    "update_helper.bat",
)


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def _guid(rng: random.Random) -> str:
    h = _hex(rng, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[rng.getrandbits(2)]}{h[17:20]}-{h[20:]}"


def format_ticks(ns: int, digits: int = 7) -> str:
    """ISO 8601 UTC with ``digits`` fractional digits, trailing zeros trimmed as Kusto does."""
    seconds, frac = divmod(ns, 1_000_000_000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    fraction = f"{frac:09d}"[:digits].rstrip("0")
    return f"{text}.{fraction}Z" if fraction else text + "Z"


def _load_samples() -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    streamed = {}
    for table in MIX:
        body = json.loads((SAMPLES / f"{table}.json").read_text(encoding="utf-8"))
        streamed[table] = body["records"]
    alerts = json.loads((SAMPLES / "SiemAlert.json").read_text(encoding="utf-8"))
    return streamed, alerts


class Generator:
    """Seeded source of realistic records; the n-th record depends only on the seed."""

    def __init__(self, seed: int = 1) -> None:
        self.seed = seed
        self._rng = random.Random(seed)
        self._templates, self._alert_templates = _load_samples()
        self._tables = list(MIX)
        self._weights = [MIX[t] for t in self._tables]
        self._json_cache: dict[str, Any] = {}
        self._report_id = 40_000
        self._alert_count = 0
        self._clock = _BASE_NS
        self._build_pools()

    # --- pools of coherent entities ------------------------------------------------

    def _build_pools(self) -> None:
        rng = self._rng
        self.users = []
        for i in range(240):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            name = f"{first}.{last}" if i % 9 else f"svc-{rng.choice(_SERVER_ROLES)}{i:02d}"
            self.users.append(
                {
                    "name": name,
                    "domain": "contoso",
                    "sid": f"S-1-5-21-1004336348-1177238915-682003330-{1100 + i}",
                    "upn": f"{name}@contoso.com",
                    "oid": _guid(rng),
                    "display": f"{first.title()} {last.title()}",
                }
            )
        self.devices = []
        for i in range(400):
            if i % 5:
                name = f"ws-{rng.choice(_DEPARTMENTS)}-{rng.randrange(10000):04d}.corp.contoso.com"
            else:
                name = f"srv-{rng.choice(_SERVER_ROLES)}-{i:02d}.corp.contoso.com"
            self.devices.append(
                {
                    "name": name,
                    "id": _hex(rng, 40),
                    "group": rng.choice(_GROUPS),
                    "ip": f"10.{rng.randrange(16, 32)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
                }
            )
        self.files = []
        for i in range(1500):
            user = rng.choice(self.users)["name"]
            if i % 3:
                exe, folder = rng.choice(_EXECUTABLES)
                folder = folder.format(user=user)
            else:
                exe = rng.choice(_DOCUMENTS)
                folder = rng.choice(
                    (
                        f"C:\\Users\\{user}\\Downloads",
                        f"C:\\Users\\{user}\\AppData\\Local\\Temp\\{_hex(rng, 8)}",
                        f"C:\\Users\\{user}\\OneDrive - Contoso\\Documents\\Projects\\{rng.randrange(2019, 2025)}",
                        "C:\\ProgramData\\Package Cache\\{" + _guid(rng).upper() + "}",
                    )
                )
            self.files.append(
                {
                    "name": exe,
                    "folder": folder,
                    "path": f"{folder}\\{exe}",
                    "sha1": _hex(rng, 40),
                    "sha256": _hex(rng, 64),
                    "md5": _hex(rng, 32),
                    "size": rng.randrange(2_000, 90_000_000),
                }
            )
        self.executables = [f for f in self.files if f["name"].lower().endswith(".exe")]
        self.urls = [
            f"https://{rng.choice(('cdn', 'files', 'login', 'api', 'updates', 'static'))}."
            f"{rng.choice(('example.com', 'example.net', 'example.org', 'contoso.com'))}"
            f"/{_hex(rng, 6)}/{rng.choice(('a.ps1', 'index.html', 'download', 'v2/token', 'inv.docm'))}"
            for _ in range(300)
        ]

    def _command_line(self, exe: dict[str, Any]) -> str:
        """A command line of realistic length: mostly short, sometimes several kB."""
        rng = self._rng
        name = exe["name"].lower()
        roll = rng.random()
        if name == "powershell.exe" or roll < 0.08:
            payload = base64.b64encode(rng.randbytes(rng.choice((90, 360, 1200)))).decode()
            return f"powershell.exe -NoProfile -NonInteractive -WindowStyle Hidden -ExecutionPolicy Bypass -EncodedCommand {payload}"
        if name in ("msedge.exe", "chrome.exe", "teams.exe"):
            return (
                f'"{exe["path"]}" --type=renderer --enable-features=msEdgeSessionRestore,WebView2 '
                f"--lang=en-US --device-scale-factor=1 --num-raster-threads=4 --renderer-client-id={rng.randrange(5, 900)} "
                f"--launch-time-ticks={rng.getrandbits(36)} --field-trial-handle={rng.randrange(1000, 9999)},i,"
                f"{rng.getrandbits(60)},{rng.getrandbits(60)},262144 --mojo-platform-channel-handle={rng.randrange(1000, 9999)} /prefetch:1"
            )
        if name == "svchost.exe":
            return f"C:\\Windows\\system32\\svchost.exe -k {rng.choice(('netsvcs', 'LocalService', 'DcomLaunch', 'NetworkService'))} -p -s {rng.choice(('Schedule', 'BITS', 'Winmgmt', 'Dnscache', 'LanmanWorkstation'))}"
        if name == "cmd.exe":
            return f'"cmd.exe" /c "{rng.choice(self.files)["path"]}" {rng.randrange(100)} > NUL 2>&1'
        if name == "rundll32.exe":
            return f"rundll32.exe {rng.choice(self.files)['path']},{rng.choice(('DllRegisterServer', 'Control_RunDLL', 'MiniDump'))} {rng.randrange(4, 9000)}"
        if roll < 0.4:
            return f'"{exe["path"]}"'
        return f'"{exe["path"]}" {rng.choice(("/quiet", "--update", "-Embedding", "/n", "--config"))} "{rng.choice(self.files)["path"]}"'

    def _ipv4(self) -> str:
        rng = self._rng
        net = rng.choice(("192.0.2", "198.51.100", "203.0.113", "10.20", "10.21"))
        if net.count(".") == 1:
            return f"{net}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        return f"{net}.{rng.randrange(1, 255)}"

    def _vary_json(self, value: Any) -> Any:
        """The value with its numbers changed and its structure kept."""
        rng = self._rng
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int):
            return rng.randrange(0, max(value, 1) * 2 + 2)
        if isinstance(value, dict):
            return {k: self._vary_json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._vary_json(v) for v in value]
        return value

    def _vary_json_text(self, value: str) -> str:
        parsed = self._json_cache.get(value)
        if parsed is None:
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = value
            self._json_cache[value] = parsed
        if isinstance(parsed, str):
            return value
        return json.dumps(self._vary_json(parsed), separators=(",", ":"))

    # --- records ------------------------------------------------------------------

    def _properties(self, table: str, template: dict[str, Any], event_ns: int) -> dict[str, Any]:
        rng = self._rng
        kinds = DOCUMENTED_TYPES[table]
        device = rng.choice(self.devices)
        user = rng.choice(self.users)
        actor = user if rng.random() < 0.8 else rng.choice(self.users)
        file = rng.choice(self.files)
        proc = rng.choice(self.executables)
        parent = rng.choice(self.executables)
        out: dict[str, Any] = {}
        for column, value in template.items():
            kind = kinds.get(column)
            if value is None or value == "" or isinstance(value, bool):
                out[column] = value
            elif kind == "datetime":
                if column == "Timestamp":
                    out[column] = format_ticks(event_ns, rng.choice((7, 7, 7, 7, 3, 1)))
                elif column in _FIXED_TIMES:
                    out[column] = value
                else:
                    out[column] = format_ticks(event_ns - rng.randrange(10**5, 8 * 3600 * 10**9, _TICK))
            elif column == "ReportId" and isinstance(value, int):
                self._report_id += rng.randrange(1, 40)
                out[column] = self._report_id
            elif column in _PORT_COLUMNS and isinstance(value, int):
                out[column] = value if value < 1024 and rng.random() < 0.6 else rng.randrange(49152, 65535)
            elif column in _PID_COLUMNS and isinstance(value, int):
                out[column] = rng.randrange(4, 40_000, 4)
            elif isinstance(value, int):
                out[column] = rng.randrange(0, max(value, 0) * 2 + 2)
            elif not isinstance(value, str):  # a JSON-in-string column sent as object or array
                out[column] = self._vary_json(value)
            else:
                out[column] = self._string(column, value, device, user, actor, file, proc, parent)
        return out

    def _string(
        self,
        column: str,
        value: str,
        device: dict[str, Any],
        user: dict[str, Any],
        actor: dict[str, Any],
        file: dict[str, Any],
        proc: dict[str, Any],
        parent: dict[str, Any],
    ) -> str:
        rng = self._rng
        if column in ("DeviceName", "ComputerDnsName"):
            return str(device["name"])
        if column in ("DeviceId", "DeviceID"):
            return str(device["id"])
        if column == "MachineGroup":
            return str(device["group"])
        if column in _IPV4_COLUMNS and "." in value:
            return device["ip"] if column == "LocalIP" else self._ipv4()
        if column.startswith("InitiatingProcessAccount") or column.startswith("Account"):
            who = actor if column.startswith("Initiating") else user
            field = column.removeprefix("InitiatingProcess").removeprefix("Account")
            if field in _ACCOUNT_KEYS:
                return str(who[_ACCOUNT_KEYS[field]])
            return value
        if column.startswith("InitiatingProcessParent"):
            return str(parent["name"]) if column.endswith("FileName") else value
        if column.startswith("InitiatingProcess"):
            rest = column.removeprefix("InitiatingProcess")
            if rest == "CommandLine":
                return self._command_line(proc)
            return self._file_value(rest, proc, value)
        if column == "ProcessCommandLine":
            return self._command_line(file)
        if column in ("ProcessUniqueId",):
            return str(rng.getrandbits(50))
        if column in ("RemoteUrl", "Url", "FileOriginUrl"):
            return rng.choice(self.urls)
        if column in ("AdditionalFields", "AttackTechniques", "RawEventData", "ActivityObjects", "LoggedOnUsers"):
            return self._vary_json_text(value)
        return self._file_value(column, file, value)

    @staticmethod
    def _file_value(column: str, file: dict[str, Any], default: str) -> str:
        key = _FILE_KEYS.get(column)
        return str(file[key]) if key is not None else default

    def record(self) -> dict[str, Any]:
        """The next streamed record, as a dict in its template's key order."""
        rng = self._rng
        table = rng.choices(self._tables, self._weights)[0]
        template = rng.choice(self._templates[table])
        self._clock += rng.randrange(10**5, 5 * 10**7, _TICK)  # 0.1-50 ms between events
        event_ns = self._clock
        received_ns = event_ns + rng.randrange(10**9, 90 * 10**9, _TICK)
        out: dict[str, Any] = {}
        for key, value in template.items():
            if key == "properties":
                out[key] = self._properties(table, value, event_ns)
            elif key in ("time", "_TimeReceivedBySvc"):
                out[key] = format_ticks(received_ns)
            else:
                out[key] = value
        return out

    def alert(self) -> dict[str, Any]:
        """The next SIEM REST API alert."""
        rng = self._rng
        template = rng.choice(self._alert_templates)
        self._clock += rng.randrange(10**8, 10**10, _TICK)
        self._alert_count += 1
        device, user, file = rng.choice(self.devices), rng.choice(self.users), rng.choice(self.files)
        alert_id = f"da{rng.getrandbits(60):018d}_{rng.randrange(-(2**31), 2**31)}"
        out: dict[str, Any] = {}
        for key, value in template.items():
            if key == "AlertTime":
                out[key] = format_ticks(self._clock)
            elif key == "LastProcessedTimeUtc":
                out[key] = format_ticks(self._clock + rng.randrange(10**9, 300 * 10**9, _TICK))
            elif key == "AlertId":
                out[key] = alert_id
            elif key == "FullId":
                out[key] = f"{alert_id}:{_hex(rng, 44)}="
            elif key in ("LinkToWDATP", "LinkToMTP", "IncidentLinkToWDATP", "IncidentLinkToMTP") and value:
                out[key] = value.replace(template["AlertId"], alert_id)
            elif key == "ReportID":
                out[key] = 1_053_729_833 + self._alert_count
            elif key == "MachineName":
                out[key] = device["name"].split(".", 1)[0]
            elif key in ("UserName",):
                out[key] = user["name"]
            elif key == "LogOnUsers":
                out[key] = f"CONTOSO\\{user['name']}"
            elif key == "InternalIPv4List":
                out[key] = f"{device['ip']};{self._ipv4()}"
            elif key == "CommandLine" and value:
                out[key] = self._command_line(file)
            elif isinstance(value, str) and value:
                out[key] = self._string(key, value, device, user, user, file, file, file)
            else:
                out[key] = value
        return out


def encode_units(shape: str, records: int, batch_size: int, seed: int = 1) -> Iterator[bytes]:
    """The input of a shape as units of ``batch_size`` records each (the last may be shorter).

    ``body``: one Event Hubs body per unit; ``lines``: a block of JSON lines per
    unit, each line ending with ``\\n``; ``siem``: one JSON array of alerts per unit.
    """
    gen = Generator(seed)
    encode = msgspec.json.encode
    left = records
    while left > 0:
        n = min(batch_size, left)
        left -= n
        if shape == "body":
            yield b'{"records":[' + b",".join(encode(gen.record()) for _ in range(n)) + b"]}"
        elif shape == "lines":
            yield b"".join(encode(gen.record()) + b"\n" for _ in range(n))
        elif shape == "siem":
            yield b"[" + b",".join(encode(gen.alert()) for _ in range(n)) + b"]"
        elif shape in API_SHAPES:
            yield from api_shapes.encode(shape, n, n, seed + left)
        else:
            raise ValueError(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}")


def join_units(shape: str, units: list[bytes]) -> bytes:
    """Units as one file: one unit per line (bodies and arrays), or the lines themselves."""
    return b"".join(units) if shape == "lines" else b"\n".join(units) + b"\n"


def split_units(shape: str, data: bytes, batch_size: int) -> list[bytes]:
    """The units of a file written by :func:`join_units`."""
    if shape != "lines":
        return [unit for unit in data.split(b"\n") if unit]
    lines = data.splitlines(keepends=True)
    return [b"".join(lines[i : i + batch_size]) for i in range(0, len(lines), batch_size)]
