"""tinyconv profile: per-layer instruction counts in QEMU that add up to the whole
inference, a per-function view, a PNG plot, and the normal build left unchanged."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

import zoo_models
from cli_process import run_cli
from tinyconv import targets
from tinyconv.profile import HARNESS_FUNCTIONS, OUTSIDE, profile
from tinyconv.verify import verify

BOARD = "qemu-m4"


@pytest.fixture(scope="module")
def dscnn_profile(tmp_path_factory):
    model = zoo_models.converted("dscnn")
    keep = tmp_path_factory.mktemp("profile")
    return model, profile(model, targets.get_board(BOARD), source="dscnn", work_dir=keep), keep


@pytest.mark.arm
def test_layers_add_up_to_the_whole_inference_and_convs_dominate(dscnn_profile):
    model, r, _ = dscnn_profile
    assert r.mismatched_bytes == 0 and r.outputs_compared > 0
    assert sum(x.instructions for x in r.layers) == r.profiled_instructions
    assert all(x.instructions > 0 for x in r.layers)
    assert sum(x.macs for x in r.layers) == r.macs
    # The marks cost a few instructions each at most; the normal build is what verify sees.
    assert 0 <= abs(r.mark_instructions) <= 4 * len(r.layers)
    conv = sum(c.instructions for c in r.op_classes
               if c.op_class in ("1x1 conv", "3x3 depthwise", "other depthwise", "other conv",
                                 "first RGB conv"))
    assert conv > 0.9 * r.profiled_instructions
    for x in r.layers:
        if x.kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            assert x.macs > 0 and x.instructions_per_mac == pytest.approx(
                x.instructions / x.macs, abs=1e-3)
            # A layer's functions add up to exactly its count; its kernel is among them.
            assert x.kernel in x.functions
            assert sum(x.functions.values()) == x.instructions


@pytest.mark.arm
def test_function_view_holds_the_kernels_and_adds_up(dscnn_profile):
    _, r, _ = dscnn_profile
    names = {f.name for f in r.functions}
    assert {x.kernel for x in r.layers} <= names
    assert "tc_model_invoke" in names and "tc_profile_mark" in names
    assert not names & set(HARNESS_FUNCTIONS)
    assert sum(f.instructions for f in r.functions) == r.profiled_instructions
    assert next(f for f in r.functions if f.name == "tc_profile_mark").instructions == \
        len(r.layers) - 1
    assert all(f.size_bytes > 0 for f in r.functions if f.name != OUTSIDE)


@pytest.mark.arm
def test_normal_build_is_unchanged_by_the_profile_hook(dscnn_profile):
    model, r, keep = dscnn_profile
    plain = verify(model, targets.get_board(BOARD), source="dscnn", n=1)
    assert plain.mismatched_bytes == 0
    assert plain.instructions_per_inference == r.instructions
    assert plain.flash_bytes == r.flash_bytes
    # The kept build is the normal one: no mark in its code, none defined in its model.h.
    symbols = subprocess.run(["arm-none-eabi-nm", str(keep / "build" / "tinyconv.elf")],
                             capture_output=True, text=True, check=True).stdout
    assert "tc_bench_begin" in symbols and "tc_profile_mark" not in symbols
    assert "define TC_PROFILE_LAYERS" not in (keep / "model" / "model.h").read_text()


@pytest.mark.arm
def test_cli_writes_table_json_and_a_readable_plot(tmp_path):
    path = tmp_path / "dscnn.tflite"
    path.write_bytes(zoo_models.converted("dscnn"))
    result = run_cli("profile", path, "--target", "cortex-m7", "--json", tmp_path / "p.json",
                     "--plot", tmp_path / "p.png")
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads((tmp_path / "p.json").read_text())
    assert data["board"] == "qemu-m7" and data["mismatched_bytes"] == 0
    assert sum(x["instructions"] for x in data["layers"]) == data["profiled_instructions"]
    assert f"{data['instructions']:,} instructions per inference" in result.stdout
    assert "DEPTHWISE_CONV_2D" in result.stdout and "3x3 depthwise" in result.stdout
    largest = data["functions"][0]["name"]
    assert f"\n  {largest} " in result.stdout  # the function view, largest first
    import matplotlib.image
    image = matplotlib.image.imread(tmp_path / "p.png")
    assert image.shape[0] >= 300 and image.shape[1] >= 800
    # Not blank: many distinct colors (bars of several op types, text).
    assert len(np.unique(image.reshape(-1, image.shape[-1]), axis=0)) > 20


@pytest.mark.parametrize("args, pattern", [
    (["missing.tflite", "--target", "cortex-m7"], "cannot read model"),
    (["MODEL", "--target", "cortex-m99"], "cortex-m99"),
    (["MODEL", "--board", "host"], "QEMU"),
])
@pytest.mark.arm
def test_bad_model_or_target_is_one_line_error(tmp_path, args, pattern):
    path = tmp_path / "dscnn.tflite"
    path.write_bytes(zoo_models.converted("dscnn"))
    args = [str(path) if a == "MODEL" else str(tmp_path / a) if a.endswith(".tflite") else a
            for a in args]
    result = run_cli("profile", *args)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinyconv: error:"), result.stderr
    assert pattern in lines[0], lines[0]
