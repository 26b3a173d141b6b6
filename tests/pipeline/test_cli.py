"""The command line as a user meets it: real files, real toolchain, real QEMU."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tflite_builder as tb

REQUIRED_VERIFY_KEYS = {"mismatched_bytes", "outputs_compared", "arena_bytes", "stack_bytes",
                        "ram_bytes", "flash_bytes", "instructions_per_inference",
                        "tflm_arena_bytes"}


def tinyconv(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinyconv.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("models") / "convnet.tflite"
    path.write_bytes(tb.small_convnet_model(np.random.default_rng(5)))
    return path


def assert_one_line_error(result: subprocess.CompletedProcess, pattern: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinyconv: error:"), result.stderr
    assert "Traceback" not in result.stderr
    import re
    assert re.search(pattern, lines[0]), lines[0]


def test_inspect_prints_the_plan_and_writes_json_and_plot(model, tmp_path):
    result = tinyconv("inspect", model, "--target", "cortex-m7", "--json", tmp_path / "p.json",
                      "--plot", tmp_path / "m.png")
    assert result.returncode == 0, result.stderr
    assert "DEPTHWISE_CONV_2D" in result.stdout and "arena" in result.stdout
    data = json.loads((tmp_path / "p.json").read_text())
    assert data["arena_bytes"] >= data["peak_live_bytes"] >= data["layer_lower_bound_bytes"] > 0
    assert len(data["layers"]) == 7
    # The latency model's estimate per layer (a column) and in all, on cortex-m7's kernels.
    assert data["isa"] == "dsp"
    total = data["instructions_estimate"]
    assert total == sum(layer["instructions_estimate"] for layer in data["layers"]) > 0
    assert "est. instr" in result.stdout
    assert f"estimated instructions per inference {total:,}" in result.stdout
    for layer in data["layers"]:
        assert f"{layer['instructions_estimate']:,}" in result.stdout
    assert (tmp_path / "m.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("content,pattern", [
    (b"", "not a TFLite flatbuffer"),
    (bytes(range(256)) * 8, "not a TFLite flatbuffer"),
])
def test_export_of_garbage_is_one_line_exit_2_and_no_output(tmp_path, content, pattern):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(content)
    out = tmp_path / "out"
    assert_one_line_error(tinyconv("export", bad, "--target", "cortex-m7", "-o", out), pattern)
    assert not out.exists()


def test_truncated_model(model, tmp_path):
    bad = tmp_path / "truncated.tflite"
    bad.write_bytes(model.read_bytes()[:1000])
    out = tmp_path / "out"
    assert_one_line_error(tinyconv("export", bad, "--target", "cortex-m4", "-o", out),
                          "corrupt or truncated")
    assert not out.exists()


def test_missing_model_file(tmp_path):
    assert_one_line_error(tinyconv("inspect", tmp_path / "nope.tflite"), "cannot read model")


def test_budget_too_small_says_need_and_overshoot(model, tmp_path):
    out = tmp_path / "out"
    result = tinyconv("export", model, "--target", "cortex-m7", "--sram", "1kB", "-o", out)
    assert_one_line_error(result, r"needs \d+ B of SRAM .* over the 1024 B .* by \d+ B")
    assert not out.exists()


def test_unknown_target_lists_valid_ones(model, tmp_path):
    assert_one_line_error(tinyconv("export", model, "--target", "cortex-a53", "-o",
                                   tmp_path / "o"), "cortex-m7")


def test_export_builds_and_runs_in_qemu(model, tmp_path):
    out = tmp_path / "fw"
    result = tinyconv("export", model, "--target", "cortex-m55", "--sram", "64kB", "-o", out)
    assert result.returncode == 0, result.stderr
    for part in ("Makefile", "config.mk", "model/model.c", "model/weights.c", "model/model.h",
                 "model/plan.json", "kernels/include/tc_nnfunctions.h"):
        assert (out / part).exists(), part
    run = subprocess.run(["make", "-C", str(out), "run"], capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "TINYCONV" in run.stdout and "status=0" in run.stdout
    plan = json.loads((out / "model" / "plan.json").read_text())
    assert f"arena={plan['arena_bytes']}" in run.stdout


def test_verify_reports_everything_as_json(model, tmp_path):
    report = tmp_path / "r.json"
    result = tinyconv("verify", model, "--target", "cortex-m4", "-n", "5", "--json", report)
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(report.read_text())
    assert REQUIRED_VERIFY_KEYS <= set(data)
    assert data["mismatched_bytes"] == 0 and data["outputs_compared"] == 5 * 5
    # Measured RAM (the ELF's .data+.bss, the stack the firmware measured) fits what deploy
    # planned (arena + reserved stack + runtime statics), and the ELF holds the whole arena.
    assert data["arena_bytes"] <= data["static_ram_bytes"] and 0 < data["stack_bytes"] \
        < data["stack_reserved_bytes"] and data["ram_bytes"] <= data["planned_ram_bytes"]
    # The reserve is the compiler's bound for this model, and the measured stack within it.
    assert data["stack_bytes"] <= data["stack_bound_bytes"] == data["stack_reserved_bytes"]
    assert "(computed bound)" in result.stdout
    assert data["instructions_per_inference"] > 1000
    assert data["tflm_arena_bytes"] >= data["arena_bytes"]


def _float_model_by_tensorflow(tmp_path: Path) -> Path:
    """A real float model from the TFLite converter (not quantized)."""
    from tinyconv.keras_compat import keras, tf

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Input((8, 8, 1)), keras.layers.Conv2D(4, 3),
                              keras.layers.Flatten(), keras.layers.Dense(3)])
    path = tmp_path / "float.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    return path


def test_a_float_model_from_the_converter_is_named(tmp_path):
    model = _float_model_by_tensorflow(tmp_path)
    out = tmp_path / "out"
    pattern = r"float\.tflite.*float model"
    assert_one_line_error(tinyconv("export", model, "--target", "cortex-m7", "-o", out), pattern)
    assert not out.exists()
    assert_one_line_error(tinyconv("verify", model, "--target", "cortex-m4", "-n", "2"), pattern)


# ---- quiet by default ------------------------------------------------------------------------

# What TensorFlow 2.21 prints on its own while it loads and probes devices.
CHATTER = ("oneDNN", "absl", "cuda", "CUDA", "TensorFlow binary is optimized",
           "WARNING: All log messages", "I0000", "E0000", "W0000", "Warning:")


def test_tensorflow_chatter_is_hidden_unless_verbose(tmp_path):
    args = ("zoo", "--family", "lenet5")  # builds a Keras model: imports TensorFlow
    quiet = tinyconv(*args, cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert "lenet5: LeNet-5" in quiet.stdout and "peak SRAM" in quiet.stdout
    assert [w for w in CHATTER if w in quiet.stderr] == [], quiet.stderr
    assert quiet.stderr == ""
    verbose = tinyconv("-v", *args, cwd=tmp_path)
    assert verbose.returncode == 0, verbose.stderr
    assert verbose.stdout == quiet.stdout
    if sys.platform == "linux" and platform.machine() == "x86_64":
        # TensorFlow's x86 Linux build always announces oneDNN: -v lets it through.
        assert "oneDNN" in verbose.stderr, verbose.stderr


def test_verbose_flag_is_documented():
    result = tinyconv("--help")
    assert result.returncode == 0 and "-v, --verbose" in result.stdout


# ---- one definition of the target defaults ---------------------------------------------------

def test_stack_default_is_the_computed_bound(model, tmp_path):
    from tinyconv.defaults import DEFAULT_STACK_BYTES, STACK_MARGIN_PERCENT
    for command in ("export", "verify", "search"):
        help_text = " ".join(tinyconv(command, "--help").stdout.split())
        assert f"+{STACK_MARGIN_PERCENT}%" in help_text, command
        assert f"{DEFAULT_STACK_BYTES // 1024}KiB on the host" in help_text, command


@pytest.mark.arm
def test_export_writes_the_stack_bound_into_config_mk(model, tmp_path):
    from tinyconv.defaults import DEFAULT_STACK_BYTES
    out = tmp_path / "fw"
    result = tinyconv("export", model, "--target", "cortex-m4", "-o", out)
    assert result.returncode == 0 and "(computed bound)" in result.stdout
    bound = json.loads((out / "model" / "plan.json").read_text())["stack_bound_bytes"]
    assert 0 < bound < DEFAULT_STACK_BYTES // 2
    assert f"STACK_SIZE ?= {bound}\n" in (out / "config.mk").read_text()
    out2 = tmp_path / "fw2"
    assert tinyconv("export", model, "--target", "cortex-m4", "--stack", "3kB",
                    "-o", out2).returncode == 0
    assert "STACK_SIZE ?= 3072\n" in (out2 / "config.mk").read_text()
    assert json.loads((out2 / "model" / "plan.json").read_text())["stack_bound_bytes"] is None


def test_firmware_makefile_has_no_stack_default_of_its_own(tmp_path):
    from tinyconv import FIRMWARE_DIR
    (tmp_path / "model.h").write_text("/* any model: make stops before compiling */\n")
    env = {k: v for k, v in os.environ.items() if k not in ("STACK_SIZE", "MAKEFLAGS")}
    result = subprocess.run(["make", "-s", "-C", str(FIRMWARE_DIR), "all", "TARGET=qemu-m4",
                             f"MODEL_DIR={tmp_path}", f"BUILD_DIR={tmp_path / 'build'}"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode != 0 and "STACK_SIZE is not set" in result.stderr, result.stderr


def test_bad_size_and_count_options_are_one_line_errors(model, tmp_path):
    assert_one_line_error(tinyconv("export", model, "--stack", "lots", "-o", tmp_path / "o"),
                          "cannot read size 'lots'")
    assert_one_line_error(tinyconv("zoo", "--family", "lenet5", "--resolution", "0"),
                          "--resolution must be at least 1, got 0")
