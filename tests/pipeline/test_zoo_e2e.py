"""The zoo families not covered by test_models_e2e.py, at small MCU configurations, converted
to int8 and run in QEMU (Cortex-M7) bit-exact with LiteRT's reference kernels, every
intermediate tensor included (verify --layers), within 320 KiB.

The converted models are the ones test_keras_import.py compares with `graph_from_keras`
(random weights, randomized BatchNorm, cached on disk), so the graph the NAS predicts is
the graph that runs here.
"""

from __future__ import annotations

import pytest

from tinyconv import targets
from tinyconv.verify import verify

from test_keras_import import SLOW_FAMILIES
from test_models_e2e import check_layers
from zoo_models import EXTRA_SPECS, Spec, converted_family, converted_spec

pytestmark = pytest.mark.arm

SRAM = 320 * 1024

# EfficientNet-B0's 16 blocks convert in over a minute on a loaded 2-core machine (the full
# spec runs in the slow suite); one block per stage keeps every op the family has (stem,
# MBConv with and without expansion and residual, 3x3 and 5x5 depthwise, squeeze-excite,
# swish) in a model that converts and runs within CI's time.
EFFICIENTNET_ONE_BLOCK_PER_STAGE = Spec("efficientnet", (32, 32, 3), 10, 0.25, {"depth": 0.1})


def _param(name: str):
    return pytest.param(name, marks=[pytest.mark.slow] if name in SLOW_FAMILIES else [], id=name)


def _check(model: bytes, name: str):
    report = verify(model, targets.get_board("qemu-m7"), source=name, n=3, seed=7, sram=SRAM,
                    count_instructions=False, layers=True)
    assert report.outputs_compared > 0
    assert report.mismatched_bytes == 0, report.mismatches
    check_layers(report)
    assert report.ram_bytes <= SRAM, report.ram_bytes
    assert report.arena_bytes <= report.static_ram_bytes
    return report


@pytest.mark.parametrize("family", [_param(n) for n in EXTRA_SPECS])
def test_zoo_family_is_bit_exact_in_qemu_within_320k(family):
    _check(converted_family(family), family)


def test_efficientnet_one_block_per_stage_is_bit_exact_in_qemu():
    report = _check(converted_spec("efficientnet-depth0.1", EFFICIENTNET_ONE_BLOCK_PER_STAGE),
                    "efficientnet-depth0.1")
    kinds = {layer.kind for layer in report.layers}
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "LOGISTIC", "MUL", "MEAN", "ADD"} <= kinds, kinds
