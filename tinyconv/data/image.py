"""Resizing and channel conversion in numpy (no TensorFlow import: loading data must be fast).

Resizing is separable: one interpolation matrix per axis, applied with two matrix products.
The weights are a triangle filter whose width grows with the downscale factor, which is
bilinear interpolation with half-pixel centres when upscaling (the same numbers as
`tf.image.resize(..., "bilinear")`) and an anti-aliased average when downscaling (as
`antialias=True`), so a 96x96 photo shrunk to 32x32 does not alias.
"""

from __future__ import annotations

import numpy as np

from ..errors import TinyconvError

# ITU-R BT.601 luma, the weights tf.image.rgb_to_grayscale and PIL's "L" use.
_LUMA = np.array([0.2989, 0.5870, 0.1140], np.float32)
_CHUNK = 2048  # images resized per step: bounds the float64-free temporaries


def interpolation_matrix(size_in: int, size_out: int) -> np.ndarray:
    """[size_out, size_in] weights, rows summing to 1."""
    scale = size_in / size_out
    support = max(scale, 1.0)
    centres = (np.arange(size_out) + 0.5) * scale - 0.5
    taps = np.arange(size_in)
    weights = np.maximum(0.0, 1.0 - np.abs(taps[None, :] - centres[:, None]) / support)
    # Near the borders part of the kernel falls outside: renormalising equals edge clamping.
    return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)


def resize_images(x: np.ndarray, height: int, width: int) -> np.ndarray:
    """x float32 [N, H, W, C] -> [N, height, width, C]."""
    n, h, w, c = x.shape
    if (h, w) == (height, width):
        return x
    rows, cols = interpolation_matrix(h, height), interpolation_matrix(w, width)
    out = np.empty((n, height, width, c), np.float32)
    for start in range(0, n, _CHUNK):
        part = x[start:start + _CHUNK]
        part = np.einsum("yh,nhwc->nywc", rows, part, optimize=True)
        out[start:start + _CHUNK] = np.einsum("xw,nywc->nyxc", cols, part, optimize=True)
    # Triangle weights are non-negative and sum to one: results stay in [0, 1] up to rounding.
    return np.clip(out, 0.0, 1.0, out=out)


def convert_channels(x: np.ndarray, channels: int) -> np.ndarray:
    """Gray <-> RGB so the data matches the model's input."""
    have = x.shape[-1]
    if have == channels:
        return x
    if have == 1 and channels == 3:
        return np.repeat(x, 3, axis=-1)
    if have == 3 and channels == 1:
        return (x @ _LUMA)[..., None].astype(np.float32)
    raise TinyconvError(f"cannot convert images with {have} channels to {channels} channels "
                        "(only gray <-> RGB)")


def fit_to_shape(x: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """Resize and convert channels (gray first when shrinking channels, so resizing does less)."""
    height, width, channels = shape
    if x.shape[-1] > channels:
        x = convert_channels(x, channels)
    x = resize_images(x, height, width)
    return convert_channels(x, channels)


def to_unit_float(x: np.ndarray, what: str) -> np.ndarray:
    """uint8 0-255 -> float32 /255; floats must already lie in [0, 1]."""
    if x.dtype == np.uint8:
        return x.astype(np.float32) / np.float32(255.0)
    if np.issubdtype(x.dtype, np.integer):
        if x.size and (x.min() < 0 or x.max() > 255):
            raise TinyconvError(f"{what}: integer pixel values must lie in 0-255 "
                                f"(found {x.min()}..{x.max()})")
        return x.astype(np.float32) / np.float32(255.0)
    if np.issubdtype(x.dtype, np.floating):
        if x.size and not (np.isfinite(x).all() and x.min() >= 0.0 and x.max() <= 1.0):
            raise TinyconvError(f"{what}: float pixel values must lie in [0, 1] "
                                f"(found {np.nanmin(x):g}..{np.nanmax(x):g}); store uint8 0-255 "
                                "or scale to [0, 1]")
        return x.astype(np.float32)
    raise TinyconvError(f"{what}: pixel values of dtype {x.dtype} are not images")


def as_nhwc(x: np.ndarray, what: str) -> np.ndarray:
    """[N, H, W] gray or [N, H, W, C] -> [N, H, W, C]."""
    if x.ndim == 3:
        return x[..., None]
    if x.ndim == 4:
        return x
    raise TinyconvError(f"{what}: expected images shaped [N, H, W] or [N, H, W, C], "
                        f"got {list(x.shape)}")
