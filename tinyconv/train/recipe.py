"""The parts of the training recipe (`Recipe`) as TensorFlow objects: schedule, optimizer
(with weight decay that skips batch-norm parameters and biases, and an EMA of the weights),
the loss (label smoothing, mixed labels, distillation), the teacher, and batch-norm
re-estimation.

Labels reach the loss one-hot ([N, K]; mixup mixes them) or, when distilling, one-hot then
the teacher's soft targets at temperature T ([N, 2K]). Sparse labels ([N] or [N, 1]) are
accepted too, so `model.evaluate(x, y)` on integer labels works on any compiled model.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..defaults import ONECYCLE_RISE, TRAIN_OPTIMIZER_JIT
from ..errors import TinyconvError
from .config import Recipe


def lr_schedule(recipe: Recipe, total_steps: int, steps_per_epoch: int):
    """The recipe's learning-rate schedule over `total_steps` optimizer steps."""
    from .loop import cosine_schedule

    peak = float(recipe.learning_rate)
    if recipe.schedule == "cosine":
        return cosine_schedule(peak, total_steps, int(round(recipe.warmup_epochs * steps_per_epoch)))
    return onecycle_schedule(peak, total_steps)


def onecycle_schedule(peak: float, total_steps: int, rise: float = ONECYCLE_RISE):
    """One-cycle: linear from peak/25 up to `peak` over `rise` of the steps, then cosine down
    to peak/25e4 at `total_steps`."""
    from ..keras_compat import keras, tf

    up = max(1, int(round(rise * total_steps)))
    start, end = peak / 25.0, peak / 25e4

    class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            step = tf.cast(step, tf.float32)
            rising = start + (peak - start) * step / up
            progress = tf.clip_by_value((step - up) / float(max(total_steps - up, 1)), 0.0, 1.0)
            falling = end + (peak - end) * 0.5 * (1.0 + tf.cos(math.pi * progress))
            return tf.where(step < up, rising, falling)

        def get_config(self):
            return {"peak": peak, "total_steps": total_steps, "rise": rise}

    return OneCycle()


def decayed(optimizer, variables) -> list:
    """The variables weight decay applies to: kernels only, never batch-norm gamma/beta or
    biases (every tensor of rank <= 1). Registers the others with the optimizer's exclusion."""
    keep = [v for v in variables if len(v.shape) > 1]
    skip = [v for v in variables if len(v.shape) <= 1]
    optimizer.exclude_from_weight_decay(var_list=skip)
    return keep


def make_optimizer(recipe: Recipe, learning_rate, variables=None, *, use_recipe: bool = True):
    """The recipe's optimizer on `learning_rate` (a float or a schedule): Adam, AdamW or SGD
    with Nesterov momentum; decoupled weight decay (x lr per step) on kernels only; with
    `ema_decay`, an in-graph EMA of the trainable weights whose decay warms up as
    min(decay, (1 + step) / (10 + step)). `use_recipe=False`: plain Adam (QAT)."""
    from ..keras_compat import keras, tf

    if not use_recipe:
        return keras.optimizers.Adam(learning_rate, jit_compile=TRAIN_OPTIMIZER_JIT)
    wd = float(recipe.weight_decay or 0.0) or None
    ema = dict(use_ema=True, ema_momentum=float(recipe.ema_decay)) if recipe.ema_decay > 0 else {}
    base = {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW,
            "sgd": keras.optimizers.SGD}[recipe.optimizer]
    extra = {"momentum": float(recipe.momentum), "nesterov": True} if recipe.optimizer == "sgd" else {}
    if recipe.optimizer == "adamw":
        wd = float(recipe.weight_decay or 0.0)  # AdamW needs a number

    class WarmupEma(base):
        def finalize_variable_values(self, var_list):
            """No-op: Keras calls it at the end of every `fit`, which would overwrite the raw
            weights with the EMA each epoch; `fit` swaps the EMA in only to evaluate and save."""

        def _update_model_variables_moving_average(self, var_list):
            if not self.use_ema:
                return
            step = tf.cast(self.iterations, tf.float32)
            decay = tf.minimum(self.ema_momentum, (1.0 + step) / (10.0 + step))
            for var in var_list:
                average = self._model_variables_moving_average[self._index_dict[self._var_key(var)]]
                average.assign(decay * average + (1.0 - decay) * var)

    optimizer = WarmupEma(learning_rate, weight_decay=wd, jit_compile=TRAIN_OPTIMIZER_JIT, **ema, **extra)
    if wd and variables is not None:
        decayed(optimizer, variables)
    return optimizer


def ema_weights(model) -> list | None:
    """The EMA values of `model`'s trainable variables (numpy, in their order), or None
    when its optimizer keeps none or is not built yet."""
    opt = model.optimizer
    if not getattr(opt, "use_ema", False) or not getattr(opt, "_model_variables_moving_average", None):
        return None
    return [opt._model_variables_moving_average[opt._index_dict[opt._var_key(v)]].numpy()
            for v in model.trainable_variables]


class SwappedIn:
    """`with SwappedIn(model, values):` the trainable variables hold `values` (e.g. the
    EMA) inside, and their own values again after."""

    def __init__(self, model, values: list | None):
        self.model, self.values, self.saved = model, values, None

    def __enter__(self):
        if self.values is not None:
            self.saved = [v.numpy() for v in self.model.trainable_variables]
            for var, value in zip(self.model.trainable_variables, self.values):
                var.assign(value)
        return self

    def __exit__(self, *exc):
        if self.saved is not None:
            for var, value in zip(self.model.trainable_variables, self.saved):
                var.assign(value)
        return False


def _hard_labels(y_true, num_classes: int):
    from ..keras_compat import tf

    if y_true.shape.rank == 1 or (y_true.shape[-1] == 1 and num_classes != 1):
        return tf.one_hot(tf.cast(tf.reshape(y_true, [-1]), tf.int32), num_classes)
    return tf.cast(y_true[:, :num_classes], tf.float32)


def make_loss(num_classes: int, from_logits: bool, label_smoothing: float = 0.0,
              distill_alpha: float = 0.0, temperature: float = 1.0):
    """Cross-entropy on (smoothed, possibly mixed) labels; with teacher targets appended to
    the labels, (1 - a) CE + a T^2 KL(teacher_T || student_T). A softmax output's log is the
    logits up to a constant, which the temperature softmax ignores."""
    from ..keras_compat import tf

    k = num_classes

    def loss(y_true, y_pred):
        y_pred = tf.cast(y_pred, tf.float32)
        log_p = tf.nn.log_softmax(y_pred) if from_logits else tf.math.log(tf.clip_by_value(y_pred, 1e-7, 1.0))
        hard = _hard_labels(y_true, k)
        if label_smoothing > 0:
            hard = hard * (1.0 - label_smoothing) + label_smoothing / k
        ce = -tf.reduce_sum(hard * log_p, axis=-1)
        if y_true.shape.rank == 2 and y_true.shape[-1] == 2 * k and k > 1:
            soft = tf.cast(y_true[:, k:], tf.float32)
            log_student = tf.nn.log_softmax(log_p / temperature)
            kl = tf.reduce_sum(soft * (tf.math.log(tf.maximum(soft, 1e-12)) - log_student), axis=-1)
            return (1.0 - distill_alpha) * ce + distill_alpha * temperature ** 2 * kl
        return ce

    return loss


def make_accuracy(num_classes: int):
    """Top-1 accuracy against the labels' first K columns (the dominant class of a mixed
    label), named "accuracy" like Keras's own so history keys stay the same."""
    from ..keras_compat import tf

    def accuracy(y_true, y_pred):
        hard = _hard_labels(y_true, num_classes)
        return tf.cast(tf.equal(tf.argmax(hard, -1), tf.argmax(y_pred, -1)), tf.float32)

    return accuracy


def zoo_teacher(spec: str | None) -> tuple[str, float] | None:
    """`--teacher FAMILY[:WIDTH]`, a zoo family to train first (e.g. `resnet8:2`): its
    (family, width); None for no teacher or a model on disk (a .h5 or a run directory)."""
    from ..zoo import FAMILIES

    if not spec or Path(spec).expanduser().exists():
        return None
    name, colon, width = spec.partition(":")
    if name not in FAMILIES:
        return None
    try:
        value = float(width) if colon else 1.0
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise TinyconvError(f"teacher {spec}: the width after ':' must be a positive number "
                            f"(e.g. {name}:2)")
    return name, value


def load_teacher(path: str | Path, input_shape, num_classes: int):
    """The teacher model of --teacher: a Keras .h5 file, or a tinyconv run directory's
    model.h5; its input shape and classes must be the student's (one-line error if not)."""
    from ..keras_compat import keras

    p = Path(path).expanduser()
    if p.is_dir():
        p = p / "model.h5"
    if not p.is_file():
        raise TinyconvError(f"teacher {path}: no such model (give a Keras .h5, a tinyconv run directory, "
                            f"or a zoo family to train first, e.g. resnet8 or resnet8:2)")
    try:
        teacher = keras.models.load_model(str(p), compile=False)
    except (OSError, ValueError, TypeError, KeyError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise TinyconvError(f"teacher {p}: cannot load it as a Keras model ({first[:160]})") from None
    t_in = tuple(int(d) for d in teacher.input_shape[1:])
    t_out = int(teacher.output_shape[-1])
    if t_in != tuple(int(d) for d in input_shape) or t_out != num_classes:
        raise TinyconvError(f"teacher {p} takes {'x'.join(map(str, t_in))} inputs and has {t_out} classes; "
                            f"the student {'x'.join(map(str, input_shape))} and {num_classes}")
    teacher.trainable = False
    return teacher


def teacher_targets(teacher, temperature: float):
    """x -> the teacher's class probabilities at `temperature` (a tf-callable)."""
    from ..keras_compat import tf
    from .loop import ends_in_softmax

    probs = ends_in_softmax(teacher)

    def targets(x):
        out = tf.cast(teacher(x, training=False), tf.float32)
        logits = tf.math.log(tf.clip_by_value(out, 1e-7, 1.0)) if probs else out
        return tf.nn.softmax(logits / temperature)

    return targets


def reestimate_bn(model, batches) -> int:
    """Recompute every batch-norm layer's moving mean and variance as the plain average of
    its batch statistics over `batches` (images only), with the model's current weights.
    Returns the number of batches used (0: nothing changed)."""
    from ..keras_compat import keras, tf

    bns = [layer for layer in model.submodules if isinstance(layer, keras.layers.BatchNormalization)]
    if not bns:
        return 0
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.moving_mean.assign(tf.zeros_like(bn.moving_mean))
        bn.moving_variance.assign(tf.ones_like(bn.moving_variance))
    used = 0
    try:
        for k, x in enumerate(batches, start=1):
            for bn in bns:
                bn.momentum = 1.0 - 1.0 / k     # moving = running mean of the k batch stats
            model(x, training=True)
            used = k
    finally:
        for bn, momentum in zip(bns, momenta):
            bn.momentum = momentum
    return used


def reestimate_bn_checked(model, batches, score: Callable[[], float]) -> dict[str, Any]:
    """`reestimate_bn`, kept only where `score()` (validation accuracy) does not drop: the
    statistics training left are what the weights were fitted to (under augmentation) and
    on some runs serve better; then they are put back exactly. Returns what happened."""
    before = score()
    saved = [v.numpy() for v in model.non_trainable_variables]
    used = reestimate_bn(model, batches)
    after = score()
    kept = after >= before
    if not kept:
        for var, value in zip(model.non_trainable_variables, saved):
            var.assign(value)
    return {"batches": used, "val_accuracy_before": before, "val_accuracy_after": after, "kept": kept}


def dataset_teacher(recipe, dataset):
    """The teacher's soft targets for `dataset`'s images (None without --teacher)."""
    if not recipe.teacher:
        return None
    shape = tuple(int(d) for d in dataset.x_train.shape[1:])
    return teacher_targets(load_teacher(recipe.teacher, shape, int(dataset.num_classes)),
                           recipe.distill_temperature)
