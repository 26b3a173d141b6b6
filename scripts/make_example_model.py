"""Train the bundled example model (models/fashion_mnist_cnn): a small depthwise-separable
CNN on the real Fashion-MNIST, converted to full int8 and evaluated with LiteRT's
reference kernels. `tinyconv train` supersedes this once training lands; the README's
main command deploys its output.

    python scripts/make_example_model.py [--epochs 3] [-o models/fashion_mnist_cnn]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from tinyconv.convert import to_int8_tflite
from tinyconv.data.idx import load_idx_dataset
from tinyconv.keras_compat import keras, tf
from tinyconv.reference import litert_outputs


def build() -> "keras.Model":
    L = keras.layers
    x = inputs = L.Input((28, 28, 1))
    x = L.Conv2D(16, 3, strides=2, padding="same", use_bias=False)(x)
    x = L.ReLU(6.0)(L.BatchNormalization()(x))
    for filters, stride in ((32, 1), (64, 2), (64, 1)):
        x = L.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(x)
        x = L.ReLU(6.0)(L.BatchNormalization()(x))
        x = L.Conv2D(filters, 1, use_bias=False)(x)
        x = L.ReLU(6.0)(L.BatchNormalization()(x))
    x = L.GlobalAveragePooling2D()(x)
    outputs = L.Dense(10)(x)
    return keras.Model(inputs, outputs, name="fashion_mnist_cnn")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("-o", "--out", type=Path, default=Path("models/fashion_mnist_cnn"))
    args = parser.parse_args()
    tf.random.set_seed(0)
    (x_train, y_train), (x_test, y_test) = load_idx_dataset("fashion-mnist")
    x_train = (x_train[..., None] / 255.0).astype(np.float32)
    x_test = (x_test[..., None] / 255.0).astype(np.float32)

    model = build()
    model.compile(optimizer=keras.optimizers.Adam(2e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    start = time.time()
    model.fit(x_train, y_train, batch_size=128, epochs=args.epochs, validation_split=0.1,
              verbose=2)
    seconds_per_epoch = (time.time() - start) / args.epochs
    float_acc = float(model.evaluate(x_test, y_test, verbose=0)[1])

    blob = to_int8_tflite(model, x_train[:500])
    scale, zero_point = _input_quant(blob)
    q = np.clip(np.round(x_test / scale) + zero_point, -128, 127).astype(np.int8)
    logits = litert_outputs(blob, [[sample] for sample in q[:, None]])
    int8_acc = float(np.mean([np.argmax(o[0]) == y for o, y in zip(logits, y_test)]))

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "model.tflite").write_bytes(blob)
    (args.out / "metrics.json").write_text(json.dumps({
        "dataset": "fashion-mnist (60k train, 10k test)", "epochs": args.epochs,
        "float_accuracy": round(float_acc, 4), "int8_accuracy": round(int8_acc, 4),
        "int8_evaluated_with": "LiteRT BUILTIN_REF on the 10k test images",
        "parameters": int(model.count_params()), "seconds_per_epoch": round(seconds_per_epoch, 1),
        "tflite_bytes": len(blob)}, indent=2) + "\n")
    print(f"float {float_acc:.4f}  int8 {int8_acc:.4f}  -> {args.out}")


def _input_quant(blob: bytes) -> tuple[float, int]:
    from tinyconv.reference import model_io
    inputs, _ = model_io(blob)
    return inputs[0].quant.scale[0], inputs[0].quant.zero_point[0]


if __name__ == "__main__":
    main()
