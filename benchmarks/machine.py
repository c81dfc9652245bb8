"""The machine a run was made on, and the resident memory of the current process.

Peak memory is read from ``/proc/self/status`` (``VmHWM``), whose high-water mark
can be reset by writing ``5`` to ``/proc/self/clear_refs`` (Linux >= 4.0), so one
process can measure the peak of one phase.  Elsewhere ``resource.getrusage``
gives the peak of the whole process.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["rss_bytes", "peak_rss_bytes", "reset_peak", "machine_info"]

_STATUS = Path("/proc/self/status")


def _status_kb(key: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_bytes() -> int | None:
    """Resident memory of this process now, or None where /proc is missing."""
    kb = _status_kb("VmRSS")
    return None if kb is None else kb * 1024


def reset_peak() -> bool:
    """Start a new peak-RSS measurement; False when only the whole-process peak is available."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def peak_rss_bytes() -> int:
    """Peak resident memory since :func:`reset_peak` (or since the process started)."""
    kb = _status_kb("VmHWM")
    if kb is not None:
        return kb * 1024
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _cpu() -> tuple[str, str | None]:
    model = platform.processor() or platform.machine()
    mhz = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "cpu MHz" and mhz is None:
                mhz = value.strip()
    except OSError:
        pass
    return model, mhz


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _git_commit(root: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _memory_total() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):
        return None


def machine_info() -> dict[str, Any]:
    """CPU, cores, memory, OS, Python and library versions, the commit of the checkout."""
    import m365parse

    model, mhz = _cpu()
    root = Path(m365parse.__file__).resolve().parent.parent
    return {
        "cpu": model,
        "cpu_mhz": mhz,
        "cores": os.cpu_count(),
        "memory_bytes": _memory_total(),
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "versions": {
            "m365parse": getattr(m365parse, "__version__", None),
            "msgspec": _version("msgspec"),
            "orjson": _version("orjson"),
            "pydantic": _version("pydantic"),
            "pydantic-core": _version("pydantic-core"),
        },
        "commit": _git_commit(root),
    }
