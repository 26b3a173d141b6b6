"""Six int8 models of different families, converted by the TFLite converter, run in QEMU on
Cortex-M3/M4/M7/M55 bit-exact with LiteRT's reference kernels, within TFLM's arena."""

from __future__ import annotations

import pytest

from tinyconv import targets, tflm
from tinyconv.verify import verify

import zoo_models

FAMILIES = ["mobilenetv2", "resnet8", "dscnn", "mobilenetv3_small", "squeezenet", "shufflenet"]
CPUS = ["cortex-m4", "cortex-m7", "cortex-m55"]
M3_FAMILIES = ["resnet8", "dscnn"]

_tflm_arena: dict[str, int] = {}


def _tflm_head(family: str) -> int:
    if family not in _tflm_arena:
        _tflm_arena[family] = tflm.tflm_arena(zoo_models.converted(family)).head_bytes
    return _tflm_arena[family]


def _check(family: str, cpu: str) -> None:
    board = targets.board_for(cpu, None)
    report = verify(zoo_models.converted(family), board, source=family, n=20, seed=7)
    assert report.outputs_compared > 0
    assert report.mismatched_bytes == 0, report.mismatches
    # The firmware's RAM is the plan (arena, in .bss) plus the runtime's statics and the
    # measured stack; the arena symbol in the ELF is exactly the planned size (verify checks).
    assert report.ram_bytes == report.static_ram_bytes + report.stack_bytes
    assert report.arena_bytes <= report.static_ram_bytes
    assert 0 < report.stack_bytes < report.stack_reserved_bytes
    assert report.instructions_per_inference and report.instructions_per_inference > 0
    assert report.arena_bytes <= _tflm_head(family), (report.arena_bytes, _tflm_head(family))


@pytest.mark.parametrize("cpu", CPUS)
@pytest.mark.parametrize("family", FAMILIES)
def test_zoo_model_is_bit_exact_in_qemu(family, cpu):
    _check(family, cpu)


@pytest.mark.parametrize("family", M3_FAMILIES)
def test_zoo_model_is_bit_exact_on_cortex_m3(family):
    _check(family, "cortex-m3")
