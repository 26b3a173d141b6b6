"""Streamed plans run bit-exact: random stems (every layer kind a run holds, odd sizes,
strides, dilations, both paddings) under several strip heights, on the host under the
sanitizers (portable kernels) and in QEMU (Cortex-M7 DSP, Cortex-M55 Helium kernels);
and the issue's models (MobileNetV1-0.25 VWW-shaped, MobileNetV2-0.35) at their smallest
arena. Every run compares all output bytes with LiteRT BUILTIN_REF, and verify checks that
the firmware's arena is the planned one."""

from __future__ import annotations

import numpy as np
import pytest
from stem_models import random_stem_model

from tinyconv import deploy, reference, stream, targets
from tinyconv.codegen.emit import generate
from tinyconv.ir.tflite_import import import_tflite
from tinyconv.verify import verify, verify_deployment


def _verify_plan(blob: bytes, board_name: str, pick, kernels: str = "opt", n: int = 3):
    """verify with the plan `pick(plans)` chooses among the streamed ones."""
    board = targets.get_board(board_name)
    graph = import_tflite(blob, source="stem")
    isa = deploy.kernel_isa(board, kernels)
    plan = pick(stream.streamed_plans(graph, isa))
    d = deploy.Deployment(graph, board, plan, generate(graph, plan), kernels, 8192,
                          board.ram_bytes, board.flash_bytes)
    report = verify_deployment(d, blob, reference.random_inputs(blob, n, 0),
                               count_instructions=False)
    return plan, report


def _smallest(plans):
    return min(plans, key=lambda p: p.arena_bytes)


def _largest_strips(plans):
    return max(plans, key=lambda p: (p.stream.schedule.strip_rows, len(p.stream.ops)))


def _shortest_run(plans):
    return min(plans, key=lambda p: (len(p.stream.ops), p.stream.schedule.strip_rows))


CASES = [  # (board, seeds): every seed under three plans
    pytest.param("host", range(0, 4), id="host", marks=[]),
    pytest.param("qemu-m7", range(4, 10), id="m7", marks=[pytest.mark.arm]),
    pytest.param("qemu-m55", range(10, 13), id="m55", marks=[pytest.mark.arm]),
]


@pytest.mark.parametrize("board,seeds", CASES)
def test_random_stems_bit_exact(board, seeds):
    for seed in seeds:
        blob = random_stem_model(np.random.default_rng(seed))
        for pick in (_smallest, _largest_strips, _shortest_run):
            plan, report = _verify_plan(blob, board, pick)
            assert report.outputs_compared > 0
            assert report.mismatched_bytes == 0, (seed, plan.strategy, report.mismatches)
            assert report.arena_bytes == plan.arena_bytes


@pytest.mark.arm
def test_reference_kernels_streamed_on_cortex_m3():
    blob = random_stem_model(np.random.default_rng(20))
    plan, report = _verify_plan(blob, "qemu-m3", _smallest, kernels="ref")
    assert report.mismatched_bytes == 0, report.mismatches


@pytest.mark.slow
@pytest.mark.arm
@pytest.mark.parametrize("board", ["qemu-m4", "qemu-m7", "qemu-m55"])
def test_random_stems_bit_exact_sweep(board):
    for seed in range(100, 130):
        blob = random_stem_model(np.random.default_rng(seed))
        for pick in (_smallest, _largest_strips):
            plan, report = _verify_plan(blob, board, pick, n=2)
            assert report.mismatched_bytes == 0, (seed, plan.strategy, report.mismatches)


def _zoo(family, shape, width):
    import zoo_models
    return zoo_models.converted_spec(family, zoo_models.Spec(family, shape, 2, width, {}))


@pytest.mark.arm
def test_vww_mobilenet_v1_fits_48_kib_on_cortex_m7():
    """The issue's acceptance: plain verify --sram 48kB (arena + reserved stack + runtime),
    bit-exact; the layer-wise plan alone needs more."""
    blob = _zoo("mobilenetv1", (96, 96, 3), 0.25)
    board = targets.get_board("qemu-m7")
    report = verify(blob, board, source="vww", n=2, sram=48 * 1024)
    assert report.mismatched_bytes == 0, report.mismatches
    assert report.plan_strategy.startswith("STREAMED")
    assert report.planned_ram_bytes <= 48 * 1024
    assert report.stack_bytes <= report.stack_reserved_bytes
    layer = stream.plan_model(import_tflite(blob), board.isa, memory="layer")
    assert layer.arena_bytes + deploy.RUNTIME_RAM_BYTES + report.stack_reserved_bytes > 48 * 1024


@pytest.mark.arm
def test_mobilenet_v2_at_most_half_of_tflm():
    blob = _zoo("mobilenetv2", (96, 96, 3), 0.35)
    report = verify(blob, targets.get_board("qemu-m4"), source="mbv2", n=1, memory="min",
                    compare_tflm=True)
    assert report.mismatched_bytes == 0, report.mismatches
    assert report.tflm_arena_bytes is not None
    assert report.arena_bytes <= 0.5 * report.tflm_arena_bytes


def test_layer_check_of_a_streamed_plan():
    """verify --layers: the run's output and every later op's compared equal; the run's
    inner tensors (never whole in the firmware) are listed as streamed."""
    blob = random_stem_model(np.random.default_rng(4))
    report = verify(blob, targets.get_board("host"), source="stem", n=1, memory="min",
                    layers=True, count_instructions=False)
    assert report.plan.plan_kind == "streamed"
    assert report.first_mismatched_layer is None and report.mismatched_bytes == 0
    graph = import_tflite(blob)
    run = stream.plan_model(graph, targets.get_board("host").isa, memory="min").stream
    compared = {r.tensor_index for r in report.layers if not r.skipped}
    assert run.y.index in compared and graph.outputs[0].index in compared
    streamed = [t for t in report.reference_tensors_not_compared if t.endswith("(streamed: only in line buffers)")]
    assert len(streamed) == len(run.schedule.lined)


@pytest.mark.arm
@pytest.mark.parametrize("board_name", ["qemu-m7", "qemu-m55"])
def test_latency_model_prices_a_streamed_run(board_name):
    """A stem the fit never saw (benchmarks/fit_latency.py measures stems 0-5): the latency
    model's estimate of the streamed run (its layers priced whole + cost.STREAM) against
    the run's count in QEMU (one step of `tinyconv profile`), beside the layer-wise plan's
    count of the same layers priced the same way."""
    from tinyconv import cost
    from tinyconv.profile import profile_deployment
    blob = random_stem_model(np.random.default_rng(50), height=48, width=24)
    board = targets.get_board(board_name)
    graph = import_tflite(blob, source="stem50")
    layerwise = deploy.prepare(graph, board, memory="layer")
    measured_layers = {x.op_index: x.instructions for x in profile_deployment(layerwise, blob).layers}
    plan = stream.plan_model(graph, board.isa, memory="min")
    run = plan.stream
    d = deploy.Deployment(graph, board, plan, generate(graph, plan), "opt", 8192,
                          board.ram_bytes, board.flash_bytes)
    measured_run = next(x.instructions for x in profile_deployment(d, blob).layers
                        if x.kind == "STREAMED")
    whole = sum(measured_layers[op.index] for op in run.ops)
    estimate = whole + cost.stream_overhead(run, layerwise.plan)
    print(f"{board_name}: streamed run {measured_run:,} measured, {estimate:,} estimated "
          f"({estimate / measured_run - 1:+.1%}); its layers layer-wise {whole:,}")
    assert abs(estimate / measured_run - 1) < 0.15, (estimate, measured_run, whole)
