"""Per-epoch checkpoints, shared by the training loop and the supernet's training.

A checkpoint folder holds `epoch-NNNN/ckpt*` (a tf.train.Checkpoint: weights and optimizer
state) of the last finished epoch and `state.json` naming it (with the caller's history).
An epoch is written to `.tmp-epoch-NNNN` and renamed, anything else of that epoch follows,
state.json comes last and only then is the older epoch removed: a kill at any moment leaves
the previous epoch resumable (`clear_stale` drops what it left half-written).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import TinyconvError
from ..files import write_json_atomic

STATE_FILE = "state.json"
TMP_PREFIX = ".tmp-"


def epoch_name(epoch: int) -> str:
    return f"epoch-{epoch:04d}"


def read_state(folder: Path | None) -> dict[str, Any] | None:
    """The state.json of checkpoint folder `folder`; None where nothing was saved yet."""
    path = None if folder is None else Path(folder) / STATE_FILE
    if path is None or not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise TinyconvError(f"cannot resume: {path} is unreadable ({e})") from None


def clear_stale(folder: Path) -> None:
    """Remove what a kill in the middle of `save_epoch` left (temporary files and folders)."""
    for stale in Path(folder).glob(f"{TMP_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink()


def save_epoch(folder: Path, epoch: int, checkpoint, state: dict[str, Any],
               also: Callable[[], None] | None = None) -> None:
    """Write tf.train.Checkpoint `checkpoint` as finished `epoch`'s, then `also()` (what else
    belongs to the epoch, written atomically by it), then state.json ({"epoch", "checkpoint"}
    and `state`), then remove older epochs. Callers hold tinyconv.interrupt.saving()."""
    folder = Path(folder)
    name = epoch_name(epoch)
    tmp = folder / f"{TMP_PREFIX}{name}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    checkpoint.write(str(tmp / "ckpt"))
    final = folder / name
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    if also is not None:
        also()
    write_json_atomic(folder / STATE_FILE, {"epoch": epoch, "checkpoint": name, **state})
    for old in folder.glob("epoch-*"):  # only now is the older epoch unneeded
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)
