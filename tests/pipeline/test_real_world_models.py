"""Real-world models beyond the zoo (tests/support/real_models.py) run bit-exact on Cortex-M7.

Each is built with another toolchain's own code and converted by the TFLite converter, as a
user would bring it; verify runs it in QEMU and compares every output byte with LiteRT's
reference kernels (and with the tflite-micro runtime).
"""

from __future__ import annotations

import pytest

import real_models
from tinyconv import targets
from tinyconv.verify import verify


@pytest.mark.slow
@pytest.mark.arm
@pytest.mark.parametrize("name", sorted(real_models.BUILDERS))
def test_real_world_model_is_bit_exact_on_cortex_m7(name):
    model = real_models.converted(name)
    report = verify(model, targets.get_board("qemu-m7"), source=name, n=3, compare_tflm=True)
    assert report.reference == "litert"
    assert report.outputs_compared > 0 and report.mismatched_bytes == 0, report.mismatches
    assert report.tflm_mismatched_bytes == 0
    assert report.arena_bytes <= report.tflm_arena_bytes
    assert report.instructions_per_inference > 0

