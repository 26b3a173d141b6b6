"""The training loop: the recipe's schedule and optimizer, a checkpoint every epoch, resume,
early stopping, EMA evaluation, batch-norm re-estimation.

Each epoch is one `model.fit` call on an in-graph tf.data pipeline (`Batches`) shuffled and
augmented from (seed, epoch) alone, so a resumed run sees the same batches the uninterrupted
one would have. After every finished epoch the model weights, the optimizer state (moments,
step counter, which also drives the LR schedule, and the EMA of the weights) and the history
go to `checkpoint_dir`, written to a temporary folder and renamed: a kill at any moment loses
at most the epoch in progress. The recipe's parts are in recipe.py.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..data.augment import EVAL_BATCH_SIZE, batches_per_epoch, eval_batches
from ..errors import TinyconvError
from .checkpoints import TMP_PREFIX, clear_stale, read_state, save_epoch
from .config import Recipe

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
    # Batch-norm re-estimation at the end (Recipe.bn_reestimate): batches used and the best
    # weights' val accuracy before and after it.
    bn_reestimate: dict[str, float] = field(default_factory=dict)
    precision: str = "float32"       # the compute precision trained in (train/precision.py)

    @property
    def seconds_per_epoch(self) -> float:
        return float(np.mean(self.epoch_seconds)) if self.epoch_seconds else float("nan")

    def to_json(self) -> dict[str, Any]:
        return {"history": self.history, "epochs_run": self.epochs_run,
                "best_epoch": self.best_epoch, "best_val_accuracy": self.best_val_accuracy,
                "epoch_seconds": self.epoch_seconds, "stopped_early": self.stopped_early,
                "bn_reestimate": self.bn_reestimate, "precision": self.precision}


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


def compile_model(model, learning_rate, recipe: Recipe | None = None, *, use_recipe: bool = True,
                  steps_per_execution: int | None = None) -> None:
    """The recipe's optimizer (Adam by default; with `use_recipe=False` plain Adam, as QAT
    uses) and loss (cross-entropy, label smoothing, distillation when the labels carry
    teacher targets; from logits unless the model ends in Softmax), top-1 "accuracy"."""
    from .recipe import make_accuracy, make_loss, make_optimizer

    recipe = recipe or Recipe()
    k = int(model.output_shape[-1])
    optimizer = make_optimizer(recipe, learning_rate, model.trainable_variables, use_recipe=use_recipe)
    loss = make_loss(k, not ends_in_softmax(model), recipe.label_smoothing,
                     recipe.distill_alpha if recipe.teacher else 0.0, recipe.distill_temperature)
    model.compile(optimizer=optimizer, loss=loss, metrics=[make_accuracy(k)],
                  steps_per_execution=steps_per_execution or default_steps_per_execution(model))


def default_steps_per_execution(model) -> int:
    """Batches per Keras execution call: several for small models (per-step overhead
    dominates them), one above TRAIN_MULTI_STEP_MAX_MACS per image (defaults.py says why)."""
    from ..defaults import TRAIN_MULTI_STEP_MAX_MACS, TRAIN_STEPS_PER_EXECUTION

    try:
        from ..ir.keras_import import graph_from_keras
        macs = graph_from_keras(model).total_macs()
    except (TinyconvError, ValueError, TypeError, KeyError, AttributeError, NotImplementedError):
        return 1  # a model the IR cannot import (e.g. QAT's wrappers): one per call
    return TRAIN_STEPS_PER_EXECUTION if macs <= TRAIN_MULTI_STEP_MAX_MACS else 1


class Batches:
    """The training batches of a run: the split held once as tensors, each epoch an in-graph
    pipeline (tinyconv.data.augment.graph_batches) that depends only on (seed, epoch), so a
    resumed run replays the same batches. The augmentation policy is the dataset's own (no
    flips for glyphs); cutout, mixup and the teacher's targets as the recipe says."""

    def __init__(self, dataset, batch_size: int, recipe: Recipe | None = None, teacher=None):
        from ..keras_compat import tf

        recipe = recipe or Recipe()
        self.x = tf.convert_to_tensor(np.asarray(dataset.x_train, np.float32))
        self.y = tf.convert_to_tensor(np.asarray(dataset.y_train).reshape(-1).astype(np.int32))
        self.num_classes = int(dataset.num_classes)
        self.policy = getattr(dataset, "augmentation", True) if recipe.augment else None
        self.batch_size, self.recipe, self.teacher = batch_size, recipe, teacher
        self.steps = max(1, batches_per_epoch(len(dataset.x_train), batch_size))

    def epoch(self, seed: int, epoch: int, *, plain: bool = False):
        from ..data.augment import graph_batches

        r = self.recipe
        if plain:
            return graph_batches(self.x, self.y, self.batch_size, num_classes=self.num_classes,
                                 seed=seed, epoch=epoch)
        return graph_batches(self.x, self.y, self.batch_size, num_classes=self.num_classes, seed=seed,
                             epoch=epoch, augment=self.policy, cutout=r.cutout, mixup=r.mixup,
                             teacher=self.teacher)


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
    """Per-step progress bar of one `fit` epoch headed "<label> e/E", on a terminal only
    (`run_epoch` prints the epoch's line once validation is done)."""

    def __new__(cls, epoch: int, epochs: int, steps: int, label: str = "epoch"):
        from ..keras_compat import keras

        class Callback(keras.callbacks.Callback):
            def on_epoch_begin(self, _epoch, logs=None):
                print(f"{label} {epoch + 1}/{epochs}", flush=True)
                self.bar = keras.utils.Progbar(steps, stateful_metrics=["loss", "accuracy"])

            def on_train_batch_end(self, batch, logs=None):
                self.bar.update(batch + 1, [(k, v) for k, v in (logs or {}).items()])

        return Callback()


def run_epoch(model, train_ds, val, *, epoch: int, epochs: int, steps: int, progress: bool,
              label: str = "epoch", eval_weights=None, callbacks: list | None = None) -> dict[str, float]:
    """One epoch of `model.fit`, then validation with `eval_weights` (values, or a function
    returning them: the EMA, if any) swapped in; prints "<label> e/E: <logs>  (N s)" and returns the logs."""
    from .recipe import SwappedIn

    started = time.perf_counter()
    bars = progress and on_terminal()
    callbacks = list(callbacks or []) + ([EpochProgress(epoch, epochs, steps, label)] if bars else [])
    history = model.fit(train_ds, epochs=1, verbose=0, callbacks=callbacks).history
    logs = {k: float(v[-1]) for k, v in history.items()}
    with SwappedIn(model, eval_weights() if callable(eval_weights) else eval_weights):
        val_loss, val_acc = model.evaluate(val, verbose=0)
    logs.update(val_loss=float(val_loss), val_accuracy=float(val_acc))
    if progress:
        head = "" if bars else f"{label} {epoch + 1}/{epochs}: "
        print(f"  {head}{_format_logs(logs)}  ({time.perf_counter() - started:.0f} s)", flush=True)
    return logs


def has_random_layers(model) -> bool:
    """Whether `model` draws random numbers in training (Dropout, GaussianNoise, ...)."""
    from ..keras_compat import keras

    return any(isinstance(layer, keras.layers.Dropout) or hasattr(layer, "_random_generator")
               for layer in model._flatten_layers(include_self=False))


def _checkpoint(model):
    from ..keras_compat import tf

    return tf.train.Checkpoint(model=model, optimizer=model.optimizer)


def _save_epoch(checkpoint_dir: Path, model, epoch: int, hist: History, is_best: bool,
                best_values: list | None = None) -> None:
    """Weights + optimizer (moments, step, EMA) of finished `epoch` (1-based), the best
    weights (`best_values`, the EMA, swapped in when given), then state.json pointing at
    them (a Ctrl-C meanwhile exits once they are saved: tinyconv.interrupt)."""
    from ..interrupt import saving
    from .recipe import SwappedIn

    def best_weights() -> None:
        tmp = checkpoint_dir / f"{TMP_PREFIX}{BEST_WEIGHTS}"
        with SwappedIn(model, best_values):
            model.save_weights(str(tmp))
        os.replace(tmp, checkpoint_dir / BEST_WEIGHTS)

    with saving():
        save_epoch(checkpoint_dir, epoch, _checkpoint(model), hist.to_json(),
                   also=best_weights if is_best else None)


def open_checkpoints(checkpoint_dir: Path | None, resume: bool) -> dict[str, Any] | None:
    """Make `checkpoint_dir` (None: no checkpoints), drop what a kill mid-save left, and
    return the saved state to resume from (None for a fresh start or nothing saved)."""
    if checkpoint_dir is None:
        return None
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    clear_stale(checkpoint_dir)
    return read_state(checkpoint_dir) if resume else None


def _restore(checkpoint_dir: Path, model, state: dict[str, Any], precision: str) -> History:
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
                   epoch_seconds=list(state.get("epoch_seconds", [])),
                   bn_reestimate=dict(state.get("bn_reestimate") or {}), precision=precision)


def fit(model, dataset, *, epochs: int, batch_size: int, learning_rate: float | None = None,
        seed: int, checkpoint_dir: Path | None = None, resume: bool = False, progress: bool = True,
        patience: int | None = None, warmup_epochs: float | None = None, augment: bool | None = None,
        recipe: Recipe | None = None, callbacks: list | None = None) -> History:
    """Train `model` on `dataset` (fields x_train, y_train, x_val, y_val) for up to `epochs`.

    `recipe` says how (optimizer, schedule, weight decay, augmentation, label smoothing,
    EMA, distillation, BN re-estimation); `learning_rate`, `warmup_epochs` and `augment`,
    when given, replace its values. With `checkpoint_dir`, every finished epoch is saved
    there (weights, optimizer with its step and EMA); `resume=True` continues from the last
    saved epoch (the model must be built the same way) and replays the same batches.
    `patience` stops when val accuracy has not improved for that many epochs. Validation,
    the best epoch and the weights left in `model` at the end are the EMA's when the recipe
    keeps one; the best epoch's weights are restored at the end, then BN statistics are
    re-estimated on training batches if the recipe asks. `callbacks`: extra Keras
    callbacks for every epoch's `model.fit`.
    """
    from dataclasses import replace

    from ..keras_compat import tf
    from .recipe import dataset_teacher, ema_weights, reestimate_bn_checked

    recipe = recipe or Recipe()
    given = {k: v for k, v in (("learning_rate", learning_rate), ("warmup_epochs", warmup_epochs),
                               ("augment", augment)) if v is not None}
    recipe = replace(recipe, **given)
    recipe.check_recipe()
    batches = Batches(dataset, batch_size, recipe, dataset_teacher(recipe, dataset))
    steps = batches.steps
    from .precision import resolve_precision, training_twin
    from .recipe import lr_schedule
    checkpoint_dir = None if checkpoint_dir is None else Path(checkpoint_dir)
    state = open_checkpoints(checkpoint_dir, resume)
    schedule = lr_schedule(recipe, epochs * steps, steps)
    per_call = default_steps_per_execution(model)
    compile_model(model, schedule, recipe, steps_per_execution=per_call)  # evaluate() works after fit
    # A resumed "auto" run keeps the precision it started in (another machine may decide
    # otherwise); checkpoints from before --precision existed are float32's.
    precision = (state.get("precision", "float32") if state is not None and recipe.precision == "auto"
                 else resolve_precision(recipe.precision, model))
    caller_model, model = model, training_twin(model, precision)  # trained: the twin
    if model is not caller_model:
        compile_model(model, schedule, recipe, steps_per_execution=per_call)
    hist = History(precision=precision)
    best_weights = None
    if state is not None:
        hist = _restore(checkpoint_dir, model, state, precision)
        if progress:
            print(f"resuming after epoch {hist.epochs_run}", flush=True)

    val = eval_batches(dataset.x_val, dataset.y_val, max(batch_size, EVAL_BATCH_SIZE))
    ema = recipe.ema_decay > 0
    start_epoch = hist.epochs_run
    if hist.stopped_early:
        start_epoch = epochs  # an early-stopped run is finished: do not train on
    random_layers = has_random_layers(model)
    for epoch in range(start_epoch, epochs):
        tf.random.set_seed(seed + epoch)
        if random_layers:
            # Dropout's masks come from stateful random ops whose state lives in the traced
            # train step, not in any checkpoint: tracing it again after the epoch's seed
            # starts every epoch from (seed, epoch) alone, so a resumed run draws the masks
            # an uninterrupted one draws.
            model.train_function = None
        started = time.perf_counter()
        logs = run_epoch(model, batches.epoch(seed, epoch), val, epoch=epoch, epochs=epochs, steps=steps,
                         progress=progress, eval_weights=lambda: ema_weights(model), callbacks=callbacks)
        hist.epoch_seconds.append(round(time.perf_counter() - started, 3))
        for key, value in logs.items():
            hist.history.setdefault(key, []).append(value)
        hist.epochs_run = epoch + 1
        val_acc = logs["val_accuracy"]
        is_best = not hist.best_val_accuracy >= val_acc  # also true while best is NaN
        evaluated = ema_weights(model) if is_best else None
        if is_best:
            hist.best_val_accuracy, hist.best_epoch = val_acc, epoch + 1
            if checkpoint_dir is None:
                from .recipe import SwappedIn
                with SwappedIn(model, evaluated):
                    best_weights = model.get_weights()
        if patience is not None and hist.epochs_run - hist.best_epoch >= patience:
            hist.stopped_early = True
        if checkpoint_dir is not None:
            _save_epoch(checkpoint_dir, model, epoch + 1, hist, is_best, evaluated)
        if hist.stopped_early:
            if progress:
                print(f"early stop: val accuracy best at epoch {hist.best_epoch}", flush=True)
            break

    # The weights left in the model: the best epoch's, as evaluated (the EMA's, with EMA).
    if hist.best_epoch and (ema or hist.best_epoch != hist.epochs_run):
        if best_weights is not None:
            model.set_weights(best_weights)
        elif checkpoint_dir is not None and (checkpoint_dir / BEST_WEIGHTS).exists():
            model.load_weights(str(checkpoint_dir / BEST_WEIGHTS))
        elif ema and ema_weights(model) is not None:
            for var, value in zip(model.trainable_variables, ema_weights(model)):
                var.assign(value)
    if recipe.bn_reestimate > 0:
        plain = batches.epoch(seed + 2000, 0, plain=True).take(recipe.bn_reestimate).map(lambda x, y: x)
        r = hist.bn_reestimate = reestimate_bn_checked(model, plain,
                                                       lambda: float(model.evaluate(val, verbose=0)[1]))
        if progress:
            print(f"batch-norm statistics re-estimated on {r['batches']} training batches: val accuracy "
                  f"{r['val_accuracy_before']:.4f} -> {r['val_accuracy_after']:.4f}"
                  + ("" if r["kept"] else "; the previous statistics kept"), flush=True)
    if model is not caller_model:  # the caller's float32 model gets the weights and the optimizer
        caller_model.set_weights(model.get_weights())
        caller_model.optimizer = model.optimizer
    return hist
