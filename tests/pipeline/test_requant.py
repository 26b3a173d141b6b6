"""tinyconv's generated C requantizes exactly as LiteRT over the whole parameter space.

The extreme single-op models of tests/support/requant_cases.py (every shift from -31 to
past 31, zero multipliers, exact halves, zero and denormal scales, accumulators that make
`acc << left_shift` and `result + output_offset` wrap) go through the whole pipeline
(import, plan, codegen, build, run) on the host (sanitizer build: no undefined behaviour
either) and in QEMU, and every output byte must equal LiteRT BUILTIN_REF's.
"""

from __future__ import annotations

import pytest
import requant_cases as rc
from harness import compare_single_op

from tinyconv import quant as Q


def _sweep_model(stride: int, seed: int, ops: tuple[str, ...] = rc.OPS) -> bytes:
    cases = [case for op in ops
             for case in rc.sweep_cases(op, seed=seed, stride=stride,
                                        activations=("NONE", "RELU", "RELU6"))]
    return rc.build_many(cases)


def _assert_no_mismatch(model: bytes, board: str, tmp_path, n_inputs: int) -> None:
    result = compare_single_op(model, board=board, n_inputs=n_inputs, seed=3,
                               work_dir=tmp_path)
    assert result.outputs_compared > 10_000
    assert result.mismatched_bytes == 0, result.detail


def test_sweep_is_extreme():
    """The pipeline model holds the corners it claims to (else it would prove less)."""
    pairs = set()
    for op in rc.OPS:
        for case in rc.sweep_cases(op, seed=5, stride=4):
            s_in, s_out = case.input_quant[0], case.output_quant[0]
            pairs |= {Q.quantize_multiplier(Q.effective_scale(s_in, ch.scale, s_out))
                      for ch in case.channels}
    shifts = {s for q, s in pairs if q}
    assert min(shifts) == -31 and max(shifts) > 32 and (0, 0) in pairs
    assert (2**31 - 26, 0) in pairs


def test_requantization_sweep_matches_litert_on_host(tmp_path):
    _assert_no_mismatch(_sweep_model(stride=4, seed=5), "host", tmp_path, n_inputs=2)


@pytest.mark.arm
def test_requantization_sweep_matches_litert_on_qemu(tmp_path):
    """Cortex-M4 (the DSP kernels): the ISA whose requantization is ARM's shifts."""
    _assert_no_mismatch(_sweep_model(stride=4, seed=6), "qemu-m4", tmp_path, n_inputs=2)


@pytest.mark.slow
@pytest.mark.arm
@pytest.mark.parametrize("board", ["qemu-m3", "qemu-m55"])
@pytest.mark.parametrize("op", rc.OPS)
def test_full_requantization_sweep_matches_litert_on_every_isa(board, op, tmp_path):
    """One op type per model: all three together need more RAM (7 MiB) than QEMU's boards."""
    _assert_no_mismatch(_sweep_model(stride=1, seed=7, ops=(op,)), board, tmp_path,
                        n_inputs=2)


@pytest.mark.slow
def test_full_requantization_sweep_matches_litert_on_host(tmp_path):
    _assert_no_mismatch(_sweep_model(stride=1, seed=8), "host", tmp_path, n_inputs=3)
