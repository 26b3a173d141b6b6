"""verify --layers: every op's output tensor of the firmware compared byte for byte with
LiteRT's, and the first one that differs named; a fault planted in one layer's weights is
reported at exactly that layer."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

import zoo_models
from tinyconv import deploy, reference, report, targets
from tinyconv.errors import TinyconvError
from tinyconv.ir.tflite_import import import_tflite
from tinyconv.verify import split_layer_dumps, verify, verify_deployment

BOARD = "qemu-m4"


def _deployment(family: str):
    model = zoo_models.converted(family)
    return model, deploy.prepare(import_tflite(model, source=family), targets.get_board(BOARD))


@pytest.mark.arm
def test_cli_layers_all_equal_on_dscnn_and_the_normal_build_has_no_dump_code(tmp_path):
    model = zoo_models.converted("dscnn")
    (tmp_path / "dscnn.tflite").write_bytes(model)
    graph = import_tflite(model)
    keep = tmp_path / "keep"
    result = subprocess.run(
        [sys.executable, "-m", "tinyconv.cli", "verify", tmp_path / "dscnn.tflite", "--board",
         BOARD, "-n", "3", "--seed", "1", "--no-tflm", "--layers", "--json",
         tmp_path / "r.json", "--keep", keep], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["mismatched_bytes"] == 0 and data["first_mismatched_layer"] is None
    # One entry per op, each its output tensor over all three samples, none skipped.
    layers = data["layers"]
    assert sorted(x["op_index"] for x in layers) == list(range(len(graph.ops)))
    for x in layers:
        t = graph.tensors[x["tensor_index"]]
        assert graph.ops[x["op_index"]].outputs[0].index == t.index
        assert (x["skipped"], x["mismatched_bytes"], x["bytes_compared"]) == ("", 0, 3 * t.nbytes)
    assert data["reference_tensors_not_compared"] == []
    total = sum(x["bytes_compared"] for x in layers)
    assert f"layers: all {len(graph.ops)} op outputs compared equal ({total:,} bytes)" \
        in result.stdout
    # The kept directory holds the normal build: no dump hook in its code or its model.h.
    symbols = subprocess.run(["arm-none-eabi-nm", str(keep / "build" / "tinyconv.elf")],
                             capture_output=True, text=True, check=True).stdout
    assert "tc_bench_begin" in symbols and "tc_model_dump_layer" not in symbols
    assert "define TC_DUMP_LAYERS" not in (keep / "model" / "model.h").read_text()
    assert "#ifdef TC_DUMP_LAYERS" in (keep / "model" / "model.c").read_text()


def _corrupt_middle_weight(deployment) -> int:
    """Changes one weight byte of the middle op with a constant filter, in the const array
    weights.c will hold; returns that op's index."""
    source = deployment.source
    arrays = {a.name: a for a in source.arrays}
    weighted = [op for op in deployment.plan.order
                if len(op.inputs) > 1 and op.inputs[1] is not None and op.inputs[1].is_constant
                and op.inputs[1].dtype.numpy == np.int8]
    op = weighted[len(weighted) // 2]
    array = arrays[f"tc_const_{op.inputs[1].index}"]  # the filter, as weights.c holds it
    values = array.values.copy()
    first = values.reshape(-1)
    first[0] = 127 if first[0] < 0 else -128
    array.values = values
    return op.index


@pytest.mark.arm
def test_a_corrupted_resnet8_weight_is_reported_at_its_layer(tmp_path):
    model, deployment = _deployment("resnet8")
    broken = _corrupt_middle_weight(deployment)
    samples = reference.random_inputs(model, 3, 5)
    r = verify_deployment(deployment, model, samples, count_instructions=False, layers=True,
                          work_dir=tmp_path)
    assert not r.ok
    first = r.first_mismatched_layer
    assert first is not None and first.op_index == broken, (broken, first)
    assert first.mismatched_bytes > 0 and first.first_mismatch.startswith("sample ")
    # Everything the firmware ran before it is equal; the fault shows up in the weights.c
    # the firmware was built from.
    before = r.layers[:first.step]
    assert before and all(x.mismatched_bytes == 0 and x.bytes_compared > 0 for x in before)
    text = "\n".join(report.format_layer_check(r))
    assert re.search(rf"the first is op #{broken} CONV_2D ", text), text
    assert f"the {len(before)} op outputs before it are equal" in text


def test_a_truncated_resnet8_layer_dump_names_the_layer_it_expected():
    _, deployment = _deployment("resnet8")
    graph, layers = deployment.graph, deployment.source.layers
    records = b""
    for layer in layers:
        header = np.array([layer.op.index, layer.tensor.index, layer.tensor.nbytes], "<u4")
        records += header.tobytes() + bytes(layer.tensor.nbytes)
    outputs = bytes(sum(t.nbytes for t in graph.outputs))
    dumps, out = split_layer_dumps(records + outputs, layers, graph, 1)
    assert out == outputs and [a.shape for a in dumps[0]] == [x.tensor.shape for x in layers]
    cut = len(records) - layers[-1].tensor.nbytes - 12
    with pytest.raises(TinyconvError, match=rf"expected op {layers[-1].op.index} tensor "
                                            rf"{layers[-1].tensor.index}"):
        split_layer_dumps(records[:cut], layers, graph, 1)


def test_resnet8_layers_need_the_litert_reference():
    model, _ = _deployment("resnet8")
    with pytest.raises(TinyconvError, match="--layers .* reference here is TFLite Micro"):
        verify(model, targets.get_board(BOARD), n=1, layers=True, match="tflm")
