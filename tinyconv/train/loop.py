"""The training loop: cosine LR with warmup, a checkpoint every epoch, resume, early stopping.

Each epoch is one `model.fit` call on a tf.data pipeline shuffled with `seed + epoch`, so a
resumed run sees the same batches the uninterrupted one would have. After every finished
epoch the model weights, the optimizer state (moments and step counter, which also drives
the LR schedule) and the history go to `checkpoint_dir`, written to a temporary folder and
renamed: a kill at any moment loses at most the epoch in progress.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import TinyconvError
from ..files import write_json_atomic

STATE_FILE = "state.json"
BEST_WEIGHTS = "best.weights.h5"


@dataclass
class History:
    history: dict[str, list[float]] = field(default_factory=dict)  # per-epoch Keras logs
    epochs_run: int = 0              # epochs finished, resumed ones included
    resumed_from_epoch: int = 0      # epochs already done when this call started
    stopped_early: bool = False
    best_epoch: int = 0              # 1-based epoch with the best val accuracy
    best_val_accuracy: float = float("nan")
    epoch_seconds: list[float] = field(default_factory=list)

    @property
    def seconds_per_epoch(self) -> float:
        return float(np.mean(self.epoch_seconds)) if self.epoch_seconds else float("nan")

    def to_json(self) -> dict[str, Any]:
        return {"history": self.history, "epochs_run": self.epochs_run,
                "best_epoch": self.best_epoch, "best_val_accuracy": self.best_val_accuracy,
                "epoch_seconds": self.epoch_seconds, "stopped_early": self.stopped_early}


def ends_in_softmax(model) -> bool:
    """Whether the model outputs probabilities (the zoo's classifiers end in Softmax)."""
    from ..keras_compat import keras

    last = model.layers[-1]
    last = getattr(last, "layer", last)  # tfmot's QuantizeWrapper around the real layer
    if isinstance(last, keras.layers.Softmax):
        return True
    activation = getattr(last, "activation", None)
    return getattr(activation, "__name__", "") == "softmax"


def cosine_schedule(learning_rate: float, total_steps: int, warmup_steps: int):
    """Linear warmup to `learning_rate`, then cosine decay to 0 at `total_steps`."""
    from ..keras_compat import keras, tf

    class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            step = tf.cast(step, tf.float32)
            warm = tf.maximum(float(warmup_steps), 1.0)
            total = float(max(total_steps, warmup_steps + 1))
            progress = tf.clip_by_value((step - warmup_steps) / (total - warmup_steps), 0.0, 1.0)
            cosine = 0.5 * learning_rate * (1.0 + tf.cos(math.pi * progress))
            return tf.where(step < warmup_steps, learning_rate * (step + 1.0) / warm, cosine)

        def get_config(self):
            return {"learning_rate": learning_rate, "total_steps": total_steps,
                    "warmup_steps": warmup_steps}

    return WarmupCosine()


def compile_model(model, learning_rate) -> None:
    """Adam + sparse cross-entropy (from logits unless the model ends in Softmax)."""
    from ..keras_compat import keras

    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=not ends_in_softmax(model)),
                  metrics=["accuracy"])


def train_pipeline(dataset, batch_size: int, seed: int, epoch: int, augment: bool):
    """The shuffled (and, with `augment`, augmented) batches of one epoch as a tf.data pipeline.

    Order and augmentation depend only on (seed, epoch), so a resumed run replays the
    same batches. The augmentation policy is the dataset's own (no flips for glyphs)."""
    from ..data import as_tf_dataset

    policy = getattr(dataset, "augmentation", True) if augment else None
    return as_tf_dataset(dataset.x_train, dataset.y_train, batch_size, shuffle=True,
                         augment=policy, seed=seed, initial_epoch=epoch)


def on_terminal() -> bool:
    """Whether stdout is a terminal: per-step progress bars only then (redirected to a file
    or a pipe, they would be thousands of lines per epoch)."""
    import sys
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _format_logs(logs: dict | None) -> str:
    return "  ".join(f"{k} {v:.4f}" for k, v in (logs or {}).items())


class EpochProgress:
    """Progress of one `fit` epoch headed "<label> e/E" (fit's own would say "Epoch 1/1"):
    on a terminal a per-step bar, then the epoch's metrics; otherwise one line per epoch."""

    def __new__(cls, epoch: int, epochs: int, steps: int, label: str = "epoch"):
        from ..keras_compat import keras

        bars = on_terminal()

        class Callback(keras.callbacks.Callback):
            def on_epoch_begin(self, _epoch, logs=None):
                self.started = time.perf_counter()
                if bars:
                    print(f"{label} {epoch + 1}/{epochs}", flush=True)
                    self.bar = keras.utils.Progbar(steps, stateful_metrics=["loss", "accuracy"])

            def on_train_batch_end(self, batch, logs=None):
                if bars:
                    self.bar.update(batch + 1, [(k, v) for k, v in (logs or {}).items()])

            def on_epoch_end(self, _epoch, logs=None):
                seconds = time.perf_counter() - self.started
                head = "" if bars else f"{label} {epoch + 1}/{epochs}: "
                print(f"  {head}{_format_logs(logs)}  ({seconds:.0f} s)", flush=True)

        return Callback()


def _checkpoint(model):
    from ..keras_compat import tf

    return tf.train.Checkpoint(model=model, optimizer=model.optimizer)


def _save_epoch(checkpoint_dir: Path, model, epoch: int, hist: History, is_best: bool) -> None:
    """Weights + optimizer of finished `epoch` (1-based), then state.json pointing at them
    (a Ctrl-C meanwhile exits once they are saved: tinyconv.interrupt)."""
    from ..interrupt import saving

    with saving():
        _write_epoch(checkpoint_dir, model, epoch, hist, is_best)


def _write_epoch(checkpoint_dir: Path, model, epoch: int, hist: History, is_best: bool) -> None:
    name = f"epoch-{epoch:04d}"
    tmp = checkpoint_dir / f".tmp-{name}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    _checkpoint(model).write(str(tmp / "ckpt"))
    final = checkpoint_dir / name
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    if is_best:
        best_tmp = checkpoint_dir / f".tmp-{BEST_WEIGHTS}"
        model.save_weights(str(best_tmp))
        os.replace(best_tmp, checkpoint_dir / BEST_WEIGHTS)
    write_json_atomic(checkpoint_dir / STATE_FILE, {"epoch": epoch, "checkpoint": name, **hist.to_json()})
    # Only now is the older epoch unneeded.
    for old in checkpoint_dir.glob("epoch-*"):
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)


def read_state(checkpoint_dir: Path | None) -> dict[str, Any] | None:
    if checkpoint_dir is None or not (checkpoint_dir / STATE_FILE).exists():
        return None
    try:
        return json.loads((checkpoint_dir / STATE_FILE).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise TinyconvError(f"cannot resume: {checkpoint_dir / STATE_FILE} is unreadable ({e})") from None


def _restore(checkpoint_dir: Path, model, state: dict[str, Any]) -> History:
    path = checkpoint_dir / state["checkpoint"] / "ckpt"
    # Create the optimizer's slot variables first so they restore now, not lazily.
    model.optimizer.build(model.trainable_variables)
    try:
        _checkpoint(model).read(str(path)).assert_existing_objects_matched()
    except (AssertionError, ValueError, OSError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise TinyconvError(f"cannot resume from {path}: the checkpoint does not match this model ({first})") from None
    return History(history={k: list(v) for k, v in state["history"].items()}, epochs_run=int(state["epoch"]),
                   resumed_from_epoch=int(state["epoch"]), stopped_early=bool(state.get("stopped_early")),
                   best_epoch=int(state.get("best_epoch", 0)),
                   best_val_accuracy=float(state.get("best_val_accuracy", float("nan"))),
                   epoch_seconds=list(state.get("epoch_seconds", [])))


def fit(model, dataset, *, epochs: int, batch_size: int, learning_rate: float, seed: int,
        checkpoint_dir: Path | None = None, resume: bool = False, progress: bool = True,
        patience: int | None = None, warmup_epochs: float = 1.0, augment: bool = False) -> History:
    """Train `model` on `dataset` (fields x_train, y_train, x_val, y_val) for up to `epochs`.

    With `checkpoint_dir`, every finished epoch is saved there; `resume=True` continues from
    the last saved epoch (the model must be built the same way). `patience` stops when val
    accuracy has not improved for that many epochs; the best epoch's weights are restored
    at the end. The model is (re)compiled here with Adam and the warmup-cosine schedule.
    """
    from ..keras_compat import tf

    steps = max(1, math.ceil(len(dataset.x_train) / batch_size))
    compile_model(model, cosine_schedule(learning_rate, epochs * steps, int(round(warmup_epochs * steps))))
    hist = History()
    best_weights = None
    if checkpoint_dir is not None:
        checkpoint_dir = Path(checkpoint_dir)
        checkpoint_dir.mkdir(parents=True, exist_ok=True)
        for stale in checkpoint_dir.glob(".tmp-*"):  # left by a kill mid-save
            shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink()
        state = read_state(checkpoint_dir) if resume else None
        if state is not None:
            hist = _restore(checkpoint_dir, model, state)
            if progress:
                print(f"resuming after epoch {hist.epochs_run}", flush=True)

    val = tf.data.Dataset.from_tensor_slices((dataset.x_val, dataset.y_val)).batch(max(batch_size, 256))
    start_epoch = hist.epochs_run
    if hist.stopped_early:
        start_epoch = epochs  # an early-stopped run is finished: do not train on
    for epoch in range(start_epoch, epochs):
        tf.random.set_seed(seed + epoch)
        train_ds = train_pipeline(dataset, batch_size, seed, epoch, augment)
        callbacks = [EpochProgress(epoch, epochs, steps)] if progress else []
        started = time.perf_counter()
        logs = model.fit(train_ds, validation_data=val, epochs=1, verbose=0, callbacks=callbacks).history
        hist.epoch_seconds.append(round(time.perf_counter() - started, 3))
        for key, values in logs.items():
            hist.history.setdefault(key, []).append(float(values[-1]))
        hist.epochs_run = epoch + 1
        val_acc = hist.history.get("val_accuracy", [float("nan")])[-1]
        is_best = not hist.best_val_accuracy >= val_acc  # also true while best is NaN
        if is_best:
            hist.best_val_accuracy, hist.best_epoch = val_acc, epoch + 1
            if checkpoint_dir is None:
                best_weights = model.get_weights()
        if patience is not None and hist.epochs_run - hist.best_epoch >= patience:
            hist.stopped_early = True
        if checkpoint_dir is not None:
            _save_epoch(checkpoint_dir, model, epoch + 1, hist, is_best)
        if hist.stopped_early:
            if progress:
                print(f"early stop: val accuracy best at epoch {hist.best_epoch}", flush=True)
            break

    if hist.best_epoch and hist.best_epoch != hist.epochs_run:
        if best_weights is not None:
            model.set_weights(best_weights)
        elif checkpoint_dir is not None and (checkpoint_dir / BEST_WEIGHTS).exists():
            model.load_weights(str(checkpoint_dir / BEST_WEIGHTS))
    return hist
