"""Image augmentation, deterministic by (seed, epoch): in-graph for training, numpy for reference.

Training uses `graph_batches`: the images stay decoded in memory as one tensor, each batch
is gathered and augmented by TensorFlow ops on the whole batch (pad + crop with per-image
offsets, flip, brightness, optional cutout and mixup) seeded statelessly from (seed, epoch,
batch index), mapped in parallel and prefetched: no Python in the loop, so the input never
competes with the model for the GIL, and epoch e of a run with seed s always sees the same
order and transforms, so a resumed run replays the batches of the uninterrupted one.

`epoch_batches` / `as_tf_dataset` are the numpy version (a `np.random.Generator` seeded with
[s, e]); they stay for tools without TensorFlow and as the benchmark's "before".
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import cpu_count
from .dataset import PHOTO_AUGMENTATION, Augmentation

PREFETCH_BATCHES = 2  # batches a pipeline prepares ahead of the training step
EVAL_BATCH_SIZE = 256  # model.evaluate's batches: larger than training's, same accuracy


def augment_batch(x: np.ndarray, rng: np.random.Generator,
                  augmentation: Augmentation = PHOTO_AUGMENTATION) -> np.ndarray:
    """A new float32 batch [N, H, W, C]: random shift (zero padding then crop), left-right
    flip and brightness offset, as `augmentation` allows. Draws from `rng` in a fixed order."""
    n, h, w, _ = x.shape
    out = np.array(x, np.float32, copy=True)
    pad_h, pad_w = round(augmentation.shift_h * h), round(augmentation.shift_w * w)
    if n and (pad_h or pad_w):
        padded = np.pad(out, ((0, 0), (pad_h, pad_h), (pad_w, pad_w), (0, 0)))
        dy = rng.integers(0, 2 * pad_h + 1, n)
        dx = rng.integers(0, 2 * pad_w + 1, n)
        rows = dy[:, None] + np.arange(h)[None, :]          # [N, H]
        cols = dx[:, None] + np.arange(w)[None, :]          # [N, W]
        out = padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    if n and augmentation.flip:
        mirror = rng.random(n) < 0.5
        out[mirror] = out[mirror, :, ::-1]
    if n and augmentation.brightness > 0:
        delta = rng.uniform(-augmentation.brightness, augmentation.brightness, n).astype(np.float32)
        out += delta[:, None, None, None]
        np.clip(out, 0.0, 1.0, out=out)
    return out


def even_batching(n: int, batch_size: int) -> tuple[int, int]:
    """(images used, images per batch) of an epoch over `n` images: every training batch
    holds an even number of images, where there are two. An odd `batch_size` trains with one
    image fewer per batch, and an odd last batch leaves out its last image (the order is
    reshuffled every epoch, so it is seen in the others).

    Why: oneDNN's gradient of a 1x1 strided convolution with fewer input channels than its
    block (16 with AVX-512) writes past its workspace (oneDNN issue #6035), which on odd
    batches corrupts the heap: measured with TF 2.21 on this CPU, a ResNet projection of 8
    input channels (width 0.5) aborts with "double free or corruption" at batch 5, 7, 13 or
    63 and runs at 4, 8, 16 or 64 (its gradients then match numpy's to 1e-5)."""
    size = batch_size - batch_size % 2 if batch_size > 1 else 1
    used = n - (n % size) % 2
    return (used if used > 0 else n), size


def batches_per_epoch(n: int, batch_size: int) -> int:
    used, size = even_batching(n, batch_size)
    return math.ceil(used / size)


def epoch_batches(x: np.ndarray, y: np.ndarray, batch_size: int, *, epoch: int, seed: int,
                  shuffle: bool = True, augment: Augmentation | bool | None = None):
    """Yield (x, y) batches of one epoch; pure numpy, usable without TensorFlow."""
    augmentation = _policy(augment)
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
    used, size = even_batching(len(x), batch_size)
    for start in range(0, used, size):
        idx = order[start:min(start + size, used)]
        xb = x[idx]
        if augmentation is not None:
            xb = augment_batch(xb, rng, augmentation)
        yield xb.astype(np.float32, copy=False), y[idx].astype(np.int32, copy=False)


def as_tf_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, *, shuffle: bool = True,
                  augment: Augmentation | bool | None = None, seed: int = 0,
                  initial_epoch: int = 0):
    """A finite tf.data.Dataset of (x, y) batches for `model.fit`. Each new iteration (Keras
    starts one per epoch) is the next epoch: its order and transforms depend on (seed, epoch).
    `augment`: an Augmentation, True for the photo default, or None/False for none."""
    import itertools

    from ..keras_compat import tf  # lazy: importing TensorFlow takes seconds

    epochs = itertools.count(initial_epoch)

    def generate():
        yield from epoch_batches(x, y, batch_size, epoch=next(epochs), seed=seed,
                                 shuffle=shuffle, augment=augment)

    spec = (tf.TensorSpec((None, *x.shape[1:]), tf.float32), tf.TensorSpec((None,), tf.int32))
    ds = tf.data.Dataset.from_generator(generate, output_signature=spec)
    ds = ds.apply(tf.data.experimental.assert_cardinality(batches_per_epoch(len(x), batch_size)))
    return prefetched(ds)


def _policy(augment: Augmentation | bool | None) -> Augmentation | None:
    if augment is True:
        return PHOTO_AUGMENTATION
    if isinstance(augment, Augmentation) and augment.enabled:
        return augment
    return None


# ---- in-graph, vectorized (training) --------------------------------------------------------

def _batch_seeds(seed: int, epoch: int, batch_index, count: int):
    """`count` independent stateless seeds for one batch, from (seed, epoch, batch index)."""
    from ..keras_compat import tf

    base = tf.stack([tf.constant(seed, tf.int64),
                     tf.constant(epoch, tf.int64) * (1 << 32) + tf.cast(batch_index, tf.int64)])
    return tf.random.experimental.stateless_split(base, num=count)


def augment_graph(x, seeds, augmentation: Augmentation | None, cutout: float = 0.0):
    """TF ops on a float32 batch [N, H, W, C]: random shift (zero pad, crop at a per-image
    offset), left-right flip, brightness offset, as `augmentation` allows, then cutout (a
    zeroed square of side `cutout` x the image side at a random centre, clipped at the
    borders). `seeds`: [4, 2] stateless seeds."""
    from ..keras_compat import tf

    n = tf.shape(x)[0]
    h, w = int(x.shape[1]), int(x.shape[2])
    if augmentation is not None:
        pad_h, pad_w = round(augmentation.shift_h * h), round(augmentation.shift_w * w)
        if pad_h or pad_w:
            padded = tf.pad(x, [[0, 0], [pad_h, pad_h], [pad_w, pad_w], [0, 0]])
            offsets = tf.random.stateless_uniform([n, 2], seeds[0], maxval=1 << 30, dtype=tf.int32)
            dy, dx = offsets[:, 0] % (2 * pad_h + 1), offsets[:, 1] % (2 * pad_w + 1)
            rows = dy[:, None] + tf.range(h)[None, :]                                   # [N, H]
            cols = dx[:, None] + tf.range(w)[None, :]                                   # [N, W]
            x = tf.gather(padded, rows, axis=1, batch_dims=1)                           # [N, H, W+2p, C]
            x = tf.gather(x, cols, axis=2, batch_dims=1)                                # [N, H, W, C]
        if augmentation.flip:
            mirror = tf.random.stateless_uniform([n], seeds[1]) < 0.5
            x = tf.where(mirror[:, None, None, None], tf.reverse(x, [2]), x)
        if augmentation.brightness > 0:
            delta = tf.random.stateless_uniform([n], seeds[2], -augmentation.brightness,
                                                augmentation.brightness)
            x = tf.clip_by_value(x + delta[:, None, None, None], 0.0, 1.0)
    if cutout > 0:
        size_h, size_w = max(1, round(cutout * h)), max(1, round(cutout * w))
        centre = tf.random.stateless_uniform([n, 2], seeds[3], maxval=1 << 30, dtype=tf.int32)
        cy, cx = centre[:, 0] % h, centre[:, 1] % w
        top, left = cy - size_h // 2, cx - size_w // 2
        r, c = tf.range(h)[None, :], tf.range(w)[None, :]
        in_rows = (r >= top[:, None]) & (r < top[:, None] + size_h)                     # [N, H]
        in_cols = (c >= left[:, None]) & (c < left[:, None] + size_w)                   # [N, W]
        hole = in_rows[:, :, None] & in_cols[:, None, :]                                # [N, H, W]
        x = x * tf.cast(~hole, x.dtype)[..., None]
    return x


def mixup_graph(x, y, seed, alpha: float):
    """Mix each image and one-hot label of the batch with the batch reversed, by one
    lambda ~ Beta(alpha, alpha) per batch (stateless from `seed` [2])."""
    from ..keras_compat import tf

    ga, gb = tf.unstack(tf.random.experimental.stateless_split(seed, num=2))
    a = tf.random.stateless_gamma([], ga, alpha=alpha)
    b = tf.random.stateless_gamma([], gb, alpha=alpha)
    lam = a / (a + b)
    return lam * x + (1 - lam) * tf.reverse(x, [0]), lam * y + (1 - lam) * tf.reverse(y, [0])


def graph_batches(x, y, batch_size: int, *, num_classes: int, seed: int, epoch: int,
                  shuffle: bool = True, augment: Augmentation | bool | None = None,
                  cutout: float = 0.0, mixup: float = 0.0, teacher=None):
    """One epoch of (images, one-hot labels) batches as a tf.data pipeline, all in-graph.

    `x`, `y`: the whole split, numpy or (better, converted once per run) tensors. Order and
    every random transform depend only on (seed, epoch, batch index). `teacher`: optional
    callable on an augmented batch returning soft targets [N, K], appended to the labels
    ([N, 2K]: one-hot, then the teacher's) for the distillation loss."""
    from ..keras_compat import tf

    augmentation = _policy(augment)
    n = int(x.shape[0])
    order = np.random.default_rng([seed, epoch]).permutation(n) if shuffle else np.arange(n)
    x = tf.convert_to_tensor(x, tf.float32)
    labels = tf.one_hot(tf.cast(tf.reshape(tf.convert_to_tensor(y), [-1]), tf.int32), num_classes)
    used, size = even_batching(n, batch_size)
    index = tf.data.Dataset.from_tensor_slices(order[:used].astype(np.int32)).batch(size)
    index = tf.data.Dataset.zip((tf.data.Dataset.range(batches_per_epoch(n, batch_size)), index))

    def make(batch_index, idx):
        xb, yb = tf.gather(x, idx), tf.gather(labels, idx)
        seeds = _batch_seeds(seed, epoch, batch_index, 5)
        if augmentation is not None or cutout > 0:
            xb = augment_graph(xb, seeds, augmentation, cutout)
        if mixup > 0:
            xb, yb = mixup_graph(xb, yb, seeds[4], mixup)
        if teacher is not None:
            yb = tf.concat([yb, teacher(xb)], axis=-1)
        return xb, yb

    # The teacher is a model: one call at a time (its own ops use the intra-op threads).
    parallel = 1 if teacher is not None else cpu_count()
    return prefetched(index.map(make, num_parallel_calls=parallel, deterministic=True))


def eval_batches(x, y, batch_size: int = EVAL_BATCH_SIZE):
    """(x, y) of an evaluation split in batches of `batch_size`, in order, for `model.evaluate`."""
    from ..keras_compat import tf

    return prefetched(tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size))


def prefetched(ds):
    """`ds` prefetching PREFETCH_BATCHES batches, with tf.data's autotuning off (the callers
    set their parallelism explicitly): how every pipeline of training and evaluation ends.

    Autotuning runs a model thread per iterator that sleeps in an optimisation period which
    grows to a minute, and destroying the iterator waits for it to wake: `model.fit` makes a
    new iterator per epoch, so each epoch ended with up to a minute of an idle CPU (measured
    with TF 2.21 on 2 cores: 40 s of a 148 s CIFAR-10 epoch of a ResNet, 12 s after a 70 s
    toy epoch and none with autotuning off). tests/unit/test_data.py checks that every
    pipeline of training and evaluation is built without it."""
    from ..keras_compat import tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.prefetch(PREFETCH_BATCHES).with_options(options)
