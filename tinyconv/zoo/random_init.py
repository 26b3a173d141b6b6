"""Weights for untrained zoo models that still exercise int8 requantization (tests, benchmarks)."""

from __future__ import annotations

import numpy as np


def randomize_batchnorm(model, data, *, seed: int = 0, spread: float = 0.5) -> None:
    """Give every BatchNorm realistic, non-trivial parameters and statistics without training.

    A fresh model's BN layers have mean 0 / variance 1 / gamma 1 / beta 0, which
    fold into the convs as near-identity and leave requantization barely
    exercised. Here gamma and beta are first drawn at random per channel (gamma
    in 1 +- `spread`, beta ~ N(0, `spread`/2)), then every BN takes the batch
    statistics of `data` as its moving mean and variance (one forward pass in
    training mode with momentum 0). Inference then reproduces that training-mode
    pass exactly, so activations stay O(1) through any depth instead of drifting
    by a random factor per layer, while each channel's folded scale and offset
    differ.
    """
    from tinyconv.keras_compat import keras, tf

    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    rng = np.random.default_rng(seed)
    for layer in bns:
        gamma, beta, mean, variance = layer.get_weights()
        gamma = gamma * rng.uniform(1 - spread, 1 + spread, gamma.shape)
        beta = beta + rng.normal(0, spread / 2, beta.shape)
        layer.set_weights([gamma.astype(np.float32), beta.astype(np.float32), mean, variance])
    saved = [layer.momentum for layer in bns]
    try:
        for layer in bns:
            layer.momentum = 0.0
        model(tf.constant(np.asarray(data, dtype=np.float32)), training=True)
    finally:
        for layer, momentum in zip(bns, saved):
            layer.momentum = momentum
