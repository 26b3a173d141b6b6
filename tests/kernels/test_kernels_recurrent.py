"""LSTM and SVDF kernels, end to end, bit exact over sequences of invokes.

UNIDIRECTIONAL_SEQUENCE_LSTM with int8 activations and an int16 cell state (plain, CIFG,
peephole, projection, layer norm) is compared with LiteRT's reference interpreter; SVDF and
the 16x8 LSTM (int16 activations) with TFLite Micro (`match="tflm"`): LiteRT 2.3.0's
reference SVDF corrupts its heap on real keyword models, and LiteRT does not run 16x8 LSTMs
(nor does the TFLite converter make them: "Quantization to 16x8-bit not yet supported for
op: 'UNIDIRECTIONAL_SEQUENCE_LSTM'").

State. Both oracles run every sample of a verify() through ONE interpreter, and the
firmware app runs them through one tc_model_invoke() after another: so sample k's outputs
depend on the state left by samples 0..k-1 in all three, and comparing all samples compares
the state carried over k invokes (each invoke of an LSTM also runs its `time` steps).
tc_model_reset() is checked by running a sequence, resetting and running it again on the
host: both halves must be identical (and equal to the oracle's fresh interpreter).

Models are built with tests/support/tflite_builder.py, several independent ops per model
("battery"), each with its own random shapes (batch, time, units, rank, memory) and
quantization, so that each board costs one build per oracle.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tflite_builder as tb
from harness import board_params
from tflite_builder import ModelBuilder, schema
from tinyconv import targets
from tinyconv.errors import TinyconvError
from tinyconv.ir.tflite_import import import_tflite
from tinyconv.planner import plan_memory, variable_tensors
from tinyconv.verify import verify

BOARDS = board_params(["host", "qemu-m4", "qemu-m55"])
SLOW_BOARDS = board_params(["qemu-m3", "qemu-m7"], slow=True)


def _variable(b: ModelBuilder, shape, dtype, scale, zero_point) -> int:
    t = b.tensor(shape, dtype, scale, zero_point)
    b.tensors[t].isVariable = True
    return t


# -- SVDF ------------------------------------------------------------------------------------

def add_svdf(b: ModelBuilder, rng: np.random.Generator, *, batch=None, depth=None, units=None,
             rank=None, memory=None, state16=None, bias=True) -> tuple[int, int]:
    """One SVDF on a new int8 input; returns (input, output)."""
    batch = batch or int(rng.integers(1, 3))
    depth = depth or int(rng.integers(1, 20))
    units = units or int(rng.integers(1, 9))
    rank = rank or int(rng.integers(1, 4))
    memory = memory or int(rng.integers(1, 9))
    state16 = bool(rng.integers(0, 2)) if state16 is None else state16
    filters = units * rank
    x = b.tensor((batch, depth), "int8", tb.random_scale(rng, 0.01, 0.1),
                 int(rng.integers(-30, 30)))
    s_wf = tb.random_scale(rng, 0.002, 0.02)
    wf = b.const(rng.integers(-127, 128, (filters, depth)).astype(np.int8), scale=s_wf,
                 zero_point=0)
    dtype, limit = ("int16", 4000) if state16 else ("int8", 127)
    # The state's scale keeps the feature results mostly in range (some saturate).
    s_state = 0.1 * np.sqrt(depth) * s_wf * 60 / (3000 if state16 else 60)
    z_state = 0 if state16 else int(rng.integers(-20, 20))
    s_wt = tb.random_scale(rng, 1e-4, 1e-2)
    wt = b.const(rng.integers(-limit, limit + 1, (filters, memory)).astype(dtype), scale=s_wt,
                 zero_point=0)
    bias_t = -1
    if bias:
        bias_t = b.const(rng.integers(-3000, 3000, (units,)).astype(np.int32),
                         scale=float(np.float32(s_state) * np.float32(s_wt)), zero_point=0)
    state = _variable(b, (batch, filters * memory), dtype, s_state, z_state)
    typical_state = 3000 if state16 else 60  # quantized units, from s_state above
    reach = np.sqrt(memory * rank) * (limit / 2) * typical_state * s_wt * s_state
    y = b.tensor((batch, units), "int8", float(reach / 40 + 1e-6), int(rng.integers(-20, 20)))
    options = schema.SVDFOptionsT()
    options.rank = rank
    options.fusedActivationFunction = tb.ACTIVATIONS["NONE"]
    b.op("SVDF", [x, wf, wt, bias_t, state], [y], options)
    return x, y


def svdf_keyword_model(seed: int = 0, features: int = 40, classes: int = 4) -> bytes:
    """A streaming keyword spotter laid out like TFLite Micro's SVDF keyword models: one
    feature frame per invoke, SVDF (int16 state, memory 8) -> SVDF (memory 4) ->
    FULLY_CONNECTED -> SOFTMAX; the two SVDFs remember the last frames between invokes."""
    rng = np.random.default_rng(seed)
    b = ModelBuilder("svdf keyword spotter")
    x, h1 = add_svdf(b, rng, batch=1, depth=features, units=32, rank=1, memory=8,
                     state16=True)
    # The second SVDF reads the first one's output instead of a new input.
    x2, h2 = add_svdf(b, rng, batch=1, depth=32, units=16, rank=2, memory=4, state16=True)
    for t in (h1, h2):  # wider output ranges: fewer saturated activations
        q = b.tensors[t].quantization
        q.scale = [float(np.float32(4 * q.scale[0]))]
    b.tensors[x2].quantization = b.tensors[h1].quantization
    b.operators[-1].inputs[0] = h1
    s_h2 = b.tensors[h2].quantization.scale[0]
    s_w = float(np.float32(3.0 / (10800 * s_h2)))  # logits with a real std of about 3
    w = b.const(rng.integers(-127, 128, (classes, 16)).astype(np.int8), scale=s_w,
                zero_point=0)
    bias = b.const(rng.integers(-500, 500, (classes,)).astype(np.int32), scale=s_h2 * s_w,
                   zero_point=0)
    logits = b.tensor((1, classes), "int8", 0.1, 0)
    b.op("FULLY_CONNECTED", [h2, w, bias], [logits], schema.FullyConnectedOptionsT())
    probs = b.tensor((1, classes), "int8", 1 / 256, -128)
    softmax = schema.SoftmaxOptionsT()
    softmax.beta = 1.0
    b.op("SOFTMAX", [logits], [probs], softmax)
    return b.build([x], [probs])


def svdf_battery(seed: int, count: int = 4) -> bytes:
    rng = np.random.default_rng(seed)
    b = ModelBuilder("svdf battery")
    io = [add_svdf(b, rng, state16=(i % 2 == 0)) for i in range(count)]
    return b.build([x for x, _ in io], [y for _, y in io])


# -- UNIDIRECTIONAL_SEQUENCE_LSTM -------------------------------------------------------------

def add_lstm(b: ModelBuilder, rng: np.random.Generator, *, batch=None, time=None, depth=None,
             cells=None, outputs=None, time_major=None, cifg=False, peephole=False,
             projection=False, cell_clip=0.0, proj_clip=0.0, layer_norm=False,
             projection_bias=None) -> tuple[int, int]:
    """One fully integer LSTM (the converter's 8x8_16 layout) on a new int8 input; with
    `layer_norm`, int16 layer-norm coefficients and the gate matmuls in the scales of
    intermediates 0-3 (the gate biases then in s_ln * 2^-10, added inside the norm)."""
    batch = batch or int(rng.integers(1, 3))
    time = time or int(rng.integers(1, 6))
    depth = depth or int(rng.integers(1, 12))
    cells = cells or int(rng.integers(1, 12))
    outputs = outputs or (int(rng.integers(1, 10)) if projection else cells)
    time_major = bool(rng.integers(0, 2)) if time_major is None else time_major
    s_in, z_in = tb.random_scale(rng, 0.01, 0.06), int(rng.integers(-40, 40))
    s_out, z_out = tb.random_scale(rng, 0.004, 0.02), int(rng.integers(-30, 30))
    s_hidden, z_hidden = tb.random_scale(rng, 0.004, 0.01), int(rng.integers(-10, 10))
    s_cell = 2.0 ** -int(rng.integers(9, 16)) if rng.integers(0, 2) else 2.0 ** -11

    def weights(shape, real):
        scale = real / 127
        return b.const(rng.integers(-127, 128, shape).astype(np.int8), scale=scale,
                       zero_point=0), scale

    def bias(n, scale):
        return b.const(rng.integers(-2000, 2000, (n,)).astype(np.int32), scale=scale,
                       zero_point=0)

    inputs = [-1] * 24
    shape = (time, batch, depth) if time_major else (batch, time, depth)
    x = b.tensor(shape, "int8", s_in, z_in)
    inputs[0] = x
    gate_scales = [2.0 ** -12] * 4
    for gate in range(4):
        if gate == 0 and cifg:
            continue
        real = float(rng.uniform(0.5, 3.0)) / np.sqrt(depth + outputs)
        inputs[1 + gate], sw = weights((cells, depth), real)
        inputs[5 + gate], _ = weights((cells, outputs), real)
        if layer_norm:
            s_ln = tb.random_scale(rng, 2e-5, 1e-4)
            inputs[20 + gate] = b.const(rng.integers(-32767, 32768, (cells,)).astype(
                np.int16), scale=s_ln, zero_point=0)
            gate_scales[gate] = tb.random_scale(rng, 3e-5, 3e-4)
            limit = int(2 ** 20 * rng.uniform(0.5, 8))
            inputs[12 + gate] = b.const(rng.integers(-limit, limit, (cells,)).astype(
                np.int32), scale=s_ln * 2.0 ** -10, zero_point=0)
        else:
            inputs[12 + gate] = bias(cells, s_in * sw)
    if peephole:
        for slot in ((9, 10, 11) if not cifg else (10, 11)):
            inputs[slot] = b.const(rng.integers(-3000, 3000, (cells,)).astype(np.int16),
                                   scale=tb.random_scale(rng, 1e-5, 1e-3), zero_point=0)
    if projection:
        inputs[16], sp = weights((outputs, cells), float(rng.uniform(0.5, 2.0)) / np.sqrt(cells))
        if rng.integers(0, 2) if projection_bias is None else projection_bias:
            inputs[17] = bias(outputs, s_hidden * sp)
    inputs[18] = _variable(b, (batch, outputs), "int8", s_out, z_out)
    inputs[19] = _variable(b, (batch, cells), "int16", s_cell, 0)
    y = b.tensor(shape[:2] + (outputs,), "int8", s_out, z_out)
    intermediates = [b.tensor((), "int16", s, 0) for s in gate_scales]
    intermediates.append(b.tensor((), "int8", s_hidden, z_hidden))
    options = schema.UnidirectionalSequenceLSTMOptionsT()
    options.fusedActivationFunction = 4  # TANH
    options.cellClip = float(cell_clip)
    options.projClip = float(proj_clip)
    options.timeMajor = time_major
    b.op("UNIDIRECTIONAL_SEQUENCE_LSTM", inputs, [y], options)
    b.operators[-1].intermediates = intermediates
    return x, y


def _sequence(model: bytes, seed: int, n: int) -> list[list[np.ndarray]]:
    from tinyconv.reference import random_inputs
    return random_inputs(model, n, seed)


# -- the IR: variable tensors ----------------------------------------------------------------

def test_variable_tensors_are_planned_for_the_whole_model_and_never_shared():
    rng = np.random.default_rng(3)
    b = ModelBuilder("svdf + lstm")
    x1, y1 = add_svdf(b, rng, state16=False)
    x2, y2 = add_lstm(b, rng)
    graph = import_tflite(b.build([x1, x2], [y1, y2]))
    variables = variable_tensors(graph)
    assert [t.dtype.name for t in variables] == ["INT8", "INT8", "INT16"]
    assert all(t.is_variable and not t.is_constant for t in variables)
    plan = plan_memory(graph)
    steps = len(plan.order)
    state_buffers = [bu for bu in plan.buffers if any(t.is_variable for t in bu.tensors)]
    assert len(state_buffers) == 3
    for sb in state_buffers:
        assert sb.first == 0 and sb.last > steps - 1 and len(sb.tensors) == 1
        for other in plan.buffers:  # nothing else ever lives in the state's bytes
            if other is not sb:
                assert (other.offset + other.size <= sb.offset
                        or sb.offset + sb.size <= other.offset), (sb.label, other.label)


def test_reset_value_is_tflites_and_the_api_has_reset(tmp_path):
    from tinyconv.codegen.emit import generate, variable_inits, write_model
    rng = np.random.default_rng(4)
    b = ModelBuilder("svdf int8 state")
    x, y = add_svdf(b, rng, state16=False)
    graph = import_tflite(b.build([x], [y]))
    plan = plan_memory(graph)
    (init,) = variable_inits(graph, plan)
    state = graph.ops[0].inputs[4]
    assert init.tensor is state and init.value == state.quant.zp & 0xFF
    assert init.nbytes == state.nbytes
    write_model(generate(graph, plan), tmp_path)
    header = (tmp_path / "model.h").read_text()
    source = (tmp_path / "model.c").read_text()
    assert "void tc_model_reset(void);" in header and "TC_MODEL_NUM_VARIABLES 1" in header
    assert f"memset(tc_arena + {init.offset}, {init.value}, {init.nbytes});" in source


def _lstm_options_model(mutate) -> bytes:
    rng = np.random.default_rng(5)
    b = ModelBuilder("lstm")
    x, y = add_lstm(b, rng, batch=1)
    mutate(b)
    return b.build([x], [y])


@pytest.mark.parametrize("mutate, message", [
    (lambda b: setattr(b.tensors[b.operators[0].inputs[18]], "isVariable", False),
     "read before any op writes it"),
    (lambda b: setattr(b.operators[0], "intermediates", b.operators[0].intermediates[:4]),
     "5 intermediate tensors"),
    (lambda b: setattr(b.tensors[b.operators[0].inputs[19]].quantization, "scale", [0.001]),
     "power of two"),
    (lambda b: b.operators[0].inputs.__setitem__(21, b.operators[0].inputs[13]),
     "layer-norm coefficients must be present for every gate"),
    (lambda b: b.operators[0].inputs.__setitem__(17, b.operators[0].inputs[13]),
     "a projection bias needs projection weights"),
], ids=["state-not-variable", "no-intermediates", "cell-scale", "layer-norm-partial",
        "projection-bias-alone"])
def test_unsupported_lstms_are_refused_in_one_line(mutate, message):
    with pytest.raises(TinyconvError, match=message) as e:
        import_tflite(_lstm_options_model(mutate))
    assert "\n" not in str(e.value) and "UNIDIRECTIONAL_SEQUENCE_LSTM" in str(e.value)


def test_peephole_projection_lstm_that_litert_runs_out_of_bounds_is_refused():
    """LiteRT's integer peephole covers n_output values of the flat [batch][cell] gate:
    more outputs than cells reads past the cell state, so it is refused in one line."""
    rng = np.random.default_rng(8)
    b = ModelBuilder("lstm")
    x, y = add_lstm(b, rng, batch=1, cells=3, outputs=5, peephole=True, projection=True)
    with pytest.raises(TinyconvError, match="peephole LSTM with a projection to 5 outputs "
                       "from 3 cells") as e:
        import_tflite(b.build([x], [y]))
    assert "\n" not in str(e.value)


def test_variable_tensor_with_data_is_refused():
    b = ModelBuilder("svdf")
    rng = np.random.default_rng(6)
    x, y = add_svdf(b, rng, state16=True)
    state = b.operators[0].inputs[4]
    buffer = tb._AlignedBufferT()
    buffer.data = np.zeros(int(np.prod(b.tensors[state].shape)) * 2, np.uint8)
    b.buffers.append(buffer)
    b.tensors[state].buffer = len(b.buffers) - 1
    with pytest.raises(TinyconvError, match="variable tensor .* constant buffer"):
        import_tflite(b.build([x], [y]))


# -- kernels against the oracles, several invokes ---------------------------------------------

def add_lstm_16x8(b: ModelBuilder, rng: np.random.Generator, *, batch=None, time=None,
                  depth=None, cells=None, time_major=None, cell_clip=0.0) -> tuple[int, int]:
    """One 16x8 LSTM (int16 activations and state, int8 weights, int64 biases) in the
    layout TFLite Micro runs: the plain LSTM, no intermediates (TFLM refuses non-empty
    ones), symmetric int16 tensors."""
    batch = batch or int(rng.integers(1, 3))
    time = time or int(rng.integers(1, 6))
    depth = depth or int(rng.integers(1, 12))
    cells = cells or int(rng.integers(1, 12))
    time_major = bool(rng.integers(0, 2)) if time_major is None else time_major
    s_in = tb.random_scale(rng, 1 / 8000, 1 / 1000)
    s_state = tb.random_scale(rng, 1 / 20000, 1 / 8000)
    s_cell = 2.0 ** -int(rng.integers(9, 16)) if rng.integers(0, 2) else 2.0 ** -11
    inputs = [-1] * 24
    shape = (time, batch, depth) if time_major else (batch, time, depth)
    x = b.tensor(shape, "int16", s_in, 0)
    inputs[0] = x
    for gate in range(4):
        real = float(rng.uniform(0.5, 3.0)) / np.sqrt(depth + cells)
        s_w = real / 127
        inputs[1 + gate] = b.const(rng.integers(-127, 128, (cells, depth)).astype(np.int8),
                                   scale=s_w, zero_point=0)
        inputs[5 + gate] = b.const(rng.integers(-127, 128, (cells, cells)).astype(np.int8),
                                   scale=s_w * float(rng.uniform(0.7, 1.3)), zero_point=0)
        inputs[12 + gate] = b.const(rng.integers(-2**20, 2**20, (cells,)).astype(np.int64),
                                    scale=s_in * s_w, zero_point=0)
    inputs[18] = _variable(b, (batch, cells), "int16", s_state, 0)
    inputs[19] = _variable(b, (batch, cells), "int16", s_cell, 0)
    y = b.tensor(shape[:2] + (cells,), "int16", s_state, 0)
    options = schema.UnidirectionalSequenceLSTMOptionsT()
    options.fusedActivationFunction = 4  # TANH, the cell gate's activation in TFLM
    options.cellClip = float(cell_clip)
    options.timeMajor = time_major
    b.op("UNIDIRECTIONAL_SEQUENCE_LSTM", inputs, [y], options)
    return x, y


def add_lstm_variants(b: ModelBuilder, rng: np.random.Generator) -> list[tuple[int, int]]:
    """int8 LSTMs with a projection (with and without bias, proj clip) and layer
    normalization (with CIFG, peephole, cell clip, projection), time- and batch-major."""
    cells = int(rng.integers(3, 10))
    return [add_lstm(b, rng, projection=True, projection_bias=True,
                     proj_clip=float(rng.uniform(0.1, 0.4)), time_major=False),
            add_lstm(b, rng, projection=True, projection_bias=False, cifg=True,
                     cell_clip=float(rng.uniform(0.5, 2.0)), time_major=True),
            add_lstm(b, rng, layer_norm=True, cifg=True,
                     cell_clip=float(rng.uniform(0.5, 2.0))),
            add_lstm(b, rng, layer_norm=True, peephole=True, projection=True, batch=1,
                     cells=cells, outputs=int(rng.integers(1, cells + 1)), time_major=True),
            add_lstm(b, rng, layer_norm=True, cifg=True, peephole=True, batch=2)]


def recurrent_models(seed: int) -> tuple[bytes, bytes, bytes]:
    """(all, tflm_side, litert_side): TFLite Micro's ops (an SVDF battery and 16x8 LSTMs,
    which LiteRT does not run) and LiteRT's (int8 LSTMs: plain, CIFG, peephole,
    projection, layer norm) side by side in one model, and each side alone (the same
    ops, the same weights) for its oracle."""
    def build(tflm_side: bool, litert_side: bool) -> bytes:
        b = ModelBuilder("recurrent battery")
        io = []
        if tflm_side:
            rng = np.random.default_rng(seed)
            io += [add_svdf(b, rng, state16=(i % 2 == 0)) for i in range(4)]
            io += [add_lstm_16x8(b, rng, time_major=False),
                   add_lstm_16x8(b, rng, time_major=True, batch=2,
                                 cell_clip=float(rng.uniform(0.3, 1.5)))]
        if litert_side:
            rng = np.random.default_rng(seed + 1)
            io += [add_lstm(b, rng),
                   add_lstm(b, rng, cifg=True, cell_clip=float(rng.uniform(0.5, 4.0))),
                   add_lstm(b, rng, peephole=True),
                   add_lstm(b, rng, cifg=True, peephole=True, time_major=True)]
            io += add_lstm_variants(b, rng)
        return b.build([x for x, _ in io], [y for _, y in io])
    return build(True, True), build(True, False), build(False, True)


TFLM_OUTPUTS = 6  # 4 SVDF + 2 16x8 LSTM outputs come first in recurrent_models


@pytest.mark.parametrize("board", BOARDS + SLOW_BOARDS)
def test_lstm_and_svdf_bit_exact_over_invokes(board, tmp_path):
    """One firmware build runs both batteries over 5 invokes; the SVDF and 16x8 LSTM
    outputs are compared with TFLite Micro's, the int8 LSTM outputs (projection and layer
    norm included) with LiteRT's (each oracle runs its own ops)."""
    from tinyconv import deploy, firmware, reference, tflm
    from tinyconv.verify import samples_to_bytes, split_outputs

    both, tflm_model, litert_model = recurrent_models(seed=11)
    n = 5
    tflm_samples = reference.random_inputs(tflm_model, n, 2)
    litert_samples = reference.random_inputs(litert_model, n, 3)
    samples = [a + b for a, b in zip(tflm_samples, litert_samples)]
    expected = [a + b for a, b in zip(tflm.tflm_outputs(tflm_model, tflm_samples),
                                      reference.litert_outputs(litert_model, litert_samples))]
    graph = import_tflite(both)
    b = targets.get_board(board)
    deployment = deploy.prepare(graph, b, match="tflm")
    deploy.write_model_dir(deployment, tmp_path / "model")
    built = firmware.build(tmp_path / "model", b, tmp_path / "build",
                           ram_bytes=deployment.ram_budget,
                           flash_bytes=deployment.flash_budget,
                           stack_bytes=deployment.stack_bytes)
    ours = split_outputs(firmware.run(built, samples_to_bytes(samples), n).outputs, graph, n)
    assert len(ours[0]) == TFLM_OUTPUTS + 9
    for k, (got, want) in enumerate(zip(ours, expected)):
        for o, (a, e) in enumerate(zip(got, want)):
            kind = "SVDF" if o < 4 else "16x8 LSTM" if o < TFLM_OUTPUTS else "LSTM"
            assert a.tobytes() == np.asarray(e, a.dtype).reshape(a.shape).tobytes(), \
                f"invoke {k}, {kind} output {o}: {np.argwhere(a != e)[:5].tolist()}"


def test_16x8_lstm_oracle_is_tflite_micro():
    """LiteRT 2.3 refuses a 16x8 LSTM (its integer LSTM takes int8 inputs only, the int16
    one fails Prepare on its int64 biases), so `--match auto` compares with TFLite Micro."""
    from tinyconv import reference
    rng = np.random.default_rng(9)
    b = ModelBuilder("lstm 16x8")
    x, y = add_lstm_16x8(b, rng, batch=1)
    model = b.build([x], [y])
    with pytest.raises(TinyconvError, match="UNIDIRECTIONAL_SEQUENCE_LSTM"):
        reference.litert_outputs(model, reference.random_inputs(model, 1, 0))
    assert reference.choose_reference(model).name == "tflm"


@pytest.mark.parametrize("mutate, message", [
    (lambda b: b.operators[0].inputs.__setitem__(16, b.operators[0].inputs[1]),
     "must be a plain LSTM"),
    (lambda b: b.operators[0].inputs.__setitem__(1, -1), "must be a plain LSTM"),
    (lambda b: setattr(b.tensors[b.operators[0].inputs[0]].quantization, "zeroPoint", [3]),
     "symmetric"),
    (lambda b: setattr(b.operators[0].builtinOptions, "fusedActivationFunction", 1),
     "fused activation 1"),
], ids=["projection", "cifg", "input-zero-point", "relu-cell"])
def test_unsupported_16x8_lstms_are_refused_in_one_line(mutate, message):
    rng = np.random.default_rng(10)
    b = ModelBuilder("lstm 16x8")
    x, y = add_lstm_16x8(b, rng, batch=1)
    mutate(b)
    with pytest.raises(TinyconvError, match=message) as e:
        import_tflite(b.build([x], [y]))
    assert "\n" not in str(e.value) and "UNIDIRECTIONAL_SEQUENCE_LSTM" in str(e.value)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(30, 34))
def test_lstm_variants_and_16x8_sweep_on_host(seed):
    """Random shapes and scales: projection / layer-norm int8 LSTMs against LiteRT,
    16x8 LSTMs against TFLite Micro, over 4 invokes each."""
    rng = np.random.default_rng(seed)
    b = ModelBuilder("lstm variants")
    io = add_lstm_variants(b, rng)
    model = b.build([x for x, _ in io], [y for _, y in io])
    b16 = ModelBuilder("lstm 16x8")
    io16 = [add_lstm_16x8(b16, rng), add_lstm_16x8(b16, rng, cell_clip=0.8)]
    model16 = b16.build([x for x, _ in io16], [y for _, y in io16])
    host = targets.get_board("host")
    for m in (model, model16):
        report = verify(m, host, n=4, seed=seed, count_instructions=False)
        assert report.mismatched_bytes == 0, report.mismatches


_DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
#include "model.h"
/* Runs the samples of argv[1] through the model three times: then tc_model_reset(), then
 * again without a reset; writes every output to argv[2]. */
int main(int argc, char **argv)
{
    FILE *in = fopen(argv[1], "rb"), *out = fopen(argv[2], "wb");
    const int n = atoi(argv[3]);
    if (argc != 4 || in == NULL || out == NULL) {
        return 2;
    }
    size_t sample = 0;
    for (int i = 0; i < TC_MODEL_NUM_INPUTS; i++) {
        sample += tc_model_input_bytes(i);
    }
    unsigned char *data = malloc(sample * (size_t)n);
    if (data == NULL || fread(data, 1, sample * (size_t)n, in) != sample * (size_t)n) {
        return 3;
    }
    for (int pass = 0; pass < 3; pass++) {
        const unsigned char *p = data;
        for (int s = 0; s < n; s++) {
            for (int i = 0; i < TC_MODEL_NUM_INPUTS; i++) {
                for (size_t k = 0; k < tc_model_input_bytes(i); k++) {
                    ((unsigned char *)tc_model_input(i))[k] = *p++;
                }
            }
            if (tc_model_invoke() != 0) {
                return 4;
            }
            for (int o = 0; o < TC_MODEL_NUM_OUTPUTS; o++) {
                fwrite(tc_model_output(o), 1, tc_model_output_bytes(o), out);
            }
        }
        if (pass == 0) {
            tc_model_reset();
        }
    }
    free(data);
    return fclose(out) == 0 ? 0 : 5;
}
"""


def test_reset_restarts_the_sequence_on_host(tmp_path):
    """Host build (ASan/UBSan) of model.c with a driver that runs a sequence, resets, runs
    it again, then a third time without reset: the first two equal TFLite Micro's outputs
    of a fresh interpreter, the third differs (the state carried over)."""
    from tinyconv import deploy, tflm
    from tinyconv.verify import samples_to_bytes, split_outputs

    model = svdf_battery(seed=13, count=2)
    graph = import_tflite(model)
    deployment = deploy.prepare(graph, targets.get_board("host"), match="tflm")
    model_dir = tmp_path / "model"
    deploy.write_model_dir(deployment, model_dir)
    (tmp_path / "driver.c").write_text(_DRIVER)
    root = Path(__file__).resolve().parents[2] / "firmware" / "kernels"
    exe = tmp_path / "reset_test"
    subprocess.run(["cc", "-std=c11", "-O1", "-g", "-fsanitize=address,undefined",
                    "-fno-sanitize-recover=all", "-I", str(root / "include"), "-I",
                    str(model_dir), str(tmp_path / "driver.c"), str(model_dir / "model.c"),
                    str(model_dir / "weights.c"), *map(str, sorted(root.glob("recurrent/*.c"))),
                    # the 16x8 LSTM's int16 logistic and tanh
                    str(root / "activation" / "tc_logistic_s16.c"),
                    str(root / "activation" / "tc_tanh_s16.c"),
                    "-o", str(exe)], check=True)
    n = 4
    samples = _sequence(model, seed=5, n=n)
    (tmp_path / "in.bin").write_bytes(samples_to_bytes(samples))
    subprocess.run([str(exe), str(tmp_path / "in.bin"), str(tmp_path / "out.bin"), str(n)],
                   check=True)
    outputs = split_outputs((tmp_path / "out.bin").read_bytes(), graph, 3 * n)
    expected = tflm.tflm_outputs(model, samples)
    flat = lambda runs: b"".join(a.tobytes() for run in runs for a in run)  # noqa: E731
    assert flat(outputs[:n]) == flat(expected)
    assert flat(outputs[n:2 * n]) == flat(expected)
    assert flat(outputs[2 * n:]) != flat(expected)


# -- real models, several invokes on Cortex-M7 -----------------------------------------------

# A Keras LSTM keyword spotter (16 frames of 10 MFCC-like features, 24 units, 10 classes),
# converted fully integer by the TFLite converter with a representative dataset. Random
# data: accuracy is irrelevant, the converter's int8 LSTM layout (24 inputs, variable
# state tensors, 5 intermediates) is the point. Run in a child process: the converter
# segfaults under Keras 3 (TF 2.21) on LSTMs, so the legacy tf_keras is selected there.
_KERAS_LSTM_KWS = """
import sys
import numpy as np
import tensorflow as tf
rng = np.random.default_rng(0)
frames, features, units, classes = 16, 10, 24, 10
inputs = tf.keras.Input((frames, features), batch_size=1)
hidden = tf.keras.layers.LSTM(units)(inputs)
outputs = tf.keras.layers.Dense(classes, activation="softmax")(hidden)
model = tf.keras.Model(inputs, outputs)
x = rng.standard_normal((64, frames, features)).astype(np.float32)
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(x, rng.integers(0, classes, 64), epochs=1, verbose=0)
converter = tf.lite.TFLiteConverter.from_keras_model(model)
converter.optimizations = [tf.lite.Optimize.DEFAULT]
converter.representative_dataset = lambda: ([x[i:i + 1]] for i in range(32))
if sys.argv[2] == "16x8":
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int16
else:
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
open(sys.argv[1], "wb").write(converter.convert())
"""
_KERAS_ENV = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3")


@pytest.fixture(scope="module")
def keras_lstm_kws(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("keras") / "lstm_kws.tflite"
    subprocess.run([sys.executable, "-c", _KERAS_LSTM_KWS, str(path), "int8"], check=True,
                   env=_KERAS_ENV, timeout=900, capture_output=True)
    return path.read_bytes()


@pytest.mark.slow
def test_converter_makes_no_16x8_lstm(tmp_path):
    """The evidence behind testing 16x8 LSTMs on hand-built models only: TF's converter
    (its 16x8 mode always uses the legacy quantizer) refuses to quantize the LSTM. When a
    TF release makes one, this fails: then convert it and verify it against TFLite Micro."""
    run = subprocess.run([sys.executable, "-c", _KERAS_LSTM_KWS, str(tmp_path / "m.tflite"),
                          "16x8"], env=_KERAS_ENV, timeout=900, capture_output=True,
                         text=True)
    assert run.returncode != 0 and "Quantization to 16x8-bit not yet supported for op: " \
        "'UNIDIRECTIONAL_SEQUENCE_LSTM'" in run.stderr, run.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("board", board_params(["host", "qemu-m7"]))
def test_keras_lstm_keyword_spotter_bit_exact(keras_lstm_kws, board):
    graph = import_tflite(keras_lstm_kws)
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in [op.kind for op in graph.ops]
    assert len(variable_tensors(graph)) == 2
    report = verify(keras_lstm_kws, targets.get_board(board), n=8, seed=1,
                    count_instructions=False)
    assert report.outputs_compared == 8 * 10
    assert report.mismatched_bytes == 0, report.mismatches


@pytest.mark.slow
@pytest.mark.parametrize("board", board_params(["host", "qemu-m7"]))
def test_svdf_keyword_spotter_bit_exact_with_tflm(board):
    """Twelve invokes, one frame each: the outputs depend on the last 8 + 4 frames."""
    model = svdf_keyword_model()
    report = verify(model, targets.get_board(board), n=12, seed=1, match="tflm",
                    count_instructions=False)
    assert report.outputs_compared == 12 * 4
    assert report.mismatched_bytes == 0, report.mismatches
