"""Seeded byte-level mutants of real .tflite models, for the importer's fuzz tests.

Each mutant is one of: random byte flips, a run of equal or random bytes, a truncation, or
int32 fields overwritten with boundary values (0, 1, -1, INT32_MAX, INT32_MIN, sizes near
the file's own length...). Offsets of the int32 overwrites are 4-aligned, where flatbuffer
offsets, vector lengths, scalars and tensor indices live, so the mutants reach past the
parser into shapes, indices and options. A (model, seed, index) triple reproduces a mutant.

`FUZZ_MODELS` are the three real int8 models the repository ships.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
FUZZ_MODELS = {
    "lenet5": REPO / "models/fashion_mnist_lenet5/model_int8.tflite",
    "resnet8": REPO / "models/cifar10_resnet8/model_int8.tflite",
    "fashion_cnn": REPO / "models/fashion_mnist_cnn/model.tflite",
}
BOUNDARY_INT32 = [0, 1, 2, 3, 4, 7, 8, 15, 16, 127, 128, 255, 256, 65535, 65536, -1, -2,
                  -128, -129, 2**31 - 1, -(2**31), 2**30, 2**16 + 1]
KINDS = ("flip", "run", "truncate", "int32")


def data_spans(data: bytes) -> list[tuple[int, int]]:
    """[start, end) byte ranges of the constant buffers' data in a valid model.

    Most of a model's bytes are weights; mutants aimed at the rest (tables, vectors of
    indices and shapes, options, quantization) test the importer's checks far better."""
    from tinyconv.ir.schema.tflite import bindings

    model = bindings().Model.GetRootAs(bytearray(data), 0)
    spans = []
    for i in range(model.BuffersLength()):
        table = model.Buffers(i)._tab
        field = table.Offset(4)  # Buffer.data
        if field:
            start = table.Vector(field)
            spans.append((start, start + table.VectorLen(field)))
    return sorted(spans)


def _structure_offset(rng: np.random.Generator, n: int, spans: list[tuple[int, int]]) -> int:
    """A random offset outside the weights (when `spans` leaves any), else anywhere."""
    for _ in range(32):
        offset = int(rng.integers(0, n))
        if not any(a <= offset < b for a, b in spans):
            return offset
    return int(rng.integers(0, n))


def mutate(data: bytes, rng: np.random.Generator, kind: str | None = None,
           spans: list[tuple[int, int]] | None = None) -> tuple[str, bytes]:
    """One mutant of `data` and a short description of what was changed. With the
    weights' `spans`, three mutants in four change bytes outside them."""
    kind = kind or KINDS[int(rng.integers(len(KINDS)))]
    buf = bytearray(data)
    n = len(buf)
    avoid = spans if spans and rng.random() < 0.75 else []

    def offset(align: int = 1, room: int = 1) -> int:
        return min(_structure_offset(rng, n, avoid), n - room) // align * align

    if kind == "flip":
        count = int(rng.integers(1, 9))
        where = [offset() for _ in range(count)]
        for i in where:
            buf[int(i)] = int(rng.integers(256))
        return f"flip {count} bytes at {sorted(int(i) for i in where)[:4]}...", bytes(buf)
    if kind == "run":
        length = int(rng.integers(2, 65))
        start = offset()
        if rng.random() < 0.5:
            fill = bytes([int(rng.integers(256))]) * length
        else:
            fill = rng.integers(0, 256, length, dtype=np.uint8).tobytes()
        buf[start:start + length] = fill[:max(0, min(length, n - start))]
        return f"run of {length} bytes at {start}", bytes(buf)
    if kind == "truncate":
        cut = int(rng.integers(0, n))
        return f"truncate to {cut} bytes", bytes(buf[:cut])
    count = int(rng.integers(1, 4))
    values = BOUNDARY_INT32 + [n, n - 4, n + 4, n // 2]
    changes = []
    for _ in range(count):
        at = offset(4, 4)
        value = int(values[int(rng.integers(len(values)))])
        if rng.random() < 0.3:  # small perturbations of what is there: off-by-one indices
            old = int.from_bytes(buf[at:at + 4], "little", signed=True)
            value = old + int(rng.choice([-2, -1, 1, 2]))
        value = (value + 2**31) % 2**32 - 2**31
        buf[at:at + 4] = value.to_bytes(4, "little", signed=True)
        changes.append(f"{at}={value}")
    return "int32 " + ", ".join(changes), bytes(buf)


def mutants(models: dict[str, bytes], count: int, seed: int):
    """`count` mutants spread evenly over `models`: yields (label, bytes)."""
    names = sorted(models)
    spans = {name: data_spans(models[name]) for name in names}
    rng = np.random.default_rng(seed)
    for i in range(count):
        name = names[i % len(names)]
        what, blob = mutate(models[name], rng, spans=spans[name])
        yield f"{name} #{i} seed {seed}: {what}", blob
