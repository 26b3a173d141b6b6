"""Building blocks shared by the zoo families (imports TensorFlow: load only to build).

Every block is written so that the TFLite converter maps it onto the int8 ops
the firmware has kernels for: BatchNorm folds into the preceding conv, ReLU /
ReLU6 fuse into it, hard-swish is written as x * relu6(x + 3) / 6 (which the
converter recognises as one HARD_SWISH op), and reshapes use a -1 batch so they
stay constant RESHAPE ops (a Keras `Reshape` on a None batch adds SHAPE /
STRIDED_SLICE / PACK).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from tinyconv.errors import TinyconvError
from tinyconv.keras_compat import keras, layers, tf
from tinyconv.zoo.arch import make_divisible  # noqa: F401  (re-exported to the builders)

# Weight decay like the MLPerf Tiny references; harmless for int8 conversion.
L2 = 1e-4


def check_input(family: str, input_shape: Sequence[int], min_resolution: int) -> tuple[int, int, int]:
    """Validate an (H, W, C) input shape for `family`; returns it as a tuple of ints."""
    shape = tuple(int(d) for d in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise TinyconvError(f"{family}: input shape must be (height, width, channels), got {tuple(input_shape)}")
    height, width, _ = shape
    if height < min_resolution or width < min_resolution:
        raise TinyconvError(
            f"{family} needs an input of at least {min_resolution}x{min_resolution} pixels, got {height}x{width}"
        )
    return shape


def check_width(family: str, width: float) -> float:
    if not width > 0:
        raise TinyconvError(f"{family}: width multiplier must be positive, got {width}")
    return float(width)


def check_classes(family: str, num_classes: int) -> int:
    if int(num_classes) < 1:
        raise TinyconvError(f"{family}: num_classes must be at least 1, got {num_classes}")
    return int(num_classes)


def scaled(channels: int, width: float, divisor: int = 1) -> int:
    """`channels * width` rounded to a multiple of `divisor`, at least `divisor`."""
    return max(divisor, int(round(channels * width / divisor)) * divisor)


def spatial(x) -> tuple[int, int]:
    _, height, width, _ = x.shape
    return int(height), int(width)


def channels(x) -> int:
    return int(x.shape[-1])

# Keras' default 0.99 suits runs of many thousand steps; MCU-sized runs are often a few
# hundred (a NAS proxy, a short epoch on a small dataset), after which the moving statistics
# would still be near their initial values and inference-mode accuracy near chance. 0.9 is
# PyTorch's default and converges in ~50 steps.
BN_MOMENTUM = 0.9


def conv_bn(x, filters: int, kernel=1, strides=1, *, activation: str | None = "relu",
            padding: str = "same", groups: int = 1, name: str):
    """Conv (no bias: BN supplies it) + BatchNorm + activation; folds to one CONV_2D."""
    x = layers.Conv2D(filters, kernel, strides=strides, padding=padding, groups=groups, use_bias=False,
                      kernel_regularizer=keras.regularizers.l2(L2), name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    return activate(x, activation, name=name)


def dw_bn(x, kernel=3, strides=1, *, activation: str | None = "relu", padding: str = "same", name: str):
    """Depthwise conv + BatchNorm + activation; folds to one DEPTHWISE_CONV_2D."""
    x = layers.DepthwiseConv2D(kernel, strides=strides, padding=padding, use_bias=False, name=f"{name}_dw")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_dwbn")(x)
    return activate(x, activation, name=f"{name}_dw")


def activate(x, activation: str | None, *, name: str):
    """Apply an activation in the form the converter turns into the right TFLite op."""
    if activation is None:
        return x
    if activation == "relu":
        return layers.ReLU(name=f"{name}_relu")(x)
    if activation == "relu6":
        return layers.ReLU(6.0, name=f"{name}_relu6")(x)
    if activation == "leaky_relu":
        return layers.LeakyReLU(0.1, name=f"{name}_leaky")(x)
    if activation == "hard_swish":
        return hard_swish(x)
    if activation == "swish":
        return swish(x)
    raise ValueError(f"unknown activation {activation!r}")


def hard_swish(x):
    """x * relu6(x + 3) / 6: the pattern the converter fuses into one HARD_SWISH op.

    (Checked with TF 2.21: `/ 6`, `* (1/6)` and `x * hard_sigmoid(x)` all fuse;
    Keras' `Activation("hard_swish")` is not needed.)
    """
    return x * tf.nn.relu6(x + 3.0) / 6.0


def hard_sigmoid(x):
    """relu6(x + 3) / 6: the cheap gate of MobileNetV3's squeeze-excite.

    After a conv, the converter folds the +3 into the bias, fuses the RELU6 and
    absorbs the 1/6 into the quantization scale, so no extra op remains.
    """
    return tf.nn.relu6(x + 3.0) * (1.0 / 6.0)


def swish(x):
    """x * sigmoid(x), kept as LOGISTIC + MUL (EfficientNet's activation)."""
    return layers.Multiply()([x, layers.Activation("sigmoid")(x)])


def squeeze_excite(x, reduced: int, *, gate: str, inner: str = "relu", name: str):
    """Squeeze-excite: global mean -> 1x1 reduce -> 1x1 expand -> gate, then a [1,1,1,C] x [1,H,W,C] MUL."""
    filters = channels(x)
    s = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_se_pool")(x)
    s = layers.Conv2D(reduced, 1, name=f"{name}_se_reduce")(s)
    s = activate(s, inner, name=f"{name}_se")
    s = layers.Conv2D(filters, 1, name=f"{name}_se_expand")(s)
    if gate == "hard_sigmoid":
        s = hard_sigmoid(s)
    elif gate == "sigmoid":
        s = layers.Activation("sigmoid", name=f"{name}_se_sigmoid")(s)
    else:
        raise ValueError(f"unknown gate {gate!r}")
    return layers.Multiply(name=f"{name}_se_mul")([x, s])


def channel_shuffle(x, groups: int):
    """ShuffleNet's channel shuffle as RESHAPE -> TRANSPOSE -> RESHAPE, all rank 4.

    [1,H,W,C] -> [1, H*W, g, C/g] -> swap the last two axes -> [1,H,W,C]: the
    channel that was (group i, slot j) moves to (slot j, group i). Rank 4 keeps
    the TRANSPOSE within what every int8 runtime supports.
    """
    height, width = spatial(x)
    filters = channels(x)
    x = tf.reshape(x, [-1, height * width, groups, filters // groups])
    x = tf.transpose(x, [0, 1, 3, 2])
    return tf.reshape(x, [-1, height, width, filters])


def flatten(x):
    """Flatten with a constant [-1, N] shape (one RESHAPE op)."""
    return tf.reshape(x, [-1, math.prod(x.shape[1:])])


def classifier(x, num_classes: int, *, dropout: float = 0.0, name: str = "classifier"):
    """Dropout (training only) + Dense + softmax: FULLY_CONNECTED + SOFTMAX."""
    if dropout > 0:
        x = layers.Dropout(dropout, name=f"{name}_dropout")(x)
    x = layers.Dense(num_classes, kernel_regularizer=keras.regularizers.l2(L2), name=f"{name}_dense")(x)
    return layers.Softmax(name=f"{name}_softmax")(x)


def global_pool(x, name: str = "global_pool"):
    """Global average pooling to [N, C] (a MEAN over H, W)."""
    return layers.GlobalAveragePooling2D(name=name)(x)


def model(inputs, outputs, name: str):
    return keras.Model(inputs, outputs, name=name)
