"""Lowering of recurrent and streaming ops (UNIDIRECTIONAL_SEQUENCE_LSTM, SVDF).

Both keep their state in variable tensors (the planner keeps them for the whole model; the
generated tc_model_reset() zeroes them). Every parameter is computed as the op's Prepare()
computes it, with the same float / double arithmetic:

- SVDF: TFLite Micro's PrepareSvdf (svdf_common.cc), the oracle for SVDF (LiteRT 2.3.0's
  reference SVDF corrupts its heap on real keyword models):
      effective_scale_1 = (double)(float)(s_in * s_wf / s_state)
      effective_scale_2 = (double)(float)(s_state * s_wt / s_out)
- LSTM: LiteRT's unidirectional_sequence_lstm.cc PopulateQuantizedLstmParams8x8_16 and
  PopulatePrecomputedZPTimesWeightsWithBias: gate matmuls land in Q3.12 (the intermediate
  scale 2^-12 of an LSTM without layer normalization), the "effective biases" fold the
  input zero points into the gate biases, the hidden state uses intermediate 4's scale and
  zero point (LiteRT 2.3 adds that zero point after the requantization, and folds its
  negation into the projection's bias; validate.py still refuses projection LSTMs, whose
  outputs are 1-3 LSB off LiteRT's on some models).
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


def _null_gate() -> CStruct:
    zero = CStruct({"multiplier": 0, "shift": 0})
    return CStruct({"input_weights": CExpr("NULL"), "input_bias": CExpr("NULL"),
                    "input_quant": zero, "recurrent_weights": CExpr("NULL"),
                    "recurrent_bias": CExpr("NULL"), "recurrent_quant": zero,
                    "cell_weights": CExpr("NULL"), "cell_quant": zero})


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
        peephole = op.input(op.CELL_TO_GATE[{0: 0, 1: 1, 3: 2}[g]]) if g != 2 else None
        cell_quant = CStruct({"multiplier": 0, "shift": 0})
        if peephole is not None:
            # double: pow(2, cell_scale) * (double)s_peephole / (double)s_gate, to float
            cell_quant = _quant(f32(2.0**cell_scale * f32(_scale(peephole)) / GATE_SCALE))
        gates.append(CStruct({
            "input_weights": CExpr(ctx.tensor_ptr(w)),
            "input_bias": array(_row_sums_times(w, -zp_in, b), "input_bias"),
            "input_quant": _quant(_f32_product_ratio(_scale(w), s_in, GATE_SCALE)),
            "recurrent_weights": CExpr(ctx.tensor_ptr(r)),
            "recurrent_bias": array(_row_sums_times(r, -zp_state, None), "recurrent_bias"),
            "recurrent_quant": _quant(_f32_product_ratio(_scale(r), s_state, GATE_SCALE)),
            "cell_weights": CExpr(ctx.tensor_ptr(peephole)) if peephole is not None
            else CExpr("NULL"),
            "cell_quant": cell_quant,
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
            "projection_bias": array(_row_sums_times(projection, -hidden_zp,
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


@lowering(UnidirectionalSequenceLstm, kernels=("tc_lstm_unidirectional_s8_s16",),
          dtypes=("int8",))
def lower_sequence_lstm(op: UnidirectionalSequenceLstm, ctx: LowerContext) -> KernelCall:
    output_state = op.input(op.OUTPUT_STATE)
    cell_state = op.input(op.CELL_STATE)
    assert output_state is not None and cell_state is not None
    params = ctx.param("tc_lstm_params", lstm_params(op, ctx), "lstm_params")
    variant = ("CIFG " if op.input(1) is None else "") + \
        ("peephole " if op.input(10) is not None else "") + \
        ("projection " if op.input(op.PROJECTION_WEIGHTS) is not None else "")
    return KernelCall("tc_lstm_unidirectional_s8_s16", [
        ctx.scratch(), params, ctx.tensor_ptr(op.x), ctx.tensor_ptr(output_state),
        ctx.tensor_ptr(cell_state), ctx.tensor_ptr(op.y)],
        comment=f"{variant}{op.cells} cells, int16 cell state")
