"""Real-world models beyond the zoo (tests/support/real_models.py) run bit-exact on Cortex-M7.

Each is built with another toolchain's own code and converted by the TFLite converter, as a
user would bring it; verify runs it in QEMU and compares every output byte with LiteRT's
reference kernels (and with the tflite-micro runtime).
"""

from __future__ import annotations

import pytest

import real_models
from tinyconv import targets
from tinyconv.ir.schema import tflite as schema
from tinyconv.ir.tflite_import import import_tflite
from tinyconv.reference import parse_model
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



@pytest.mark.arm
def test_free_batch_conv_transpose_folds_its_shape_arithmetic_and_is_bit_exact_on_cortex_m4():
    """Keras 3 Conv2DTranspose with a free batch: the converter's SHAPE -> STRIDED_SLICE ->
    PACK chains are folded at import (tinyconv/ir/fold.py), the rest runs bit-exact."""
    model = real_models.converted("free_batch_upsampler_keras")
    raw = parse_model(model)
    kinds = [schema.op_name(raw, int(op.opcodeIndex)) for op in raw.subgraphs[0].operators]
    assert kinds.count("SHAPE") == 2 and kinds.count("PACK") == 2  # what is being folded
    x = raw.subgraphs[0].tensors[raw.subgraphs[0].inputs[0]]
    assert list(x.shapeSignature) == [-1, 24, 24, 3]  # a free batch ...
    graph = import_tflite(model)
    assert graph.inputs[0].shape == (1, 24, 24, 3)  # ... taken as 1
    assert [op.kind for op in graph.ops] == ["CONV_2D", "CONV_2D", "TRANSPOSE_CONV",
                                             "TRANSPOSE_CONV"]
    assert [op.inputs[0].data.tolist() for op in graph.ops[2:]] == [[1, 12, 12, 8],
                                                                    [1, 24, 24, 4]]
    report = verify(model, targets.get_board("qemu-m4"), source="free_batch_upsampler", n=2)
    assert report.reference == "litert"
    assert report.outputs_compared > 0 and report.mismatched_bytes == 0, report.mismatches
