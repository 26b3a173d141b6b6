"""The training recipe, part by part: each option changes something observable.

All on scikit-learn's digits at their native 8x8 with a tiny ResNet-8 (filters 4, 8, 8: it
has batch norm, no dropout), so the whole file runs in well under a minute on 2 cores."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from cli_process import run_cli
from tinyconv.train.config import Recipe, TrainConfig

TINY = dict(filters=(4, 8, 8))
FULL = Recipe(optimizer="sgd", learning_rate=0.05, weight_decay=5e-3, ema_decay=0.9, label_smoothing=0.1,
              augment=True, cutout=0.25, mixup=0.2, bn_reestimate=2)


@pytest.fixture(scope="module")
def digits():
    from tinyconv.data import load_dataset

    return load_dataset("digits", seed=0, limit_train=300, limit_test=60)


def tiny_model(shape=(8, 8, 1), classes=10):
    from tinyconv import zoo
    from tinyconv.keras_compat import keras

    keras.utils.set_random_seed(0)
    return zoo.build("resnet8", shape, classes, **TINY)


# ---- loss ----------------------------------------------------------------------------------

def test_label_smoothing_changes_the_loss_as_keras_defines_it():
    from tinyconv.keras_compat import keras, tf
    from tinyconv.train.recipe import make_loss

    rng = np.random.default_rng(0)
    probs = tf.nn.softmax(rng.normal(size=(16, 10)).astype(np.float32))
    y = rng.integers(0, 10, 16)
    onehot = tf.one_hot(y, 10)
    plain = float(tf.reduce_mean(make_loss(10, False)(tf.constant(y), probs)))
    smooth = float(tf.reduce_mean(make_loss(10, False, label_smoothing=0.1)(onehot, probs)))
    assert plain == pytest.approx(float(keras.losses.SparseCategoricalCrossentropy()(y, probs)), rel=1e-5)
    expected = float(keras.losses.CategoricalCrossentropy(label_smoothing=0.1)(onehot, probs))
    assert smooth == pytest.approx(expected, rel=1e-5) and abs(smooth - plain) > 1e-3


def test_distillation_loss_mixes_ce_and_the_teachers_kl():
    from tinyconv.keras_compat import tf
    from tinyconv.train.recipe import make_loss

    rng = np.random.default_rng(1)
    logits = tf.constant(rng.normal(size=(8, 5)).astype(np.float32))
    y = tf.one_hot(rng.integers(0, 5, 8), 5)
    t, a = 3.0, 0.7
    soft = tf.nn.softmax(rng.normal(size=(8, 5)).astype(np.float32) / t)
    got = make_loss(5, True, distill_alpha=a, temperature=t)(tf.concat([y, soft], 1), logits).numpy()
    ce = -np.sum(y.numpy() * tf.nn.log_softmax(logits).numpy(), 1)
    student = tf.nn.log_softmax(logits / t).numpy()
    kl = np.sum(soft.numpy() * (np.log(soft.numpy()) - student), 1)
    np.testing.assert_allclose(got, (1 - a) * ce + a * t * t * kl, rtol=1e-5)
    # The same teacher as the student: only the CE part is left.
    same = make_loss(5, True, distill_alpha=a, temperature=t)(tf.concat([y, tf.nn.softmax(logits / t)], 1), logits)
    np.testing.assert_allclose(same.numpy(), (1 - a) * ce, rtol=1e-4, atol=1e-6)


# ---- optimizer -------------------------------------------------------------------------------

@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_weight_decay_shrinks_kernels_and_leaves_bn_and_biases_alone(optimizer):
    from tinyconv.keras_compat import keras, layers, tf
    from tinyconv.train.recipe import make_optimizer

    keras.utils.set_random_seed(0)
    inputs = layers.Input((6, 6, 1))
    x = layers.Conv2D(3, 3, use_bias=True)(inputs)
    x = layers.BatchNormalization()(x)
    model = keras.Model(inputs, layers.Dense(4)(layers.Flatten()(x)))
    for v in model.trainable_variables:  # nonzero everywhere, so a decay would show
        v.assign(tf.fill(v.shape, 0.5))
    lr, wd = 0.1, 0.2
    opt = make_optimizer(Recipe(optimizer=optimizer, weight_decay=wd), lr, model.trainable_variables)
    # Zero gradients: every change is the decay's (Adam's and momentum's steps are 0).
    opt.apply_gradients([(tf.zeros_like(v), v) for v in model.trainable_variables])
    for v in model.trainable_variables:
        expected = 0.5 * (1 - lr * wd) if len(v.shape) > 1 else 0.5
        np.testing.assert_allclose(v.numpy(), expected, rtol=1e-6, err_msg=v.name)
    names = sorted(v.name.split("/")[-1].split(":")[0] for v in model.trainable_variables if len(v.shape) <= 1)
    assert names == ["beta", "bias", "bias", "gamma"]


def test_onecycle_and_cosine_schedules():
    from tinyconv.train.recipe import lr_schedule

    cos = lr_schedule(Recipe(learning_rate=1.0, warmup_epochs=1), 100, 10)
    one = lr_schedule(Recipe(learning_rate=1.0, schedule="onecycle"), 100, 10)
    assert float(cos(0)) == pytest.approx(0.1) and float(cos(10)) == pytest.approx(1.0)
    assert float(cos(100)) == pytest.approx(0.0, abs=1e-6)
    assert float(one(0)) == pytest.approx(1 / 25) and float(one(30)) == pytest.approx(1.0)
    assert float(one(100)) == pytest.approx(1 / 25e4, rel=1e-3)


# ---- data ------------------------------------------------------------------------------------

def test_mixup_and_cutout_batches_are_deterministic_per_seed_and_epoch(digits):
    from tinyconv.data.augment import graph_batches

    def epoch(e, **kw):
        return [(x.numpy(), y.numpy()) for x, y in graph_batches(
            digits.x_train, digits.y_train, 64, num_classes=10, seed=3, epoch=e, **kw)]

    plain = epoch(1)
    recipe = dict(augment=digits.augmentation, cutout=0.5, mixup=0.4)
    a, b, other = epoch(1, **recipe), epoch(1, **recipe), epoch(2, **recipe)
    assert len(a) == 5 and a[-1][0].shape[0] == len(digits.x_train) - 4 * 64
    odd = [x.shape[0] for x, _ in graph_batches(digits.x_train[:101], digits.y_train[:101], 33,
                                                num_classes=10, seed=3, epoch=0)]
    assert odd == [32, 32, 32, 4]  # even batches, as epoch_batches cuts them (even_batching)
    for (xa, ya), (xb, yb) in zip(a, b):
        assert np.array_equal(xa, xb) and np.array_equal(ya, yb)
    assert not np.array_equal(a[0][0], plain[0][0]) and not np.array_equal(a[0][0], other[0][0])
    # Mixed labels are convex combinations of two one-hot ones; plain ones are one-hot.
    np.testing.assert_allclose(a[0][1].sum(1), 1.0, rtol=1e-6)
    assert np.all(plain[0][1].max(1) == 1.0) and np.any(a[0][1].max(1) < 1.0)
    # Same order in both: without mixup the labels of the augmented epoch are the plain ones.
    crop = epoch(1, augment=digits.augmentation)
    assert all(np.array_equal(p[1], c[1]) for p, c in zip(plain, crop))
    cut = epoch(1, cutout=0.5)  # cutout alone: plain pixels, or zeros in a square
    for (xp, _), (xc, _) in zip(plain, cut):
        changed = xc != xp
        assert changed.any() and np.all(xc[changed] == 0)


# ---- EMA, BN re-estimation, resume -----------------------------------------------------------

def test_ema_weights_are_evaluated_and_saved_not_the_raw_ones(tmp_path, digits):
    from tinyconv.keras_compat import tf
    from tinyconv.train import fit
    from tinyconv.train.loop import BEST_WEIGHTS

    model = tiny_model()
    recipe = Recipe(learning_rate=5e-3, ema_decay=0.9, bn_reestimate=3)
    hist = fit(model, digits, epochs=2, batch_size=32, seed=0, recipe=recipe,
               checkpoint_dir=tmp_path, progress=False)
    raw = tiny_model()
    tf.train.Checkpoint(model=raw).read(str(tmp_path / "epoch-0002" / "ckpt")).expect_partial()
    best = tiny_model()
    best.load_weights(str(tmp_path / BEST_WEIGHTS))
    trained = [v.numpy() for v in model.trainable_variables]
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(trained, best.trainable_variables))
    assert max(np.abs(a - b.numpy()).max() for a, b in zip(trained, raw.trainable_variables)) > 1e-4
    # BN statistics re-estimated after the EMA weights went in: the moving stats changed,
    # unless that lowered val accuracy (then the saved ones are kept, exactly).
    bn = [v for v in model.non_trainable_variables if "moving_mean" in v.name]
    changed = any(not np.allclose(a.numpy(), b.numpy()) for a, b in
                  zip(bn, [v for v in best.non_trainable_variables if "moving_mean" in v.name]))
    r = hist.bn_reestimate
    assert bn and r["batches"] == 3 and changed == r["kept"] == (r["val_accuracy_after"] >= r["val_accuracy_before"])
    assert hist.best_val_accuracy == max(hist.history["val_accuracy"])


def test_bn_reestimation_that_lowers_val_accuracy_is_undone(digits):
    """Statistics of blank images ruin the model: the drop is measured and the statistics
    training left are put back exactly; statistics of its own data are kept."""
    from tinyconv.keras_compat import tf
    from tinyconv.train import fit
    from tinyconv.train.recipe import reestimate_bn_checked

    model = tiny_model()
    fit(model, digits, epochs=2, batch_size=32, seed=0, recipe=Recipe(learning_rate=5e-3), progress=False)
    saved = [v.numpy() for v in model.non_trainable_variables]

    def score():
        return float(model.evaluate(digits.x_val, digits.y_val, verbose=0)[1])
    blank = tf.data.Dataset.from_tensors(tf.zeros((32, 8, 8, 1))).repeat(2)
    r = reestimate_bn_checked(model, blank, score)
    assert r["batches"] == 2 and r["val_accuracy_after"] < r["val_accuracy_before"] and not r["kept"]
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(saved, model.non_trainable_variables))
    assert score() == r["val_accuracy_before"]
    own = tf.data.Dataset.from_tensor_slices(digits.x_train).batch(64)
    r = reestimate_bn_checked(model, own, score)
    changed = any(not np.array_equal(a, v.numpy()) for a, v in zip(saved, model.non_trainable_variables))
    assert r["kept"] == (r["val_accuracy_after"] >= r["val_accuracy_before"]) == changed


def interrupted_and_resumed(build, run_dir, data, args):
    """`fit` interrupted by a KeyboardInterrupt (as Ctrl-C raises) during the second epoch,
    then resumed from the first epoch's checkpoint into a model built with other weights."""
    from tinyconv.keras_compat import keras
    from tinyconv.train import fit

    class CtrlC(keras.callbacks.Callback):
        epochs = 0

        def on_train_begin(self, logs=None):
            CtrlC.epochs += 1  # fit runs one Keras fit per epoch

        def on_train_batch_end(self, batch, logs=None):
            if CtrlC.epochs == 2:  # within the second epoch
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(build(), data, checkpoint_dir=run_dir, callbacks=[CtrlC()], **args)
    assert json.loads((run_dir / "state.json").read_text())["epoch"] == 1
    resumed = keras.models.clone_model(build())  # other initial weights: restored from the checkpoint
    hist = fit(resumed, data, checkpoint_dir=run_dir, resume=True, **args)
    assert hist.resumed_from_epoch == 1 and hist.epochs_run == args["epochs"]
    return resumed


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_resume_with_the_full_recipe_gives_the_uninterrupted_weights(tmp_path, digits, precision):
    """Interrupted during the second epoch and resumed from the first epoch's checkpoint:
    the same weights, EMA and step as a run that never stopped (also when trained in
    bfloat16: the checkpoint holds the float32 variables)."""
    from dataclasses import replace

    from tinyconv.keras_compat import tf
    from tinyconv.train import fit

    args = dict(epochs=2, batch_size=32, seed=0, recipe=replace(FULL, precision=precision), progress=False)
    whole = tiny_model()
    fit(whole, digits, checkpoint_dir=tmp_path / "whole", **args)
    steps = int(np.ceil(len(digits.x_train) / 32))
    resumed = interrupted_and_resumed(tiny_model, tmp_path / "cut", digits, args)
    # The weights both left in the model (the best epoch's EMA, BN re-estimated) ...
    for a, b in zip(whole.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    # ... and everything the last checkpoint holds: raw weights, BN statistics, optimizer
    # moments, step counter and EMA.
    a, b = (str(tmp_path / run / "epoch-0002" / "ckpt") for run in ("whole", "cut"))
    names = [name for name, _ in tf.train.list_variables(a)]
    assert names == [name for name, _ in tf.train.list_variables(b)]
    assert sum("optimizer/_variables" in n for n in names) == 2 * len(whole.trainable_variables)  # momentum, EMA
    assert tf.train.load_variable(b, "optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE") == 2 * steps
    for name in names:
        if name != "_CHECKPOINTABLE_OBJECT_GRAPH":
            np.testing.assert_allclose(tf.train.load_variable(a, name), tf.train.load_variable(b, name),
                                       rtol=0, atol=1e-6, err_msg=name)
    shutil.rmtree(tmp_path)


def test_resume_of_a_model_with_dropout_draws_the_same_masks(tmp_path, digits):
    """Dropout's masks come from stateful random ops: the resumed run must draw, epoch for
    epoch, the masks the uninterrupted run drew, or its weights drift (by ~0.1 here)."""
    from tinyconv.keras_compat import keras
    from tinyconv.train import fit
    from tinyconv.train.loop import has_random_layers

    def build():
        keras.utils.set_random_seed(0)
        inputs = keras.Input((8, 8, 1))
        x = keras.layers.Dense(32, activation="relu")(keras.layers.Flatten()(inputs))
        x = keras.layers.Dropout(0.5)(x)
        return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))

    assert has_random_layers(build()) and not has_random_layers(tiny_model())
    args = dict(epochs=3, batch_size=32, seed=0, recipe=Recipe(optimizer="sgd"), progress=False)
    whole = build()
    fit(whole, digits, checkpoint_dir=tmp_path / "whole", **args)
    resumed = interrupted_and_resumed(build, tmp_path / "cut", digits, args)
    for a, b in zip(whole.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_bfloat16_trains_a_twin_and_leaves_a_float32_model(tmp_path, digits):
    """--precision bfloat16: the layers compute in bfloat16 up to the output end (the last
    weighted layer on, float32), the caller's model stays float32 and gets the trained
    weights; auto decides by the CPU and the model (no depthwise); a resumed auto run keeps
    the precision it started in."""
    from tinyconv import zoo
    from tinyconv.keras_compat import keras
    from tinyconv.train import fit
    from tinyconv.train.precision import cpu_computes_bf16, resolve_precision, training_twin

    model = tiny_model()
    initial = model.get_weights()
    twin = training_twin(model, "bfloat16")
    policies = [layer.dtype_policy.name for layer in twin.layers[1:]]
    assert policies[:-2] == ["mixed_bfloat16"] * (len(policies) - 2)  # all but Dense and Softmax
    assert policies[-2:] == ["float32", "float32"] and twin.output.dtype == "float32"
    x = digits.x_test[:16]
    np.testing.assert_allclose(twin.predict(x, verbose=0), model.predict(x, verbose=0), atol=0.05)
    assert training_twin(model, "float32") is model

    assert resolve_precision("auto", model) == ("bfloat16" if cpu_computes_bf16() else "float32")
    dw = zoo.build("mobilenetv2", (32, 32, 1), 10, 0.35)
    assert resolve_precision("auto", dw) == "float32" and resolve_precision("bfloat16", dw) == "bfloat16"

    hist = fit(model, digits, epochs=2, batch_size=32, seed=0, recipe=Recipe(precision="bfloat16"),
               progress=False)
    assert hist.precision == "bfloat16" and hist.to_json()["precision"] == "bfloat16"
    assert {layer.dtype_policy.name for layer in model.layers} == {"float32"}
    assert any(not np.array_equal(a, b) for a, b in zip(initial, model.get_weights()))
    # the caller's float32 model is the trained one: it classifies as well as the validation said
    assert model.evaluate(digits.x_val, digits.y_val, verbose=0)[1] >= hist.best_val_accuracy - 0.05

    run = tmp_path / "run"
    fit(tiny_model(), digits, epochs=1, batch_size=32, seed=0, recipe=Recipe(precision="float32"),
        checkpoint_dir=run, progress=False)
    resumed = fit(tiny_model(), digits, epochs=2, batch_size=32, seed=0, recipe=Recipe(precision="auto"),
                  checkpoint_dir=run, resume=True, progress=False)
    assert resumed.resumed_from_epoch == 1 and resumed.precision == "float32"
    assert json.loads((run / "state.json").read_text())["precision"] == "float32"
    keras.backend.clear_session()


# ---- config and CLI --------------------------------------------------------------------------

def test_recipe_fields_are_recorded_and_resume_checks_them(tmp_path):
    from tinyconv.errors import TinyconvError
    from tinyconv.train.run import _start_run_dir, prepare_run_dir

    config = TrainConfig(model="resnet8", dataset="digits", optimizer="sgd", ema_decay=0.99)
    assert config.learning_rate == 0.05 and config.weight_decay == 5e-4  # sgd's defaults
    _start_run_dir(config, tmp_path / "run")
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["optimizer"] == "sgd" and saved["ema_decay"] == 0.99 and saved["label_smoothing"] == 0
    for change in ({"ema_decay": 0.999}, {"label_smoothing": 0.1}, {"optimizer": "adam"},
                   {"mixup": 0.2}, {"teacher": "t.h5"}, {"precision": "bfloat16"}):
        with pytest.raises(TinyconvError, match="cannot resume.*" + next(iter(change))):
            prepare_run_dir(TrainConfig(**{**config.to_json(), **change}), tmp_path / "run", resume=True)
    with pytest.raises(TinyconvError, match="unknown optimizer 'rmsprop'; known: adam, adamw, sgd"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(TinyconvError, match="label smoothing must be in"):
        TrainConfig(label_smoothing=1.5).check()


def test_cli_teacher_with_other_classes_is_one_line(tmp_path):
    teacher = tiny_model(classes=5)
    teacher.save(str(tmp_path / "teacher.h5"), include_optimizer=False, save_format="h5")
    out = tmp_path / "run"
    r = run_cli("train", "--model", "resnet8", "--param", "filters=(4,8,8)", "--dataset", "digits",
                "--limit-train", "200", "--teacher", str(tmp_path / "teacher.h5"), "-o", str(out))
    assert r.returncode == 2, r.stderr[-2000:]
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("tinyconv: error:")]
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert re.search(r"teacher .*teacher\.h5 takes 8x8x1 inputs and has 5 classes; the student "
                     r"8x8x1 and 10", lines[0]), lines[0]
    assert not out.exists()


def test_distillation_from_a_run_directory_changes_the_training_loss(tmp_path, digits):
    from tinyconv.train import fit

    teacher = tiny_model()
    teacher.save(str(tmp_path / "model.h5"), include_optimizer=False, save_format="h5")
    args = dict(epochs=1, batch_size=64, seed=0, progress=False)
    plain = fit(tiny_model(), digits, recipe=Recipe(), **args)
    distilled = fit(tiny_model(), digits, recipe=Recipe(teacher=str(tmp_path), distill_alpha=0.9), **args)
    # Same data, init and optimizer: only the loss differs (val loss is plain CE in both).
    assert abs(distilled.history["loss"][0] - plain.history["loss"][0]) > 1e-3


def test_teacher_trained_first_then_distilled_and_reused_on_resume(tmp_path):
    """`--teacher FAMILY[:WIDTH]` trains that zoo model first (same data and recipe) into
    -o/teacher, distils from it, and a resume reuses it instead of training it again."""
    from tinyconv.train.run import train

    config = TrainConfig(model="resnet8", params={"filters": [4, 8, 8]}, dataset="digits", epochs=1,
                         teacher="resnet8:0.5", teacher_epochs=2, distill_alpha=0.9, limit_train=300,
                         limit_test=60, onnx=False)
    run = tmp_path / "run"
    result = train(config, run, progress=False)
    teacher = json.loads((run / "teacher" / "metrics.json").read_text())
    assert teacher["model"] == "resnet8" and teacher["width"] == 0.5 and teacher["epochs_run"] == 2
    assert json.loads((run / "teacher" / "config.json").read_text())["teacher"] is None
    assert result.metrics["teacher"]["float_accuracy"] == teacher["float_accuracy"]
    assert result.metrics["recipe"]["teacher"] == "resnet8:0.5"
    # The student's loss is the distillation loss: not what the same run without a teacher has.
    plain = train(TrainConfig(**{**config.to_json(), "teacher": None, "teacher_epochs": None}),
                  tmp_path / "plain", progress=False)
    assert abs(result.history["loss"][0] - plain.history["loss"][0]) > 1e-3
    # A resume finds the teacher done: its files are not written again.
    stamp = (run / "teacher" / "model.h5").stat().st_mtime_ns
    again = train(config, run, resume=True, progress=False)
    assert (run / "teacher" / "model.h5").stat().st_mtime_ns == stamp
    assert again.int8_accuracy == result.int8_accuracy


def test_teacher_family_errors_are_one_line(tmp_path):
    out = tmp_path / "run"
    for args, message in ((("--teacher", "resnet8:wide"), r"teacher resnet8:wide: the width after ':' must be a "
                                                           r"positive number \(e\.g\. resnet8:2\)"),
                          (("--teacher", "nosuch"), r"teacher nosuch: no such model .*or a zoo family"),
                          (("--teacher-epochs", "3"), r"--teacher-epochs is for a teacher trained first")):
        r = run_cli("train", "--model", "resnet8", "--dataset", "digits", "--limit-train", "100", *args,
                    "-o", str(out))
        assert r.returncode == 2, r.stderr[-2000:]
        lines = [ln for ln in r.stderr.splitlines() if ln.startswith("tinyconv: error:")]
        assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
        assert re.search(message, lines[0]), lines[0]
        assert not out.exists()


def test_odd_batches_train_a_narrow_strided_projection(tmp_path):
    """oneDNN's gradient of a 1x1 strided conv with fewer input channels than its block
    corrupts the heap on odd batches (tinyconv.data.augment.even_batching): ResNet-8 at
    width 0.5 (an 8-channel projection at 16x16) on 101 images, batches of 33, aborted the
    process ("double free or corruption") before every batch was cut to an even size."""
    r = run_cli("train", "--model", "resnet8", "--width", "0.5", "--dataset", "digits",
                "--resolution", "16", "--limit-train", "101", "--batch-size", "33",
                "--epochs", "1", "--no-qat", "--precision", "float32", "-o", tmp_path / "run")
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads((tmp_path / "run" / "history.json").read_text())["epochs_run"] == 1
