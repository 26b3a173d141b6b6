"""Channel rounding shared by the Keras builders and the NAS's Keras-free graph builder
(tinyconv.space), which must agree to the channel for its memory model to be exact.
No TensorFlow here."""

from __future__ import annotations


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round channels to a multiple of `divisor`, never dropping more than 10 % (MobileNet rule)."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded
