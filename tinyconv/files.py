"""Atomic file writes: a reader (or a resumed run) sees the old file or the new one, never
half of one. Written next to the target, then renamed over it (same filesystem). And the
one cache folder every cached artefact lives under (`cache_root`)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def cache_root() -> Path:
    """tinyconv's cache folder (datasets, host kernel libraries, the QEMU plugin, stack
    tables, the tests' zoo models): $TINYCONV_CACHE, else $XDG_CACHE_HOME/tinyconv, else
    ~/.cache/tinyconv; a per-user folder in the temp dir where none can be created."""
    explicit = os.environ.get("TINYCONV_CACHE")
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    root = Path(explicit) if explicit else Path(base) / "tinyconv"
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError:  # no writable home
        root = Path(tempfile.gettempdir()) / f"tinyconv-{os.getuid()}"
    return root


def write_atomic(path: Path, data: bytes | str) -> None:
    # The pid keeps two processes writing the same file from sharing a temporary.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data if isinstance(data, bytes) else data.encode())
    os.replace(tmp, path)


def write_json_atomic(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=2, default=_json_default) + "\n")


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
