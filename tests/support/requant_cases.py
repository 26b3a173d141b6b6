"""Single-op int8 models that sweep TFLite's requantization parameter space, and their
outputs computed in pure Python with tinyconv.quant.

Every model is CONV_2D (1x1, one input channel), DEPTHWISE_CONV_2D (1x1) or
FULLY_CONNECTED (depth 1) with one weight per output channel, so the accumulator of
channel c is exactly `w_c * (x - input_zp) + bias_c` and the effective scale
s_in * s_w[c] / s_out of each channel is chosen freely: multipliers above and below 1,
shifts from -31 down to the zero multiplier and up past 31, exact halves (powers of two),
mantissas that round up to 2^31, zero and denormal scales, accumulators that make
`acc * 2^left_shift` wrap and `result + output_offset` wrap.

Used by tests/unit/test_quant.py (quant.py against LiteRT) and tests/pipeline/
test_requant.py (tinyconv's generated C against LiteRT).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tflite_builder as tb
from tflite_builder import schema

from tinyconv import quant as Q
from tinyconv.errors import TinyconvError
from tinyconv.ir.ops import Activation

OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


@dataclass(frozen=True)
class Channel:
    weight: int   # the channel's one int8 weight
    bias: int     # int32
    scale: float  # the weight scale (stored as float32)


@dataclass(frozen=True)
class Case:
    op: str
    input_quant: tuple[float, int]
    output_quant: tuple[float, int]
    channels: tuple[Channel, ...]
    per_channel: bool = True  # False: one weight scale (channels[0].scale) for all
    activation: str = "NONE"
    bias_scale_error: float = 0.0  # the bias scale is s_in * s_w * (1 + this)

    def weight_scales(self) -> list[float]:
        scales = [Q.f32(c.scale) for c in self.channels]
        return scales if self.per_channel else scales[:1]


def all_codes(case: Case) -> np.ndarray:
    """The input that feeds every int8 code to every channel, in the op's layout."""
    codes = np.arange(-128, 128, dtype=np.int8)
    if case.op == "CONV_2D":
        return codes.reshape(1, 16, 16, 1)
    if case.op == "DEPTHWISE_CONV_2D":
        return np.repeat(codes.reshape(1, 16, 16, 1), len(case.channels), axis=3)
    return codes.reshape(256, 1)


def _add(b: tb.ModelBuilder, case: Case) -> tuple[int, int]:
    n = len(case.channels)
    scales = case.weight_scales()
    weights = np.array([c.weight for c in case.channels], np.int8)
    s_in, zp_in = case.input_quant
    # as the converter writes it: s_in * s_w (LiteRT checks it on per-tensor FC layers)
    bias_scales = [Q.f32(float(np.float64(Q.f32(s_in)) * np.float64(s))
                         * (1 + case.bias_scale_error)) for s in scales]
    bias_data = np.array([c.bias for c in case.channels], np.int32)
    if case.op == "CONV_2D":
        x = b.tensor((1, 16, 16, 1), "int8", s_in, zp_in)
        w = b.const(weights.reshape(n, 1, 1, 1), scale=scales, zero_point=[0] * len(scales),
                    quantized_dimension=0)
        y_shape, options = (1, 16, 16, n), schema.Conv2DOptionsT(
            padding=tb.Padding.VALID, strideH=1, strideW=1, dilationHFactor=1,
            dilationWFactor=1, fusedActivationFunction=tb.ACTIVATIONS[case.activation])
    elif case.op == "DEPTHWISE_CONV_2D":
        x = b.tensor((1, 16, 16, n), "int8", s_in, zp_in)
        w = b.const(weights.reshape(1, 1, 1, n), scale=scales, zero_point=[0] * len(scales),
                    quantized_dimension=3)
        y_shape, options = (1, 16, 16, n), schema.DepthwiseConv2DOptionsT(
            padding=tb.Padding.VALID, strideH=1, strideW=1, depthMultiplier=1,
            dilationHFactor=1, dilationWFactor=1,
            fusedActivationFunction=tb.ACTIVATIONS[case.activation])
    else:
        x = b.tensor((256, 1), "int8", s_in, zp_in)
        w = b.const(weights.reshape(n, 1), scale=scales, zero_point=[0] * len(scales),
                    quantized_dimension=0)
        y_shape, options = (256, n), schema.FullyConnectedOptionsT(
            fusedActivationFunction=tb.ACTIVATIONS[case.activation])
    bias = b.const(bias_data, scale=bias_scales, zero_point=[0] * len(bias_scales))
    y = b.tensor(y_shape, "int8", *case.output_quant)
    b.op(case.op, [x, w, bias], [y], options)
    return x, y


def build(case: Case) -> bytes:
    b = tb.ModelBuilder(case.op)
    x, y = _add(b, case)
    return b.build([x], [y])


def build_many(cases: list[Case]) -> bytes:
    """All the cases in one model: one input and one output each (one firmware build)."""
    b = tb.ModelBuilder("requantization sweep")
    ios = [_add(b, case) for case in cases]
    return b.build([x for x, _ in ios], [y for _, y in ios])


def expected(case: Case, x: np.ndarray) -> np.ndarray:
    """The op's output for input `x` (in the op's layout), from tinyconv.quant alone."""
    s_in, zp_in = case.input_quant
    s_out, zp_out = case.output_quant
    act_min, act_max = Q.activation_range(Activation[case.activation], s_out, zp_out)
    scales = case.weight_scales()
    n = len(case.channels)
    pixels = x.reshape(256, -1).astype(np.int64)
    out = np.empty((256, n), np.int8)
    for c, ch in enumerate(case.channels):
        scale = Q.effective_scale(s_in, scales[c if case.per_channel else 0], s_out)
        column = pixels[:, c if case.op == "DEPTHWISE_CONV_2D" else 0]
        if case.op == "FULLY_CONNECTED":
            out[:, c] = [Q.requantize_output_f64(ch.weight * (int(v) - zp_in) + ch.bias,
                                                 scale, zp_out, act_min, act_max)
                         for v in column]
        else:
            multiplier, shift = Q.quantize_multiplier(scale)
            out[:, c] = [Q.requantize_output(ch.weight * (int(v) - zp_in) + ch.bias,
                                             multiplier, shift, zp_out, act_min, act_max)
                         for v in column]
    return out.reshape(x.shape[:-1] + (n,)) if case.op != "FULLY_CONNECTED" else out


# -- the sweep --------------------------------------------------------------------------------

def sweep_scales() -> list[float]:
    """Effective scales over the whole space: every shift, exact halves, round-ups."""
    scales = [0.0]
    for k in range(-36, 42):
        scales += [2.0**k,                       # mantissa 0.5: exact halves everywhere
                   2.0**k * (1 - 2.0**-33),      # mantissa rounds up to 2^31: halved, shift+1
                   2.0**k * 0.7318]
    scales += [2.0**-31.5, 2.0**-32 * 0.999, 2.0**-32, 1e-38, 1e-45, 2.0**30 * (1 - 2.0**-40),
               2.0**62, 2.0**100, 1e30, 2.0**-60]
    # in the NEAR_ONE frames, multiplier 2^31 - 26: the largest accumulators scale to within
    # 128 of the int32 limits, and adding the output zero point wraps
    s_in, s_w, s_out = NEAR_ONE
    scales += [s_in * s_w / s_out]
    return scales


def _channels_for(scale: float, s_in: float, s_out: float, zp_in: int,
                  rng: np.random.Generator, wrap_offset: bool) -> list[Channel]:
    """A few channels of one effective scale, with accumulators chosen to hit its corners.

    Every accumulator stays inside int32 whatever the input: |bias| + |w| * max|x - zp|
    <= INT32_MAX, the bound tinyconv's IR validation enforces (a wrapping int32 sum is
    undefined behaviour in C)."""
    w_scale = scale * s_out / s_in
    _, shift = Q.quantize_multiplier(Q.effective_scale(s_in, w_scale, s_out))
    left = shift & 31 if shift > 0 else 0
    input_reach = max(127 - zp_in, zp_in + 128)  # the largest |x - zp|
    reach = 127 * input_reach  # the largest |w * (x - zp)|
    channels = [Channel(1, 0, w_scale),
                Channel(int(rng.choice([-127, 127])), int(rng.integers(-3000, 3000)), w_scale)]
    if left > 0:
        # acc * 2^left wraps to small multiples of 2^left: LiteRT's overflow, reproduced
        channels.append(Channel(1, 1 << (32 - left) if left > 1 else 0, w_scale))
        # acc * 2^left hits INT32_MIN exactly (no wrap): the doubling high multiply's corner
        channels.append(Channel(1, -(1 << (31 - left)) - (0 - zp_in), w_scale))
    big = 2**31 - 1 - reach
    channels.append(Channel(int(rng.choice([-127, 127])), int(rng.integers(-big, big)),
                            w_scale))
    if wrap_offset and shift >= 0:
        # accumulators up to +-(INT32_MAX - 7): with a multiplier near 2^31,
        # result + output_offset wraps in int32
        channels.append(Channel(1, Q.INT32_MAX - input_reach, w_scale))
        channels.append(Channel(1, -(Q.INT32_MAX - input_reach), w_scale))
    return channels


# float32 (s_in, s_w, s_out) whose double s_in * s_w / s_out is (2^31 - 26) * 2^-31
NEAR_ONE = (0.5204867720603943, 0.9765163064002991, 0.5082638263702393)

# (s_in, zp_in, s_out, zp_out): plain, asymmetric, denormal input and output scales
SCALE_FRAMES = [
    (NEAR_ONE[0], 3, NEAR_ONE[2], -100),
    (NEAR_ONE[0], -3, NEAR_ONE[2], 100),
    (1.0, 0, 1.0, 0),
    (0.5, -7, 0.25, -5),
    (2.0**-10, 100, 2.0**-3, 9),
    (1e-40, -128, 1e-41, 3),    # both denormal: their ratio is ~10, with few mantissa bits
    (1e-39, 0, 1.0, -128),      # denormal input scale, normal output
    (1.0, 5, 1e-42, 127),       # denormal output scale: huge effective scales
]


def sweep_cases(op: str, seed: int = 0, stride: int = 1, activations=("NONE",),
                wrap_offset: bool = True) -> list[Case]:
    """One case per scale frame: all of `sweep_scales()` (every `stride`-th) as channels."""
    rng = np.random.default_rng(seed)
    cases = []
    for k, (s_in, zp_in, s_out, zp_out) in enumerate(SCALE_FRAMES):
        channels: list[Channel] = []
        for scale in sweep_scales()[k % stride::stride]:
            w_scale = scale * s_out / s_in
            if not math.isfinite(w_scale) or Q.f32(w_scale) > 3.4e38:
                continue
            channels += _channels_for(scale, s_in, s_out, zp_in, rng, wrap_offset)
        activation = activations[k % len(activations)]
        try:  # LiteRT refuses RELU6 / RELU_N1_TO_1 when 6 / s_out overflows int32
            Q.activation_range(Activation[activation], s_out, zp_out)
        except TinyconvError:
            activation = "RELU"
        cases.append(Case(op, (s_in, zp_in), (s_out, zp_out), tuple(channels),
                          activation=activation))
    return cases


def random_cases(op: str, n: int, seed: int) -> list[Case]:
    """Random effective scales, log-uniform over [2^-40, 2^40], random weights, biases and
    quantization: the bulk of the space rather than its corners."""
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(n):
        s_in = float(2.0 ** rng.uniform(-20, 5))
        s_out = float(2.0 ** rng.uniform(-20, 5))
        zp_in, zp_out = (int(v) for v in rng.integers(-128, 128, size=2))
        channels = []
        for _ in range(int(rng.integers(4, 24))):
            scale = float(2.0 ** rng.uniform(-40, 40))
            if rng.random() < 0.3:  # exact powers of two: ties
                scale = float(2.0 ** rng.integers(-40, 40))
            weight = int(rng.integers(-127, 128))
            bias = int(rng.integers(-(2**31) + 40000, 2**31 - 40000)) if rng.random() < 0.3 \
                else int(rng.integers(-50000, 50000))
            channels.append(Channel(weight, bias, scale * s_out / s_in))
        cases.append(Case(op, (s_in, zp_in), (s_out, zp_out), tuple(channels),
                          per_channel=op != "FULLY_CONNECTED" or bool(rng.random() < 0.5),
                          activation=str(rng.choice(list(tb.ACTIVATIONS)))))
    return cases
