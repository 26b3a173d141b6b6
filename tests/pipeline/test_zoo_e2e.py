"""The zoo families not covered by test_models_e2e.py, at small MCU configurations, converted
to int8 and run in QEMU (Cortex-M7) bit-exact with LiteRT's reference kernels within 320 KiB.

The converted models are the ones test_keras_import.py compares with `graph_from_keras`
(random weights, randomized BatchNorm, cached on disk), so the graph the NAS predicts is
the graph that runs here.
"""

from __future__ import annotations

import pytest

from tinyconv import targets
from tinyconv.verify import verify

from test_keras_import import EXTRA_SPECS, SLOW_FAMILIES, converted_family

SRAM = 320 * 1024


def _param(name: str):
    return pytest.param(name, marks=[pytest.mark.slow] if name in SLOW_FAMILIES else [], id=name)


@pytest.mark.parametrize("family", [_param(n) for n in EXTRA_SPECS])
def test_zoo_family_is_bit_exact_in_qemu_within_320k(family):
    report = verify(converted_family(family), targets.get_board("qemu-m7"), source=family,
                    n=3, seed=7, sram=SRAM, count_instructions=False)
    assert report.outputs_compared > 0
    assert report.mismatched_bytes == 0, report.mismatches
    assert report.ram_bytes <= SRAM, report.ram_bytes
    assert report.arena_bytes <= report.static_ram_bytes
