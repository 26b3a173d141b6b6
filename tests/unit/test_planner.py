import numpy as np
import pytest

from tinyconv.ir import ops as O
from tinyconv.ir.tflite_import import import_tflite
from tinyconv.planner import plan_memory

import tflite_builder as tb


def assert_valid(plan, graph):
    for i, a in enumerate(plan.buffers):
        assert a.offset >= 0 and a.offset + a.size <= plan.arena_bytes
        for b in plan.buffers[i + 1:]:
            if a.overlaps_in_time(b):
                assert a.offset + a.size <= b.offset or b.offset + b.size <= a.offset, \
                    f"{a.label} and {b.label} overlap"
    for t in graph.activations():
        assert plan.tensor_offsets[t.index] + t.nbytes <= plan.arena_bytes
    assert plan.arena_bytes >= plan.peak_live_bytes >= plan.layer_lower_bound


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("isa", list(O.Isa))
def test_plans_never_overlap_live_buffers(seed, isa):
    graph = import_tflite(tb.small_convnet_model(np.random.default_rng(seed)), "convnet")
    assert_valid(plan_memory(graph, isa), graph)


def _chain(with_residual: bool) -> bytes:
    """conv -> depthwise -> conv (-> ADD with the first conv's output)."""
    rng = np.random.default_rng(3)
    b = tb.ModelBuilder()
    x = tb._int8_input(b, rng, (1, 16, 16, 4))
    c1 = tb._conv(b, rng, x, 16, 3, 1)
    d = tb._depthwise(b, rng, c1)
    c2 = tb._conv(b, rng, d, 16 if with_residual else 4, 1, 1, activation="NONE")
    out = c2
    if with_residual:
        out = b.like(c2)
        b.op("ADD", [c1, c2], [out], tb.schema.AddOptionsT())
    return b.build([x], [out])


def test_depthwise_runs_in_place_when_its_input_dies():
    graph = import_tflite(_chain(with_residual=False), "chain")
    plan = plan_memory(graph, O.Isa.REF)
    dw = graph.ops[1]
    assert dw.index in plan.inplace_ops
    assert plan.tensor_offsets[dw.x.index] == plan.tensor_offsets[dw.y.index]
    without = plan_memory(graph, O.Isa.REF, allow_inplace=False)
    # The depthwise step is the peak: in place it holds one 16x16x16 activation and
    # 16x16x4 bytes of scratch instead of two activations.
    assert without.arena_bytes == 2 * 16 * 16 * 16
    assert plan.arena_bytes == 16 * 16 * 16 + 16 * 16 * 4
    assert_valid(plan, graph)


def test_depthwise_whose_input_is_still_needed_is_not_in_place():
    graph = import_tflite(_chain(with_residual=True), "residual")
    plan = plan_memory(graph, O.Isa.REF)
    assert graph.ops[1].index not in plan.inplace_ops
    assert graph.ops[3].index in plan.inplace_ops  # the ADD writes over a dying input
    assert_valid(plan, graph)


def test_reshape_is_an_alias():
    b = tb.ModelBuilder()
    x = b.tensor((1, 4, 4, 2), "int8", 0.1, 0)
    r = b.tensor((1, 32), "int8", 0.1, 0)
    y = b.tensor((1, 32), "int8", 0.1, 0)
    b.op("RESHAPE", [x, b.const(np.array([1, 32], np.int32))], [r])
    b.op("RELU", [r], [y])
    graph = import_tflite(b.build([x], [y]), "reshape")
    plan = plan_memory(graph, O.Isa.REF)
    assert plan.tensor_offsets[r] == plan.tensor_offsets[x]
    assert plan.arena_bytes == 32  # the RELU runs in place too


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("isa", [O.Isa.DSP, O.Isa.MVE])
def test_optional_im2col_scratch_never_grows_the_arena(seed, isa):
    """SIMD convs get their im2col scratch only in gaps free at their step: the arena is the
    portable kernels' one, the scratch overlaps no live buffer (assert_valid), and a conv
    whose peak step leaves a gap gets it."""
    graph = import_tflite(tb.small_convnet_model(np.random.default_rng(seed)), "convnet")
    ref, simd = plan_memory(graph, O.Isa.REF), plan_memory(graph, isa)
    assert simd.arena_bytes == ref.arena_bytes
    assert_valid(simd, graph)
    for index, (_, size) in simd.scratch.items():
        op = next(o for o in graph.ops if o.index == index)
        assert isinstance(op, (O.Conv2D, O.DepthwiseConv2D))
        if isinstance(op, O.Conv2D):
            assert size == op.fast_scratch_bytes(isa) > 0


def test_first_conv_with_one_channel_gets_scratch_only_where_it_fits():
    """LeNet-style first layer (1 input channel: not a whole DSP word): its im2col scratch is
    granted when the arena has room at that step, else the kernel runs without it."""
    def convs(channels: tuple[int, ...]):
        rng = np.random.default_rng(5)
        b = tb.ModelBuilder()
        x = y = tb._int8_input(b, rng, (1, 12, 12, 1))
        for c in channels:
            y = tb._conv(b, rng, y, c, 3, 1)
        return import_tflite(b.build([x], [y]), "convs")

    alone = convs((8,))             # its step is the peak: 144 + 1152 bytes, no gap
    plan = plan_memory(alone, O.Isa.DSP)
    assert plan.arena_bytes == 144 + 1152 and not plan.scratch
    followed = convs((8, 2))        # the peak is the second step (1152 + 288 bytes)
    plan = plan_memory(followed, O.Isa.DSP)
    assert plan.arena_bytes == plan_memory(followed, O.Isa.REF).arena_bytes == 1152 + 288
    first = followed.ops[0]
    assert plan.scratch[first.index][1] == first.fast_scratch_bytes(O.Isa.DSP) == 36
    assert_valid(plan, followed)
