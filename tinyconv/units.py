"""Byte sizes as embedded engineers write them: "320kB", "320KiB", "1MB", "0.5MB", "327680".

kB and KiB both mean 1024 bytes (datasheets say "320 Kbytes" for 320 * 1024).
"""

import re

from .errors import TinyconvError

_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1024**2, "mb": 1024**2,
          "mib": 1024**2}
_PATTERN = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*$")


def parse_bytes(text: str | int) -> int:
    if isinstance(text, int):
        return text
    match = _PATTERN.match(str(text))
    unit = match.group(2).lower() if match else None
    if not match or unit not in _UNITS:
        raise TinyconvError(f"cannot read size {text!r}: use e.g. 320kB, 512KiB, 1MB or 327680")
    value = float(match.group(1)) * _UNITS[unit]
    if value != int(value) or value <= 0:
        raise TinyconvError(f"size {text!r} is not a positive whole number of bytes")
    return int(value)


def size_argument(n: int) -> str:
    """`n` bytes as a command line's SIZE that parse_bytes reads back exactly: "1MB", "64kB"."""
    for unit, scale in (("MB", 1024**2), ("kB", 1024)):
        if n % scale == 0:
            return f"{n // scale}{unit}"
    return str(n)


def format_bytes(n: int) -> str:
    if n >= 1024**2:
        return f"{n / 1024**2:.2f} MiB"
    if n >= 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n} B"
