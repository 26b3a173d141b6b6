"""End-to-end comparison of tinyconv's generated C with LiteRT's reference kernels.

`compare_single_op` runs the whole pipeline (import, plan, codegen, build, run on the host
under sanitizers or in QEMU) on a small model and compares every output byte with LiteRT
BUILTIN_REF. Kernel tests build their models with tests/support/tflite_builder.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tinyconv import targets
from tinyconv.verify import VerifyReport, verify


def board_params(boards: list[str], slow: bool = False) -> list:
    """pytest params of `boards`: a QEMU board needs the Arm tools (@pytest.mark.arm), the
    host board only the host compiler; `slow` marks them all slow."""
    marks = [pytest.mark.slow] if slow else []
    return [pytest.param(b, id=b, marks=marks + ([] if b == "host" else [pytest.mark.arm]))
            for b in boards]


def bias_at_the_int32_limits(rng: np.random.Generator):
    """A rewrite of a layer's int32 biases (tflite_builder.merge_models, onnx_qlinear's
    QLinearGraph): about half the channels get a bias at or within 2^16 of +-(2^31 - 1)
    (a converter saturates a dead channel's bias so), so that the taps' sum carries the
    accumulator past the int32 range on some inputs and not on others."""
    def rewrite(bias: np.ndarray) -> np.ndarray:
        n = bias.size
        chosen = rng.permutation(n)[:max(1, n // 2)]
        edge = rng.choice([-1, 1], chosen.size) * (2**31 - 1 - rng.integers(0, 1 << 16,
                                                                           chosen.size))
        edge[:2] = [2**31 - 1, -2**31][:min(2, chosen.size)]
        bias.reshape(-1)[chosen] = edge
        return bias
    return rewrite


@dataclass
class CompareResult:
    mismatched_bytes: int
    outputs_compared: int
    detail: str
    report: VerifyReport


def compare_single_op(tflite_bytes: bytes, board: str = "host", n_inputs: int = 3,
                      seed: int = 0, kernels: str = "opt",
                      work_dir: Path | None = None) -> CompareResult:
    report = verify(tflite_bytes, targets.get_board(board), source="single-op", n=n_inputs,
                    seed=seed, kernels=kernels, count_instructions=False, work_dir=work_dir)
    detail = (f"{report.mismatched_bytes}/{report.outputs_compared} bytes differ on "
              f"{board} ({kernels} kernels), max |diff| {report.max_abs_diff}; "
              + "; ".join(report.mismatches))
    return CompareResult(report.mismatched_bytes, report.outputs_compared, detail, report)
