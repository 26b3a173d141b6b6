"""Streamed execution plans (tinyconv/stream.py): the row schedule's invariants on random
stems, the planner's arena for them, and the choice among plans. The firmware runs of
these plans are in tests/pipeline/test_stream_e2e.py."""

from __future__ import annotations

import numpy as np
import pytest
from stem_models import random_stem_model

from tinyconv import stream
from tinyconv.errors import TinyconvError
from tinyconv.ir.ops import Isa
from tinyconv.ir.tflite_import import import_tflite

SEEDS = range(40)


def _graph(seed: int):
    return import_tflite(random_stem_model(np.random.default_rng(seed)), source=f"stem{seed}")


def test_row_map_matches_the_kernels_window():
    # 3x3 stride 2 SAME on 9 rows -> 5 rows, TFLite's top padding 1 (total 2, 1 on top).
    m = stream.RowMap(stride=2, pad=1, extent=3, height=9)
    assert (m.lo(0), m.hi(1), m.pad_top(0)) == (0, 2, 1)   # rows -1..1: row -1 is padding
    assert (m.lo(1), m.hi(2), m.pad_top(1)) == (1, 4, 0)   # rows 1..3
    assert m.hi(5) == 9                                    # rows 7..9: 9 is padding
    # ready is hi's inverse: the most output rows `available` input rows allow.
    for available in range(10):
        c = int(m.ready(available, 5))
        assert all(m.hi(r) <= available for r in range(c + 1)) or available == 9
        if c < 5:
            assert m.hi(c + 1) > available


@pytest.mark.parametrize("seed", SEEDS)
def test_schedule_invariants(seed):
    """Every call finds the rows it reads in its input's buffer and writes within its
    output's, every line buffer holds at most its capacity, and every layer computes each
    of its rows exactly once (no recomputation)."""
    graph = _graph(seed)
    for ops, output in stream.runs(graph):
        for rows in (1, 2, 3, 8):
            s = stream.schedule(ops, output, rows)
            computed = {op.y.index: [] for op in ops}
            for call in s.calls:
                k, op = call.strip, call.op
                m = s.maps[op.index]
                assert (call.lo, call.hi) == (m.lo(call.c0), m.hi(call.c1))
                for x in op.activation_inputs():
                    if x.index in s.first:  # a line buffer: rows [first, done) at this call
                        assert s.first[x.index][k] <= call.lo
                        assert call.hi <= s.done[x.index][k + 1]
                        assert s.done[x.index][k + 1] - s.first[x.index][k] <= s.capacity[x.index]
                    elif x.index in s.done:  # the run's own output, read whole
                        assert call.hi <= s.done[x.index][k + 1]
                    else:
                        assert call.hi <= x.shape[1]
                if op.y.index in s.first:
                    assert s.first[op.y.index][k] <= call.c0
                    assert call.c1 - s.first[op.y.index][k] <= s.capacity[op.y.index]
                computed[op.y.index].extend(range(call.c0, call.c1))
            for op in ops:
                assert computed[op.y.index] == list(range(op.y.shape[1])), op.describe()
            # In place (the driver input `input_shift` bytes above the output): no strip
            # writes an output byte over an input row that a later strip, or the writing
            # call itself, reads.
            x, y = s.driver, output
            rb_x, rb_y = x.shape[2] * x.shape[3], y.shape[2] * y.shape[3]
            reads = [(c.strip, c.op, c.lo) for c in s.calls
                     if any(t is x for t in c.op.activation_inputs())]
            for call in s.calls:
                if call.op.y is y:
                    end = call.c1 * rb_y
                    assert all(end <= s.input_shift + lo * rb_x for k, op, lo in reads
                               if k > call.strip or (k == call.strip and op is call.op)), seed
            # The first row each buffer holds never moves backwards.
            for t in s.lined:
                assert s.first[t.index] == sorted(s.first[t.index])


@pytest.mark.parametrize("seed", range(0, 40, 4))
def test_streamed_arena_is_planned_with_the_run(seed):
    """The run's scratch holds its line buffers and kernel scratch; its input and output
    are whole tensors the arena places like any other; the plan's steps are the graph's
    with the run's layers replaced by the one op."""
    graph = _graph(seed)
    for plan in stream.streamed_plans(graph, Isa.DSP):
        run = plan.stream
        assert run in plan.order and not any(op in plan.order for op in run.ops)
        assert plan.scratch[run.index][1] == run.schedule.lines_bytes + run.kernel_scratch_bytes
        assert run.schedule.lines_bytes == sum(
            -(-run.schedule.capacity[t.index] * t.shape[2] * t.shape[3] // 4) * 4
            for t in run.schedule.lined)
        assert plan.recompute_macs == 0 and plan.kind == "streamed"
        step = plan.order.index(run)
        inputs = sum(-(-t.nbytes // 4) * 4 for t in run.schedule.inputs)
        output = -(-run.y.nbytes // 4) * 4
        if run.index in plan.inplace_ops:  # the output grows into the consumed input rows
            whole = max(run.schedule.input_shift + inputs, output)
            assert plan.tensor_offsets[run.y.index] + run.schedule.input_shift == \
                plan.tensor_offsets[run.schedule.driver.index]
        else:
            whole = inputs + output
        assert plan.live_bytes[step] == whole + plan.scratch[run.index][1]


def test_memory_choice():
    graph = _graph(4)
    layer = stream.plan_model(graph, Isa.DSP, memory="layer")
    smallest = stream.plan_model(graph, Isa.DSP, memory="min")
    assert layer.stream is None and smallest.stream is not None
    assert smallest.arena_bytes < layer.arena_bytes
    assert smallest.arena_bytes == min(p.arena_bytes for p in stream.streamed_plans(graph, Isa.DSP))
    # fast: the layer-wise plan wherever it fits (no extra instruction), else the fastest
    # streamed plan within the budget.
    assert stream.plan_model(graph, Isa.DSP, arena_budget=layer.arena_bytes).stream is None
    assert stream.plan_model(graph, Isa.DSP).stream is None
    tight = stream.plan_model(graph, Isa.DSP, arena_budget=layer.arena_bytes - 1)
    assert tight.stream is not None and tight.arena_bytes <= layer.arena_bytes - 1
    assert tight.extra_instructions <= smallest.extra_instructions
    assert tight.layerwise_arena_bytes == layer.arena_bytes
    # Below the smallest plan: the smallest, for the caller's budget error.
    assert stream.plan_model(graph, Isa.DSP, arena_budget=16).arena_bytes == smallest.arena_bytes
    with pytest.raises(TinyconvError, match="--memory"):
        stream.plan_model(graph, Isa.DSP, memory="tiny")


def test_only_runs_from_the_input_to_one_tensor():
    """A run starts at the model input and ends where only its last output is used later;
    the MEAN tail is never in it."""
    for seed in SEEDS:
        graph = _graph(seed)
        for ops, output in stream.runs(graph):
            assert ops == graph.ops[:len(ops)] and output is ops[-1].y
            assert ops[0].x is graph.inputs[0]
            assert all(op.kind != "MEAN" for op in ops)
