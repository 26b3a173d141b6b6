"""Training pipeline on real Fashion-MNIST: train -> int8 -> ONNX -> metrics, resume, QAT, CLI errors.

The Fashion-MNIST tests need the dataset (`make test` installs Debian's copy); Ctrl-C and
--resume through the CLI run on scikit-learn's digits, so they run on any checkout."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cli_process import interrupt_when, run_cli
from tinyconv.train import TrainConfig

FASHION = pytest.mark.dataset("fashion_mnist")
SMALL = dict(model="lenet5", dataset="fashion_mnist", epochs=2, batch_size=64, limit_train=2000,
             limit_test=300, calibration_samples=100, seed=0)


@pytest.fixture(scope="module")
def lenet_run(tmp_path_factory):
    from tinyconv.train import train

    run_dir = tmp_path_factory.mktemp("train") / "lenet"
    result = train(TrainConfig(**SMALL), run_dir, progress=False)
    return run_dir, result


@pytest.fixture(scope="module")
def small_data():
    from tinyconv.data import load_dataset

    return load_dataset("fashion_mnist", seed=0, limit_train=1024, limit_test=200)


def cli(*args, timeout=300):
    return run_cli(*args, timeout=timeout)


@FASHION
def test_run_writes_every_artefact_and_sane_metrics(lenet_run):
    run_dir, result = lenet_run
    for name in ("model.h5", "model_int8.tflite", "model.onnx", "model_int8.onnx", "metrics.json",
                 "history.json", "config.json"):
        assert (run_dir / name).stat().st_size > 0, name
    assert not list(run_dir.glob(".*tmp*")), "temporary files left behind"
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m == json.loads(json.dumps(result.metrics))
    # 2 short epochs on 1,800 real images: well above the 10 % chance level (measured ~0.7).
    assert m["float_accuracy"] > 0.5 and m["int8_accuracy"] > 0.5
    # Float and int8 scored on the same images (the whole test split), on the default board.
    assert m["accuracy_images"] == 300 and m["float_accuracy_on_int8_images"] == m["float_accuracy"]
    assert m["board"] == "qemu-m7"
    assert abs(m["int8_drop_points"]) < 5
    assert m["qat"] is False and m["qat_epochs"] == 0 and "post-training" in m["quantization_note"]
    assert m["dataset_sizes"] == {"train": 1800, "val": 200, "test": 300}
    assert m["epochs_run"] == 2 and m["seconds_per_epoch"] > 0
    assert m["parameters"] == 44426 and m["macs"] > 200_000
    assert m["tflite_bytes"] == (run_dir / "model_int8.tflite").stat().st_size
    assert 0 < m["arena_bytes"] < m["planned_peak_sram_bytes"] < 320 * 1024
    assert 0 < m["smallest_arena_bytes"] <= m["arena_bytes"]
    assert m["smallest_planned_peak_sram_bytes"] <= m["planned_peak_sram_bytes"]
    assert 40_000 < m["flash_weights_bytes"] < m["tflite_bytes"]
    assert m["onnx"]["float_max_abs_diff_vs_keras"] < 1e-4
    history = json.loads((run_dir / "history.json").read_text())
    assert len(history["history"]["val_accuracy"]) == 2


@FASHION
def test_int8_accuracy_recomputes_from_the_file(lenet_run):
    from tinyconv.data import load_dataset
    from tinyconv.train import int8_accuracy

    run_dir, result = lenet_run
    data = load_dataset("fashion_mnist", seed=0, limit_train=2000, limit_test=300)
    acc = int8_accuracy((run_dir / "model_int8.tflite").read_bytes(), data.x_test, data.y_test)
    assert acc == pytest.approx(result.int8_accuracy, abs=1e-9)


@FASHION
def test_batched_int8_outputs_equal_one_by_one_reference_runs(lenet_run):
    from tinyconv.data import load_dataset
    from tinyconv.reference import litert_outputs
    from tinyconv.train import int8_outputs
    from tinyconv.train.quantize import quantize_input

    blob = (lenet_run[0] / "model_int8.tflite").read_bytes()
    x = load_dataset("fashion_mnist", seed=0, limit_train=100, limit_test=37).x_test
    batched = int8_outputs(blob, x, batch=16)  # 16 + 16 + 5: the last batch is resized
    single = np.stack([o[0].reshape(-1) for o in litert_outputs(blob, [[q[None]] for q in quantize_input(blob, x)])])
    assert batched.dtype == np.int8 and np.array_equal(batched, single)


@FASHION
def test_onnx_files_run_in_onnxruntime_and_match_keras(lenet_run, small_data):
    from tinyconv import onnx_export
    from tinyconv.keras_compat import keras

    run_dir, _ = lenet_run
    model = keras.models.load_model(str(run_dir / "model.h5"), compile=False)
    x = small_data.x_test[:50]
    ref = model.predict(x, verbose=0)
    np.testing.assert_allclose(onnx_export.run(run_dir / "model.onnx", x), ref, atol=1e-5)
    q = onnx_export.run(run_dir / "model_int8.onnx", x)
    assert q.shape == ref.shape
    # A 2-epoch model has near-ties between classes; measured 0.88 agreement on these 50.
    assert np.mean(np.argmax(q, 1) == np.argmax(ref, 1)) >= 0.8


@FASHION
def test_resume_continues_from_the_last_finished_epoch(tmp_path, small_data):
    from tinyconv import zoo
    from tinyconv.keras_compat import keras
    from tinyconv.train import fit

    ckpt = tmp_path / "checkpoints"
    args = dict(batch_size=64, learning_rate=2e-3, seed=0, checkpoint_dir=ckpt, progress=False)
    keras.utils.set_random_seed(0)
    first = fit(zoo.build("lenet5", (28, 28, 1), 10), small_data, epochs=1, **args)
    assert first.epochs_run == 1 and (ckpt / "state.json").exists()
    steps = int(np.ceil(len(small_data.x_train) / 64))

    model = zoo.build("lenet5", (28, 28, 1), 10)  # fresh weights: the checkpoint must replace them
    second = fit(model, small_data, epochs=2, resume=True, **args)
    assert second.resumed_from_epoch == 1 and second.epochs_run == 2
    assert len(second.history["val_accuracy"]) == 2 and len(second.epoch_seconds) == 2
    assert second.history["val_accuracy"][0] == first.history["val_accuracy"][0]
    # The optimizer state came back too: its step counter counts both epochs.
    assert int(model.optimizer.iterations.numpy()) == 2 * steps
    assert second.history["val_accuracy"][1] > 0.5
    assert [p.name for p in ckpt.glob("epoch-*")] == ["epoch-0002"]


@FASHION
def test_early_stopping_restores_the_best_epoch(tmp_path, small_data):
    from tinyconv import zoo
    from tinyconv.keras_compat import keras
    from tinyconv.train import fit

    keras.utils.set_random_seed(0)
    model = zoo.build("lenet5", (28, 28, 1), 10)
    # A learning rate this high diverges after the first epoch, so val accuracy stops improving.
    hist = fit(model, small_data, epochs=6, batch_size=64, learning_rate=0.5, seed=0,
               progress=False, patience=1, warmup_epochs=0)
    if not hist.stopped_early:
        pytest.fail(f"no early stop: {hist.history['val_accuracy']}")
    assert hist.epochs_run == hist.best_epoch + 1 < 6


@FASHION
def test_qat_finetune_and_int8_export(small_data, capsys):
    from tinyconv import zoo
    from tinyconv.convert import ops_of
    from tinyconv.keras_compat import keras
    from tinyconv.train import export_int8, fit, int8_accuracy, qat_finetune

    keras.utils.set_random_seed(0)
    model = zoo.build("lenet5", (28, 28, 1), 10)
    fit(model, small_data, epochs=1, batch_size=64, learning_rate=2e-3, seed=0, progress=True)
    q, _ = qat_finetune(model, small_data, 1, progress=True)
    # Output not on a terminal (captured): one line per epoch, no per-step progress bars.
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0].strip() for line in lines] == ["epoch 1/1", "qat epoch 1/1"], lines
    assert all("val_accuracy" in line and line.endswith(" s)") for line in lines)
    assert any("quant" in layer.name for layer in q.layers)
    blob = export_int8(q, small_data, samples=50)
    assert set(ops_of(blob)) <= {"CONV_2D", "MAX_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX", "QUANTIZE"}
    fake_quant = q.evaluate(small_data.x_test, small_data.y_test, verbose=0)[1]
    int8 = int8_accuracy(blob, small_data.x_test, small_data.y_test)
    # 1 + 1 short epochs on 922 images (measured int8 0.435, chance 0.10): the int8 model
    # must match the fake-quant model it was converted from.
    assert int8 > 0.3 and abs(int8 - fake_quant) < 0.05


@FASHION
def test_qat_resumes_after_its_last_finished_epoch(tmp_path, small_data):
    """QAT epochs are checkpointed like fit's: one epoch, then a resumed call to two
    epochs, gives the uninterrupted run's weights and history (same batches, same
    optimizer state)."""
    from tinyconv import zoo
    from tinyconv.keras_compat import keras
    from tinyconv.train import fit, qat_finetune

    keras.utils.set_random_seed(0)
    model = zoo.build("lenet5", (28, 28, 1), 10)
    fit(model, small_data, epochs=1, batch_size=64, learning_rate=2e-3, seed=0, progress=False)
    float_weights = model.get_weights()
    args = dict(batch_size=64, seed=0, progress=False)
    whole, whole_hist = qat_finetune(model, small_data, 2, **args)
    ckpt = tmp_path / "qat"
    _, first = qat_finetune(model, small_data, 1, checkpoint_dir=ckpt, **args)
    assert first.epochs_run == 1 and (ckpt / "state.json").exists()
    model.set_weights([w * 0 for w in float_weights])  # the checkpoint must replace them
    resumed, second = qat_finetune(model, small_data, 2, checkpoint_dir=ckpt, resume=True, **args)
    assert second.resumed_from_epoch == 1 and second.epochs_run == 2
    assert second.history["val_accuracy"] == whole_hist.history["val_accuracy"]
    for a, b in zip(resumed.get_weights(), whole.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert [p.name for p in ckpt.glob("epoch-*")] == ["epoch-0002"]


def test_qat_unsupported_family_is_a_clear_error():
    from tinyconv import zoo
    from tinyconv.train.quantize import QatUnsupported, quantize_aware

    model = zoo.build("mobilenetv3_small", (32, 32, 1), 10, 0.35, last_channels=64)
    with pytest.raises(QatUnsupported, match="tfmot cannot quantize"):
        quantize_aware(model)


# ---- run directory rules (no TensorFlow needed) ----------------------------------------------

def test_fresh_run_refuses_a_non_empty_directory_and_resume_needs_the_same_config(tmp_path):
    from tinyconv.errors import TinyconvError
    from tinyconv.train.run import _start_run_dir, prepare_run_dir

    config = TrainConfig(**SMALL)
    (tmp_path / "other.txt").write_text("x")
    with pytest.raises(TinyconvError, match="not empty.*--resume"):
        prepare_run_dir(config, tmp_path, resume=False)
    with pytest.raises(TinyconvError, match="nothing to resume"):
        prepare_run_dir(config, tmp_path, resume=True)
    _start_run_dir(config, tmp_path / "run")
    prepare_run_dir(config, tmp_path / "run", resume=True)
    with pytest.raises(TinyconvError, match="cannot resume.*width"):
        prepare_run_dir(TrainConfig(**{**SMALL, "width": 0.5}), tmp_path / "run", resume=True)


# ---- CLI -------------------------------------------------------------------------------------

@pytest.mark.parametrize("args,message", [
    (["--model", "resnet99"], r"unknown model family 'resnet99'; known: mobilenetv2, resnet8"),
    (["--model", "lenet5", "--dataset", "imagenet"], r"unknown dataset 'imagenet'.*fashion_mnist"),
    (["--model", "mobilenetv2", "--resolution", "16"], r"mobilenetv2 needs an input of at least 32x32"),
    (["--model", "lenet5", "--epochs", "0"], r"epochs must be at least 1"),
    (["--model", "lenet5", "--param", "depth=3"], r"lenet5 takes no parameter depth"),
])
def test_cli_bad_input_is_one_line(tmp_path, args, message):
    out = tmp_path / "run"
    r = cli("train", *args, "-o", str(out))
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("tinyconv: error:")]
    assert len(lines) == 1 and __import__("re").search(message, lines[0]), r.stderr
    assert not out.exists(), "a failed start must not leave a run directory"


def test_cli_refuses_non_empty_output(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    r = cli("train", "--model", "lenet5", "-o", str(tmp_path))
    assert r.returncode == 2 and "is not empty" in r.stderr and "Traceback" not in r.stderr
    assert (tmp_path / "keep.txt").read_text() == "mine"


@pytest.mark.slow
@FASHION
def test_cli_ctrl_c_keeps_checkpoints_and_resume_finishes(tmp_path):
    out = tmp_path / "run"
    args = ["train", "--model", "lenet5", "--epochs", "3", "--limit-train", "3000", "--limit-test", "200",
            "--no-onnx", "-o", str(out)]
    state = out / "checkpoints" / "state.json"
    stop = interrupt_when(args, state.exists, start_timeout=240, exit_timeout=120)
    assert stop.returncode == 130, stop.stderr
    assert "interrupted, resume with --resume" in stop.stderr and "Traceback" not in stop.stderr
    done = json.loads(state.read_text())["epoch"]
    assert 1 <= done < 3
    r = cli(*args, "--resume", timeout=400)
    assert r.returncode == 0, r.stderr
    assert f"resuming after epoch {done}" in r.stdout
    m = json.loads((out / "metrics.json").read_text())
    assert m["epochs_run"] == 3 and m["int8_accuracy"] > 0.5

def test_cli_ctrl_c_mid_training_then_resume_on_digits(tmp_path):
    """CI's Ctrl-C: SIGINT once during the second epoch of a real `tinyconv train`, then
    --resume trains only the epochs that had not finished."""
    out = tmp_path / "run"
    args = ["train", "--model", "lenet5", "--dataset", "digits", "--resolution", "28",
            "--epochs", "4", "--limit-train", "1000", "--limit-test", "100", "--no-onnx",
            "-o", out]
    state = out / "checkpoints" / "state.json"
    stop = interrupt_when(args, state.exists)
    assert stop.returncode == 130, stop.stderr[-3000:]
    assert "Traceback" not in stop.stderr and stop.exit_seconds < 30
    assert stop.stderr.strip().splitlines()[-1] == (
        f"tinyconv: interrupted, resume with --resume (checkpoints kept in {out})")
    saved = json.loads(state.read_text())
    done = saved["epoch"]
    assert 1 <= done < 4 and (out / "checkpoints" / saved["checkpoint"]).is_dir()
    assert not (out / "metrics.json").exists() and not list(out.rglob(".tmp-*"))
    r = run_cli(*args, "--resume")
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"resuming after epoch {done}" in r.stdout
    assert all(f"epoch {k}/4" not in r.stdout for k in range(1, done + 1))
    assert "epoch 4/4" in r.stdout
    # Redirected output: one line per epoch (no per-step bars), then the summary, which
    # compares float and int8 on the same images.
    epochs = [line for line in r.stdout.splitlines() if line.strip().startswith("epoch ")]
    assert len(epochs) == 4 - done and len(r.stdout.splitlines()) < 12, r.stdout
    assert "\r" not in r.stdout and "\x08" not in r.stdout
    assert "both on the same 100 test images" in r.stdout
    m = json.loads((out / "metrics.json").read_text())
    assert m["epochs_run"] == 4 and m["dataset_sizes"] == {"train": 900, "val": 100, "test": 100}
    # The console's memory line is metrics.json's: the layer-wise plan, and the smallest
    # (streamed) one where it is smaller.
    streamed = m["smallest_planned_peak_sram_bytes"] < m["planned_peak_sram_bytes"]
    assert (f"  on qemu-m7: planned SRAM {m['planned_peak_sram_bytes']:,} B (arena {m['arena_bytes']:,})"
            + (f"; {m['smallest_planned_peak_sram_bytes']:,} B streamed (export --memory min)" if streamed else "")
            + f", flash weights {m['flash_weights_bytes']:,} B") in r.stdout.splitlines()
    # The recipe is recorded (the defaults here: Adam at its default peak LR, no extras).
    assert m["recipe"]["optimizer"] == "adam" and m["recipe"]["learning_rate"] == 2e-3
    assert m["recipe"]["ema_decay"] == 0 and m["recipe"]["teacher"] is None
    history = json.loads((out / "history.json").read_text())["history"]
    for key in ("loss", "val_accuracy"):
        assert history[key][:done] == saved["history"][key]
    # 4 epochs of 900 8x8 digits upscaled to 28 px: far above chance (10 %).
    assert m["int8_accuracy"] > 0.5


def test_qat_run_keeps_the_int8_model_that_scores_higher_on_validation(tmp_path):
    """`train --qat` quantizes the QAT model and the float model post-training and keeps the
    one more accurate on the validation split: model_int8.tflite, metrics and summary agree."""
    from tinyconv import zoo
    from tinyconv.train import TrainConfig, export_int8, int8_accuracy, train
    from tinyconv.train.config import accuracy_summary
    from tinyconv.train.data import load
    from tinyconv.train.quantize import choose_int8

    config = TrainConfig(model="lenet5", dataset="digits", resolution=28, epochs=2, qat=True,
                         qat_epochs=1, limit_train=600, limit_test=100, calibration_samples=50,
                         onnx=False, seed=0)
    result = train(config, tmp_path / "run", progress=False)
    m = result.metrics
    choice = m["int8_choice"]
    assert choice["validation_images"] == m["dataset_sizes"]["val"] == 60
    assert m["int8_kept"] == choice["kept"] == ("ptq" if choice["ptq"] > choice["qat"] else "qat")
    assert m["qat"] is True and m["qat_int8_accuracy"] is not None and m["ptq_int8_accuracy"] is not None
    kept_test = m["ptq_int8_accuracy"] if m["int8_kept"] == "ptq" else m["qat_int8_accuracy"]
    data = load("digits", resolution=28, validation_fraction=config.validation_fraction, seed=0,
                limit_train=600, limit_test=100)
    blob = (tmp_path / "run" / "model_int8.tflite").read_bytes()
    assert int8_accuracy(blob, data.x_test, data.y_test) == pytest.approx(kept_test, abs=5e-5)
    assert m["int8_accuracy"] == kept_test and m["tflite_bytes"] == len(blob)
    assert int8_accuracy(blob, data.x_val, data.y_val) == pytest.approx(choice[m["int8_kept"]], abs=5e-5)
    summary = accuracy_summary(m)
    assert ("kept over QAT's" in summary) == (m["int8_kept"] == "ptq"), summary
    # The choice itself, between a trained and an untrained network's int8 models, either way round.
    untrained = export_int8(zoo.build("lenet5", (28, 28, 1), 10), data, samples=50)
    assert choose_int8(blob, untrained, data)["kept"] == "qat"
    assert choose_int8(untrained, blob, data)["kept"] == "ptq"


def test_accuracy_summary_of_a_qat_run_that_kept_post_training_quantization():
    from tinyconv.train.config import accuracy_summary

    m = {"float_accuracy": 0.8552, "qat": True, "int8_kept": "ptq", "int8_accuracy": 0.8548,
         "qat_int8_accuracy": 0.8497, "int8_choice": {"validation_images": 4500, "qat": 0.851, "ptq": 0.856,
                                                       "kept": "ptq"}, "accuracy_images": 10000}
    assert accuracy_summary(m) == ("float 0.8552, int8 0.8548 (post-training quantization, kept over "
                                   "QAT's 0.8497: 0.8560 vs 0.8510 on validation); all on the same "
                                   "10,000 test images")
