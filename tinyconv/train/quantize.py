"""QAT fine-tuning (tfmot on legacy Keras), full-int8 export and int8 accuracy with LiteRT.

QAT annotates every layer with tfmot's default 8-bit scheme. The zoo's flatten and
channel-shuffle are TF ops (`tf.reshape`, `tf.transpose`) that tfmot refuses; they only
move values, so they get a no-op config and keep their input's quantization, as the int8
kernels do. A model tfmot still cannot quantize (e.g. hard-swish written as TF ops) raises
`QatUnsupported`, and `train` falls back to post-training quantization and says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import TinyconvError


class QatUnsupported(TinyconvError):
    """tfmot cannot make this model quantization-aware (the message says which layer)."""


_VALUE_MOVING_OPS = ("reshape", "transpose")


def quantize_aware(model):
    """The QAT version of `model` (same weights, fake-quant nodes), not yet compiled."""
    import tensorflow_model_optimization as tfmot
    from tf_keras.src.layers.core.tf_op_layer import TFOpLambda

    from ..keras_compat import keras

    qk = tfmot.quantization.keras

    class NoOpQuantizeConfig(qk.QuantizeConfig):
        """Quantize nothing: the layer only moves values, its output keeps the input's scale."""

        def get_weights_and_quantizers(self, layer):
            return []

        def get_activations_and_quantizers(self, layer):
            return []

        def set_quantize_weights(self, layer, quantize_weights):
            pass

        def set_quantize_activations(self, layer, quantize_activations):
            pass

        def get_output_quantizers(self, layer):
            return []

        def get_config(self):
            return {}

    def annotate(layer):
        if isinstance(layer, TFOpLambda) and any(op in layer.name for op in _VALUE_MOVING_OPS):
            return qk.quantize_annotate_layer(layer, quantize_config=NoOpQuantizeConfig())
        return qk.quantize_annotate_layer(layer)

    try:
        annotated = keras.models.clone_model(model, clone_function=annotate)
        with qk.quantize_scope({"NoOpQuantizeConfig": NoOpQuantizeConfig}):
            return qk.quantize_apply(annotated)
    except (RuntimeError, ValueError, AttributeError, TypeError, KeyError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise QatUnsupported(f"tfmot cannot quantize {model.name}: {first[:200]}") from None


def qat_finetune(model, dataset, epochs: int, *, batch_size: int = 64, learning_rate: float = 1e-4,
                 seed: int = 0, progress: bool = True, augment: bool = False, recipe=None,
                 checkpoint_dir: Path | None = None, resume: bool = False):
    """Quantization-aware fine-tuning of a trained `model`; returns the QAT keras.Model and
    its History.

    Starts from the weights `model` holds (after `fit`: the best epoch's, the EMA's with
    EMA, BN re-estimated if asked). A flat, small learning rate with plain Adam (no warmup,
    no weight decay, no EMA): the float weights are already trained, QAT only adapts them
    to the int8 grid. The batches and loss are the recipe's (augmentation, cutout, mixup,
    label smoothing, distillation). With `checkpoint_dir`, every finished epoch is saved
    there as `fit` saves its own (weights with their fake-quant ranges, optimizer), and
    `resume=True` continues after the last one, on the batches an uninterrupted run would
    see. Raises `QatUnsupported` when tfmot cannot do it.
    """
    import time
    from dataclasses import replace

    from ..data.augment import EVAL_BATCH_SIZE, eval_batches
    from ..keras_compat import tf
    from .config import Recipe
    from .loop import (Batches, History, _restore, _save_epoch, compile_model, open_checkpoints,
                       run_epoch)
    from .recipe import dataset_teacher

    recipe = replace(recipe or Recipe(), augment=augment if recipe is None else recipe.augment)
    q = quantize_aware(model)
    compile_model(q, learning_rate, recipe, use_recipe=False)
    batches = Batches(dataset, batch_size, recipe, dataset_teacher(recipe, dataset))
    val = eval_batches(dataset.x_val, dataset.y_val, max(batch_size, EVAL_BATCH_SIZE))
    checkpoint_dir = None if checkpoint_dir is None else Path(checkpoint_dir)
    state = open_checkpoints(checkpoint_dir, resume)
    hist = History()
    if state is not None:
        assert checkpoint_dir is not None
        hist = _restore(checkpoint_dir, q, state, hist.precision)
        if progress:
            print(f"resuming QAT after epoch {hist.epochs_run}", flush=True)
    for epoch in range(hist.epochs_run, epochs):
        tf.random.set_seed(seed + 1000 + epoch)
        started = time.perf_counter()
        logs = run_epoch(q, batches.epoch(seed + 1000, epoch), val, epoch=epoch, epochs=epochs,
                         steps=batches.steps, progress=progress, label="qat epoch")
        hist.epoch_seconds.append(round(time.perf_counter() - started, 3))
        for key, value in logs.items():
            hist.history.setdefault(key, []).append(value)
        hist.epochs_run = epoch + 1
        if checkpoint_dir is not None:
            _save_epoch(checkpoint_dir, q, epoch + 1, hist, is_best=False)
    return q, hist


def representative(dataset, samples: int = 200, seed: int = 0) -> np.ndarray:
    """A fixed random subset of the training images for int8 calibration."""
    x = dataset.x_train
    idx = np.random.default_rng(seed).permutation(len(x))[:samples]
    return np.asarray(x[np.sort(idx)], dtype=np.float32)


def export_int8(model, dataset, *, samples: int = 200, seed: int = 0) -> bytes:
    """Full-int8 .tflite (int8 input and output) of a float or QAT model.

    The representative set calibrates a float model's activations; a QAT model's ranges
    come from its fake-quant nodes and the converter only uses the data where it has none.
    """
    from ..convert import to_int8_tflite

    try:
        return to_int8_tflite(model, representative(dataset, samples, seed), int8_io=True)
    except ValueError as e:
        raise TinyconvError(f"int8 conversion of {model.name} failed: {str(e).splitlines()[0]}") from None


def quantize_input(tflite_bytes: bytes, x: np.ndarray) -> np.ndarray:
    """Float images -> the model's int8 input codes (its input scale and zero point)."""
    from ..reference import model_io

    (inp,), _ = model_io(tflite_bytes)
    if inp.dtype != np.int8 or inp.quant is None:
        raise TinyconvError("the model's input is not int8 (export with int8 I/O)")
    q = np.round(np.asarray(x, np.float32) / np.float32(inp.quant.s)) + inp.quant.zp
    return np.clip(q, -128, 127).astype(np.int8)


def int8_outputs(tflite_bytes: bytes, x: np.ndarray, *, batch: int = 128) -> np.ndarray:
    """Raw int8 outputs [N, classes] of LiteRT BUILTIN_REF on float images `x`.

    Runs `batch` images per invoke (the input resized to [batch, H, W, C]): the reference
    kernels loop over the batch exactly as over single images, and one invoke per batch
    saves the per-call overhead. Models whose batch cannot be resized run one by one.
    """
    from ..reference import litert_interpreter, model_io

    q = quantize_input(tflite_bytes, x)
    (inp,), (out,) = model_io(tflite_bytes)
    interp = litert_interpreter(tflite_bytes)
    results = []
    try:
        for start in range(0, len(q), batch):
            chunk = q[start:start + batch]
            if interp.get_input_details()[0]["shape"][0] != len(chunk):
                interp.resize_tensor_input(inp.index, [len(chunk), *inp.shape[1:]])
                interp.allocate_tensors()
            interp.set_tensor(inp.index, chunk)
            interp.invoke()
            results.append(interp.get_tensor(out.index).reshape(len(chunk), -1).copy())
        return np.concatenate(results)
    except (RuntimeError, ValueError):
        interp = litert_interpreter(tflite_bytes)
        single = []
        for sample in q:
            interp.set_tensor(inp.index, sample.reshape(inp.shape))
            interp.invoke()
            single.append(interp.get_tensor(out.index).reshape(-1).copy())
        return np.stack(single)


def int8_accuracy(tflite_bytes: bytes, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy of the int8 model on (x, y) with LiteRT's reference kernels."""
    if len(x) == 0:
        raise TinyconvError("no test images to measure int8 accuracy on")
    pred = np.argmax(int8_outputs(tflite_bytes, x), axis=1)
    return float(np.mean(pred == np.asarray(y).reshape(-1)))


def choose_int8(qat_tflite: bytes, ptq_tflite: bytes, dataset) -> dict:
    """Which int8 model to keep: QAT's or the float model's post-training quantization,
    whichever is more accurate on the validation split (the test split stays unseen; a
    tie keeps QAT's, the one asked for). Without validation images QAT's is kept."""
    n = len(dataset.x_val)
    if n == 0:
        return {"validation_images": 0, "qat": None, "ptq": None, "kept": "qat"}
    qat = int8_accuracy(qat_tflite, dataset.x_val, dataset.y_val)
    ptq = int8_accuracy(ptq_tflite, dataset.x_val, dataset.y_val)
    return {"validation_images": n, "qat": round(qat, 4), "ptq": round(ptq, 4),
            "kept": "ptq" if ptq > qat else "qat"}
