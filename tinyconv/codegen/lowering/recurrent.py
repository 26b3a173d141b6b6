"""Lowering of recurrent and streaming ops (UNIDIRECTIONAL_SEQUENCE_LSTM, SVDF).

Both keep their state in variable tensors (the planner keeps them for the whole model; the
generated tc_model_reset() zeroes them). Every parameter is computed as the op's Prepare()
computes it, with the same float / double arithmetic:

- SVDF: TFLite Micro's PrepareSvdf (svdf_common.cc), the oracle for SVDF (LiteRT 2.3.0's
  reference SVDF corrupts its heap on real keyword models):
      effective_scale_1 = (double)(float)(s_in * s_wf / s_state)
      effective_scale_2 = (double)(float)(s_state * s_wt / s_out)
- LSTM: LiteRT's unidirectional_sequence_lstm.cc PopulateQuantizedLstmParams8x8_16 and
  PopulatePrecomputedZPTimesWeightsWithBias: gate matmuls land in Q3.12 (without layer
  normalization) or in intermediate g's scale (with it: the layer norm then brings them to
  Q3.12, the gate bias goes into the norm and not into the effective bias), the "effective
  biases" fold the input zero points into the gate biases, the hidden state uses
  intermediate 4's scale and zero point. With a projection, LiteRT 2.3 adds MINUS that
  zero point to the hidden state (CwiseMul(..., -hidden_zp), b/246629213) and folds
  +zero point times the row sums into the projection's bias; without one it adds it.
- 16x8 LSTM (int16 activations): TFLite Micro's lstm_eval_common.cc, its only oracle (LiteRT
  2.3 refuses it): gate FCs with GetQuantizedConvolutionMultipler's float product over the
  Q3.12 scale, the inter-gate multiplications' double scales, the cell clip in double.
"""

from __future__ import annotations

import math

import numpy as np

from ...ir.graph import DType, Tensor
from ...ir.ops import Svdf, UnidirectionalSequenceLstm
from ...quant import f32, quantize_multiplier, wrap_int32_array
from .base import CExpr, CStruct, KernelCall, LowerContext, lowering, require

# The gate matmuls' output scale without layer normalization: Q3.12.
GATE_SCALE = 2.0**-12


def _scale(t: Tensor) -> float:
    assert t.quant is not None
    return t.quant.s


def _quant(real: float) -> CStruct:
    multiplier, shift = quantize_multiplier(float(real))
    return CStruct({"multiplier": multiplier, "shift": shift})


def _f32_product_ratio(a: float, b: float, c: float) -> float:
    """a * b / c in float32, left to right, as C++ computes three floats."""
    with np.errstate(all="ignore"):
        return float(np.float32(np.float32(f32(a)) * np.float32(f32(b))) / np.float32(f32(c)))


# -- SVDF ------------------------------------------------------------------------------------

def svdf_params(op: Svdf) -> dict:
    x, wf, wt, _, state = op.inputs[:5]
    assert x is not None and wf is not None and wt is not None and state is not None
    batch, depth = x.shape
    filters, memory = wt.shape
    return {
        "batch": batch, "input_size": depth, "filters": filters, "units": op.y.shape[-1],
        "rank": op.rank, "memory": memory,
        "input_offset": -x.quant.zp,  # type: ignore[union-attr]
        "state_zero_point": state.quant.zp,  # type: ignore[union-attr]
        "output_offset": op.y.quant.zp,  # type: ignore[union-attr]
        "feature_quant": _quant(_f32_product_ratio(_scale(x), _scale(wf), _scale(state))),
        "time_quant": _quant(_f32_product_ratio(_scale(state), _scale(wt), _scale(op.y))),
    }


@lowering(Svdf, kernels=("tc_svdf_s8", "tc_svdf_s8_s16"), dtypes=("int8",))
def lower_svdf(op: Svdf, ctx: LowerContext) -> KernelCall:
    x, wf, wt, bias, state = op.inputs[:5]
    assert x is not None and wf is not None and wt is not None and state is not None
    require(wt.dtype is state.dtype, op, f"time weights are {wt.dtype.name} but the state is "
            f"{state.dtype.name} (TFLite runs them as one type)")
    function = "tc_svdf_s8_s16" if state.dtype is DType.INT16 else "tc_svdf_s8"
    params = ctx.param("tc_svdf_params", CStruct(svdf_params(op)), "svdf_params")
    return KernelCall(function, [
        ctx.scratch(), params, ctx.tensor_ptr(x), ctx.tensor_ptr(wf), ctx.tensor_ptr(wt),
        ctx.tensor_ptr(bias) if bias is not None else "NULL", ctx.tensor_ptr(state),
        ctx.tensor_ptr(op.y)],
        comment=f"rank {op.rank}, memory {wt.shape[1]}, {state.dtype.name.lower()} state")


# -- UNIDIRECTIONAL_SEQUENCE_LSTM ------------------------------------------------------------

def _row_sums_times(w: Tensor, scalar: int, bias: Tensor | None) -> np.ndarray:
    """PrecomputeZeroPointTimesWeightWithBias: bias (or 0) + scalar * sum of each row."""
    assert w.data is not None
    rows = w.data.astype(np.int64).sum(axis=1) * scalar
    base = bias.data.astype(np.int64) if bias is not None and bias.data is not None \
        else np.zeros(w.shape[0], np.int64)
    return wrap_int32_array(base + wrap_int32_array(rows))


_NO_QUANT = {"multiplier": 0, "shift": 0}


def _null_gate() -> CStruct:
    return CStruct({"input_weights": CExpr("NULL"), "input_bias": CExpr("NULL"),
                    "input_quant": CStruct(_NO_QUANT), "recurrent_weights": CExpr("NULL"),
                    "recurrent_bias": CExpr("NULL"), "recurrent_quant": CStruct(_NO_QUANT),
                    "cell_weights": CExpr("NULL"), "cell_quant": CStruct(_NO_QUANT),
                    "layer_norm_weights": CExpr("NULL"), "layer_norm_bias": CExpr("NULL"),
                    "layer_norm_quant": CStruct(_NO_QUANT), "variance_guard": 0})


def lstm_params(op: UnidirectionalSequenceLstm, ctx: LowerContext) -> CStruct:
    x, y = op.x, op.y
    output_state = op.input(op.OUTPUT_STATE)
    cell_state = op.input(op.CELL_STATE)
    hidden = op.intermediates[4]
    assert output_state is not None and cell_state is not None and hidden is not None
    s_in, s_state = _scale(x), _scale(output_state)
    cell_scale = int(round(math.log(_scale(cell_state)) / math.log(2.0)))
    zp_in = x.quant.zp  # type: ignore[union-attr]
    zp_state = output_state.quant.zp  # type: ignore[union-attr]
    hidden_zp = hidden.quant.zp  # type: ignore[union-attr]
    layer_norm = op.input(op.LAYER_NORM[1]) is not None

    def array(values: np.ndarray, hint: str) -> CExpr:
        return CExpr(ctx.const_array(values.astype(np.int32), "int32_t", hint))

    gates = []
    for g in range(4):
        w = op.input(op.INPUT_TO_GATE[g])
        r = op.input(op.RECURRENT_TO_GATE[g])
        b = op.input(op.GATE_BIAS[g])
        if w is None or r is None:  # CIFG: no input gate
            gates.append(_null_gate())
            continue
        # The gate matmuls' output scale: intermediate g with layer normalization, else
        # Q3.12 (LiteRT ignores the intermediates then).
        intermediate = op.intermediates[g]
        gate_scale = _scale(intermediate) if layer_norm and intermediate else GATE_SCALE
        peephole = op.input(op.CELL_TO_GATE[{0: 0, 1: 1, 3: 2}[g]]) if g != 2 else None
        cell_quant = CStruct(_NO_QUANT)
        if peephole is not None:
            # double: pow(2, cell_scale) * (double)s_peephole / (double)s_gate, to float
            cell_quant = _quant(f32(2.0**cell_scale * f32(_scale(peephole)) / f32(gate_scale)))
        norm: dict = {"layer_norm_weights": CExpr("NULL"), "layer_norm_bias": CExpr("NULL"),
                      "layer_norm_quant": CStruct(_NO_QUANT), "variance_guard": 0}
        if layer_norm:
            coefficients = op.input(op.LAYER_NORM[g])
            assert coefficients is not None and b is not None and b.data is not None
            s_ln = _scale(coefficients)
            with np.errstate(all="ignore"):  # static_cast<int32_t>(10000 * float)
                guard = float(np.float32(10000) * np.float32(s_ln))
            norm = {"layer_norm_weights": CExpr(ctx.tensor_ptr(coefficients)),
                    "layer_norm_bias": array(b.data, "layer_norm_bias"),
                    "layer_norm_quant": _quant(s_ln),
                    "variance_guard": max(1, int(guard))}
        gates.append(CStruct({
            "input_weights": CExpr(ctx.tensor_ptr(w)),
            # with layer normalization the gate bias is added inside the norm
            "input_bias": array(_row_sums_times(w, -zp_in, None if layer_norm else b),
                                "input_bias"),
            "input_quant": _quant(_f32_product_ratio(_scale(w), s_in, gate_scale)),
            "recurrent_weights": CExpr(ctx.tensor_ptr(r)),
            "recurrent_bias": array(_row_sums_times(r, -zp_state, None), "recurrent_bias"),
            "recurrent_quant": _quant(_f32_product_ratio(_scale(r), s_state, gate_scale)),
            "cell_weights": CExpr(ctx.tensor_ptr(peephole)) if peephole is not None
            else CExpr("NULL"),
            "cell_quant": cell_quant,
            **norm,
        }))

    # double: pow(2, -15) / (double)s_hidden * pow(2, -15), stored in a float
    hidden_quant = _quant(f32(2.0**-15 / f32(_scale(hidden)) * 2.0**-15))
    projection = op.input(op.PROJECTION_WEIGHTS)
    projection_fields: dict = {"projection_weights": CExpr("NULL"),
                               "projection_bias": CExpr("NULL"),
                               "projection_quant": CStruct({"multiplier": 0, "shift": 0})}
    if projection is not None:
        projection_fields = {
            "projection_weights": CExpr(ctx.tensor_ptr(projection)),
            # LiteRT folds +hidden_zp (the kernel's hidden carries -hidden_zp)
            "projection_bias": array(_row_sums_times(projection, hidden_zp,
                                                     op.input(op.PROJECTION_BIAS)),
                                     "projection_bias"),
            "projection_quant": _quant(_f32_product_ratio(_scale(projection),
                                                          _scale(hidden), s_state)),
        }

    def clip(value: float, scale: float, low: int, high: int) -> int:
        """static_cast<intN>(min(max(clip / scale, low), high)) in float; 0: no clip."""
        if value <= 0.0:
            return 0
        with np.errstate(all="ignore"):
            ratio = float(np.float32(f32(value)) / np.float32(f32(scale)))
        return int(min(max(ratio, float(low)), float(high)))

    batch, time = (x.shape[1], x.shape[0]) if op.time_major else (x.shape[0], x.shape[1])
    return CStruct({
        "batch": batch, "time": time, "time_major": int(op.time_major),
        "input_size": x.shape[2], "cells": op.cells, "output_size": op.output_size,
        "input_gate": gates[0], "forget_gate": gates[1], "cell_gate": gates[2],
        "output_gate": gates[3],
        "cell_scale": cell_scale,
        "cell_clip": clip(op.cell_clip, _scale(cell_state), -32768, 32767),
        "hidden_quant": hidden_quant, "hidden_zero_point": hidden_zp,
        **projection_fields,
        "output_state_zero_point": zp_state,
        "projection_clip": clip(op.proj_clip, _scale(y), -128, 127),
    })


def _pot_activation(integer_bits: int) -> CStruct:
    """The (input_multiplier, input_left_shift) TFLite's int16 Logistic / Tanh get for a
    Q(ib).(15-ib) input, as TFLite Micro's LSTM computes them: left = ib - 3, then a
    multiplier of 3 << left (left >= 0), or 3 and a right shift of -left."""
    left = integer_bits - 3
    if left >= 0:
        return CStruct({"input_multiplier": 3 << left, "input_left_shift": 0})
    return CStruct({"input_multiplier": 3, "input_left_shift": -left})


def _gate_fc_quant(op: UnidirectionalSequenceLstm, x: Tensor, w: Tensor) -> CStruct:
    """GetQuantizedConvolutionMultipler: (double)(float)(s_x * s_w) / (double)2^-12; the
    16x8 requantization (tc_requantize_s64) takes shifts up to 14."""
    with np.errstate(all="ignore"):
        real = float(np.float32(np.float32(f32(_scale(x))) * np.float32(f32(_scale(w)))))
    multiplier, shift = quantize_multiplier(real / GATE_SCALE)
    require(-31 <= shift <= 14, op, f"the gate scale {real / GATE_SCALE!r} of weights "
            f"{w.name!r} is out of the 16x8 requantization's range")
    return CStruct({"multiplier": multiplier, "shift": shift})


def lstm_s16_params(op: UnidirectionalSequenceLstm, ctx: LowerContext) -> CStruct:
    """TFLite Micro's PrepareGateParametersInteger / CreateInterGateMulParams /
    CreateLstmCellStateInfo (lstm_eval_common.cc)."""
    x = op.x
    output_state = op.input(op.OUTPUT_STATE)
    cell_state = op.input(op.CELL_STATE)
    assert output_state is not None and cell_state is not None
    s_cell, s_hidden = f32(_scale(cell_state)), f32(_scale(output_state))
    cell_power = int(round(math.log(s_cell) / math.log(2.0)))
    gates = []
    for g in range(4):
        w, r, b = (op.input(op.INPUT_TO_GATE[g]), op.input(op.RECURRENT_TO_GATE[g]),
                   op.input(op.GATE_BIAS[g]))
        assert w is not None and r is not None and b is not None
        gates.append(CStruct({
            "input_weights": CExpr(ctx.tensor_ptr(w)), "bias": CExpr(ctx.tensor_ptr(b)),
            "input_quant": _gate_fc_quant(op, x, w),
            "recurrent_weights": CExpr(ctx.tensor_ptr(r)),
            "recurrent_quant": _gate_fc_quant(op, output_state, r)}))
    q15 = 2.0 ** -15  # the gates' output scale, exact in float and double
    clip = 0
    if op.cell_clip > 0:  # double(clip) / double(scale), clamped, to int16
        clip = int(min(max(f32(op.cell_clip) / s_cell, -32768.0), 32767.0))
    batch, time = (x.shape[1], x.shape[0]) if op.time_major else (x.shape[0], x.shape[1])
    return CStruct({
        "batch": batch, "time": time, "time_major": int(op.time_major),
        "input_size": x.shape[2], "cells": op.cells,
        "input_gate": gates[0], "forget_gate": gates[1], "cell_gate": gates[2],
        "output_gate": gates[3],
        "cell_gate_sigmoid": int(op.cell_activation == 6),
        "gate_activation": _pot_activation(3),
        "cell_tanh": _pot_activation(15 + cell_power),
        "forget_quant": _quant(q15 * s_cell / s_cell),
        "input_quant": _quant(q15 * q15 / s_cell),
        "hidden_quant": _quant(q15 * q15 / s_hidden),
        "hidden_zero_point": output_state.quant.zp,  # type: ignore[union-attr]
        "cell_clip": clip,
    })


@lowering(UnidirectionalSequenceLstm, kernels=("tc_lstm_unidirectional_s8_s16",
                                               "tc_lstm_unidirectional_s16"),
          dtypes=("int8", "int16"))
def lower_sequence_lstm(op: UnidirectionalSequenceLstm, ctx: LowerContext) -> KernelCall:
    output_state = op.input(op.OUTPUT_STATE)
    cell_state = op.input(op.CELL_STATE)
    assert output_state is not None and cell_state is not None
    if op.x.dtype is DType.INT16:  # 16x8: TFLite Micro's arithmetic (its only oracle)
        params = ctx.param("tc_lstm_s16_params", lstm_s16_params(op, ctx), "lstm_params")
        return KernelCall("tc_lstm_unidirectional_s16", [
            ctx.scratch(), params, ctx.tensor_ptr(op.x), ctx.tensor_ptr(output_state),
            ctx.tensor_ptr(cell_state), ctx.tensor_ptr(op.y)],
            comment=f"16x8, {op.cells} cells, int16 cell state (TFLite Micro's LSTM)")
    params = ctx.param("tc_lstm_params", lstm_params(op, ctx), "lstm_params")
    variant = ("CIFG " if op.input(1) is None else "") + \
        ("peephole " if op.input(10) is not None else "") + \
        ("projection " if op.input(op.PROJECTION_WEIGHTS) is not None else "") + \
        ("layer-norm " if op.input(op.LAYER_NORM[1]) is not None else "")
    return KernelCall("tc_lstm_unidirectional_s8_s16", [
        ctx.scratch(), params, ctx.tensor_ptr(op.x), ctx.tensor_ptr(output_state),
        ctx.tensor_ptr(cell_state), ctx.tensor_ptr(op.y)],
        comment=f"{variant}{op.cells} cells, int16 cell state")
