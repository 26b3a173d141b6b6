"""The oracles run in child processes: a crash there is one clear line and, where the other
oracle runs the model, a fallback to it (tinyconv/worker.py, tinyconv/reference.py)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import numpy as np
import pytest

import tflite_builder as tb
from cli_process import run_cli
from tflite_builder import ModelBuilder, schema
from tinyconv import worker
from tinyconv.errors import TinyconvError
from tinyconv.reference import litert_outputs, random_inputs, reference_outputs
from tinyconv.tflm import tflm_outputs


def _depthwise_bias_axis_3() -> bytes:
    """A depthwise conv whose rank-1 bias says quantized_dimension 3 (copied from the
    weights, as old converters wrote it): TFLite Micro runs it, LiteRT refuses it."""
    rng = np.random.default_rng(0)
    b = ModelBuilder()
    x = b.tensor((1, 8, 8, 4), "int8", 0.05, -3)
    w = b.const(rng.integers(-127, 128, (1, 3, 3, 4)).astype(np.int8),
                scale=[0.01, 0.02, 0.03, 0.04], zero_point=[0] * 4, quantized_dimension=3)
    bias = b.const(rng.integers(-100, 100, (4,)).astype(np.int32),
                   scale=[0.0005, 0.001, 0.0015, 0.002], zero_point=[0] * 4,
                   quantized_dimension=3)
    y = b.tensor((1, 8, 8, 4), "int8", 0.1, 2)
    o = schema.DepthwiseConv2DOptionsT()
    o.padding, o.strideH, o.strideW, o.depthMultiplier = 0, 1, 1, 1
    o.dilationHFactor = o.dilationWFactor = 1
    b.op("DEPTHWISE_CONV_2D", [x, w, bias], [y], o)
    return b.build([x], [y])


def test_auto_falls_back_to_tflm_where_litert_refuses_the_model():
    model = _depthwise_bias_axis_3()
    samples = random_inputs(model, 2, 0)
    with pytest.raises(worker.OracleError, match="quantized_dimension"):
        litert_outputs(model, samples)
    ref = reference_outputs(model, samples, "auto")
    assert ref.name == "tflm" and "LiteRT cannot load the model" in ref.note
    np.testing.assert_array_equal(ref.outputs[0][0], tflm_outputs(model, samples)[0][0])
    with pytest.raises(TinyconvError, match="quantized_dimension"):
        reference_outputs(model, samples, "litert")  # asked for by name: no fallback


def test_verify_cli_names_the_fallback_reference(tmp_path):
    path = tmp_path / "dw_bias_axis3.tflite"
    path.write_bytes(_depthwise_bias_axis_3())
    result = run_cli("verify", path, "--board", "host", "-n", "3",
                     "--json", tmp_path / "r.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("reference:")]
    assert len(lines) == 1 and "TFLite Micro" in lines[0] and "quantized_dimension" in lines[0]
    assert "compared with TFLite Micro: 0 mismatched" in result.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["reference"] == "tflm" and "LiteRT" in report["reference_note"]
    assert report["mismatched_bytes"] == 0


def _slow_model_and_samples():
    """A model LiteRT's reference conv needs seconds for, over 40 samples."""
    model = tb.conv2d_model(np.random.default_rng(1), input_shape=(1, 96, 96, 16), filters=32,
                            kernel=(3, 3), stride=(1, 1), padding="SAME", dilation=(1, 1),
                            groups=1)
    return model, random_inputs(model, 40, 0)


def _kill_litert_child_soon(delay_s: float) -> threading.Thread:
    """SIGKILL LiteRT's child process `delay_s` into the next request (a real crash of the
    process the oracle runs in)."""
    litert_outputs(*_tiny_model_and_sample())  # the child is up and warm
    pid = worker.worker("tinyconv.reference", "LiteRT").pid

    def kill():
        time.sleep(delay_s)
        os.kill(pid, signal.SIGKILL)
    thread = threading.Thread(target=kill)
    thread.start()
    return thread


def _tiny_model_and_sample():
    model = tb.relu_model(np.random.default_rng(0), input_shape=(2, 3))
    return model, random_inputs(model, 1, 0)


def test_a_crashed_oracle_is_one_line_and_the_next_call_works():
    model, samples = _slow_model_and_samples()
    thread = _kill_litert_child_soon(0.5)
    with pytest.raises(worker.OracleCrashed) as info:
        litert_outputs(model, samples)
    thread.join()
    assert str(info.value).startswith("LiteRT crashed (killed by SIGKILL)")
    assert "\n" not in str(info.value)
    tiny, sample = _tiny_model_and_sample()
    assert litert_outputs(tiny, sample)[0][0].shape == (2, 3)  # a fresh child serves it


def test_auto_falls_back_to_tflm_when_litert_crashes():
    model, samples = _slow_model_and_samples()
    thread = _kill_litert_child_soon(0.5)
    ref = reference_outputs(model, samples, "auto")
    thread.join()
    assert ref.name == "tflm" and ref.note.startswith("LiteRT crashed")
    np.testing.assert_array_equal(ref.outputs[3][0], litert_outputs(model, samples[3:4])[0][0])
