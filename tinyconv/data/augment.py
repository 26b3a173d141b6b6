"""Image augmentation in numpy, and a tf.data pipeline that applies it, deterministic by seed.

Augmenting in numpy keeps the randomness in one `np.random.Generator`: epoch e of a run with
seed s always sees the same order and the same transforms (generator seeded with [s, e]),
so a resumed run (initial_epoch=e) continues exactly as the uninterrupted one would have.
"""

from __future__ import annotations

import math

import numpy as np

from .dataset import PHOTO_AUGMENTATION, Augmentation


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


def batches_per_epoch(n: int, batch_size: int) -> int:
    return math.ceil(n / batch_size)


def epoch_batches(x: np.ndarray, y: np.ndarray, batch_size: int, *, epoch: int, seed: int,
                  shuffle: bool = True, augment: Augmentation | bool | None = None):
    """Yield (x, y) batches of one epoch; pure numpy, usable without TensorFlow."""
    augmentation = _policy(augment)
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
    for start in range(0, len(x), batch_size):
        idx = order[start:start + batch_size]
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
    return ds.prefetch(2)


def _policy(augment: Augmentation | bool | None) -> Augmentation | None:
    if augment is True:
        return PHOTO_AUGMENTATION
    if isinstance(augment, Augmentation) and augment.enabled:
        return augment
    return None
