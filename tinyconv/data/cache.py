"""Decoded arrays cached on disk, so 60,000 JPEG decodes happen once per machine, not per run.

Cache entries live in $TINYCONV_CACHE or ~/.cache/tinyconv, under `datasets/<key>/`, one
`.npy` per array, opened memory-mapped: a limited load reads only the rows it selects. A key
names the source file's size and modification time, so a replaced source is decoded again.
An entry is written into a temporary folder and renamed (a crash never leaves a half-written
entry), and a lock file makes concurrent processes (pytest -n 2) wait for one decoder
instead of decoding twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..files import cache_root

FORMAT = 1  # bump when a loader changes what it stores


def cache_dir() -> Path:
    return cache_root() / "datasets"


def source_key(name: str, *sources: Path) -> str:
    digest = hashlib.sha256(f"{FORMAT}".encode())
    for src in sources:
        st = src.stat()
        digest.update(f"{src.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    return f"{name}-{digest.hexdigest()[:16]}"


def is_cached(key: str) -> bool:
    return (cache_dir() / key).is_dir()


def cached_arrays(key: str, build: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays stored under `key` (read-only memory maps), building and storing them on
    the first call. If the cache cannot be written (read-only home, full disk), the freshly
    built arrays are returned anyway."""
    folder = cache_dir()
    entry = folder / key
    loaded = _load(entry)
    if loaded is not None:
        return loaded
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = open(folder / f"{key}.lock", "w")
    except OSError:
        return build()
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        loaded = _load(entry)  # another process may have built it while we waited
        if loaded is not None:
            return loaded
        shutil.rmtree(entry, ignore_errors=True)  # a corrupt entry (we hold the lock)
        arrays = build()
        tmp = None
        try:
            tmp = Path(tempfile.mkdtemp(dir=folder, prefix=f".{key}."))
            for name, array in arrays.items():
                np.save(tmp / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
            tmp.chmod(0o755)  # mkdtemp makes it private; the cache is shared data
            os.rename(tmp, entry)
        except OSError:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
            return arrays
        return _load(entry) or arrays


def _load(entry: Path) -> dict[str, np.ndarray] | None:
    if not entry.is_dir():
        return None
    try:
        return {p.stem: np.load(p, mmap_mode="r", allow_pickle=False)
                for p in sorted(entry.glob("*.npy"))} or None
    except (OSError, ValueError, EOFError):
        return None  # truncated or corrupt: the caller rebuilds it
