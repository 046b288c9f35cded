"""Device health for heartbeats, read from Linux's /proc and /sys; anything unreadable is simply None."""

from __future__ import annotations

import os
import platform
import shutil
from importlib import metadata
from pathlib import Path

THERMAL_ZONE = Path("/sys/class/thermal/thermal_zone0/temp")  # the SoC sensor on a Raspberry Pi
MEMINFO = Path("/proc/meminfo")
REPORTED_PACKAGES = ("touchpoints", "nfcpy", "bleak", "paho-mqtt", "pydantic")


def agent_version() -> str:
    try:
        return metadata.version("touchpoints")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def cpu_temp_c(path: Path = THERMAL_ZONE) -> float | None:
    try:
        return int(path.read_text().strip()) / 1000  # millidegrees Celsius
    except (OSError, ValueError):
        return None


def load1() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def mem_used_pct(path: Path = MEMINFO) -> float | None:
    try:
        fields = dict(line.split(":", 1) for line in path.read_text().splitlines() if ":" in line)
        total = int(fields["MemTotal"].split()[0])
        available = int(fields["MemAvailable"].split()[0])
    except (OSError, KeyError, ValueError):
        return None
    return round(100 * (total - available) / total, 1) if total else None


def disk_free_mb(path: str | Path) -> float | None:
    try:
        return round(shutil.disk_usage(path).free / 1_048_576, 1)
    except OSError:
        return None


def versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "kernel": platform.release()}
    for package in REPORTED_PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found
