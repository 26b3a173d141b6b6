"""Exported firmware that classifies real test samples: `tinyconv export --samples N` puts
N test examples of the model's dataset into the project, and `make run` prints each
prediction beside the true label, every prediction LiteRT's reference kernels' argmax."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
LENET = REPO / "models" / "fashion_mnist_lenet5" / "model_int8.tflite"   # 28x28x1, 10 classes
RESNET = REPO / "models" / "cifar10_resnet8" / "model_int8.tflite"       # 32x32x3
LINE = re.compile(r"^sample (\d+): predicted (\d+) \((.*)\) true (\d+) \((.*)\) (ok|wrong)$")


def tinyconv(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinyconv.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=600)


def one_line_error(result: subprocess.CompletedProcess, pattern: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinyconv: error:"), result.stderr
    assert re.search(pattern, lines[0]), lines[0]


def c_array_ints(text: str, symbol: str) -> list[int]:
    """The integers of a generated const array's initializer (comments dropped)."""
    body = text.split(symbol, 1)[1].split("= {", 1)[1].split("};", 1)[0]
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    return [int(v) for v in re.findall(r"-?\d+", body)]


def c_literal_bytes(literal: str) -> bytes:
    """A C string literal as emitted (printable ASCII and 3-digit octal escapes) -> bytes."""
    assert literal[0] == literal[-1] == '"'
    out, body, i = bytearray(), literal[1:-1], 0
    while i < len(body):
        if body[i] == "\\":
            out.append(int(body[i + 1:i + 4], 8))
            i += 4
        else:
            out.append(ord(body[i]))
            i += 1
    return bytes(out)


@pytest.mark.arm
def test_exported_demo_classifies_real_samples_like_litert(tmp_path):
    from tinyconv.data import resolve
    from tinyconv.data.source import TEST
    from tinyconv.reference import litert_outputs
    from tinyconv.train.quantize import quantize_input

    out = tmp_path / "fw"
    # No --dataset: the model sits in its training run (config.json names fashion_mnist).
    result = tinyconv("export", LENET, "--target", "cortex-m4", "--samples", 8, "-o", out)
    assert result.returncode == 0, result.stderr
    assert "8 samples from fashion_mnist test split" in result.stdout
    assert "config.json" in result.stdout and "classifies the 8 samples" in result.stdout
    reported_flash = int(re.search(r"([\d,]+) B of flash beside the constants",
                                   result.stdout).group(1).replace(",", ""))

    manifest = json.loads((out / "model" / "samples.json").read_text())
    indices = np.array(manifest["indices"])
    source = resolve("fashion_mnist")
    # One per class in turn, test-split order: the first example of classes 0..7.
    assert manifest["labels"] == list(range(8))
    assert list(indices) == [int(np.flatnonzero(source.y_test == k)[0]) for k in range(8)]
    assert manifest["class_names"] == list(source.class_names)

    # The arrays in flash are the model's input codes of those test images.
    blob = LENET.read_bytes()
    q = quantize_input(blob, source.fetch(TEST, indices))
    text = (out / "model" / "samples.c").read_text()
    assert c_array_ints(text, "tc_samples_input") == q.reshape(-1).tolist()
    assert c_array_ints(text, "tc_samples_label") == list(source.y_test[indices])

    run = subprocess.run(["make", "-j2", "-C", str(out), "run"], capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    print(run.stdout[run.stdout.index("tinyconv: classifying"):])
    lines = [m for m in map(LINE.match, run.stdout.splitlines()) if m]
    assert [int(m.group(1)) for m in lines] == list(range(8))
    expected = [int(np.argmax(o[0].reshape(-1)))
                for o in litert_outputs(blob, [[s[None]] for s in q])]
    names = source.class_names
    for m, want, label in zip(lines, expected, source.y_test[indices]):
        predicted, truth = int(m.group(2)), int(m.group(4))
        assert predicted == want and m.group(3) == names[want]
        assert truth == int(label) and m.group(5) == names[truth]
        assert m.group(6) == ("ok" if predicted == truth else "wrong")
    correct = sum(p == y for p, y in zip(expected, source.y_test[indices]))
    assert f"accuracy {correct}/8" in run.stdout
    assert "invokes=8 status=0" in run.stdout

    # The flash the summary reports is what the samples' arrays take in the ELF.
    elf = out / "build" / "qemu-m4" / "tinyconv.elf"
    nm = subprocess.run(["arm-none-eabi-nm", "-S", str(elf)], capture_output=True, text=True,
                        check=True).stdout
    sizes = [int(p[1], 16) for p in (line.split() for line in nm.splitlines())
             if len(p) == 4 and p[3].startswith("tc_samples_")]
    assert len(sizes) == 4 and sum(sizes) == reported_flash == manifest["flash_bytes"]


def test_samples_that_do_not_fit_the_model_are_one_line_errors_and_write_nothing(tmp_path):
    out = tmp_path / "fw"
    cases = [
        ((RESNET, "--samples", 4, "--dataset", "fashion_mnist"),
         r"takes 3-channel images, fashion_mnist's have 1"),
        ((LENET, "--samples", 4, "--dataset", "no_such_set"), r"unknown dataset 'no_such_set'"),
        ((LENET, "--dataset", "digits"), r"give --samples N"),
        ((LENET, "--samples", 0), r"at least 1"),
        ((LENET, "--samples", 2000, "--flash", "1MB"), r"over the .* flash budget"),
    ]
    for args, pattern in cases:
        one_line_error(tinyconv("export", *args, "-o", out), pattern)
        assert not out.exists()
    assert not any(tmp_path.iterdir())  # no staging folder left either


def test_samples_dataset_comes_from_the_run_directory(tmp_path):
    """A model outside any run needs --dataset; a search's folder names its dataset in
    search.json, and search --export keeps as many samples as its flash budget leaves."""
    from tinyconv.errors import TinyconvError
    from tinyconv.ir.tflite_import import import_tflite
    from tinyconv.samples import dataset_for, for_search, load_samples, run_dataset

    model = tmp_path / "m.tflite"
    model.write_bytes(LENET.read_bytes())
    with pytest.raises(TinyconvError, match="give --dataset NAME"):
        dataset_for(model, None)
    assert dataset_for(model, "digits") == ("digits", "--dataset")
    assert run_dataset(LENET.parent) == ("fashion_mnist", str(LENET.parent / "config.json"))
    (tmp_path / "search.json").write_text(json.dumps({"options": {"dataset": "fashion_mnist"}}))
    assert dataset_for(model, None) == ("fashion_mnist", str(tmp_path / "search.json"))

    blob = LENET.read_bytes()
    graph = import_tflite(blob, source=str(model))
    full = for_search(blob, graph, tmp_path, 1 << 20)
    assert full.count == 10 and list(full.labels) == list(range(10))
    fewer = for_search(blob, graph, tmp_path, full.flash_bytes - 1)
    assert fewer.count == 9 and fewer.flash_bytes <= full.flash_bytes - 1
    assert np.array_equal(fewer.x, full.x[:9])
    assert for_search(blob, graph, tmp_path, 100) is None
    # A model trained at another square resolution gets the images resized as training
    # did (digits are 8x8); the codes are the model's input quantization of them.
    digits = load_samples(blob, graph, "digits", 3)
    assert digits.x.shape == (3, 28, 28, 1) and digits.x.dtype == np.int8
    assert len(set(digits.labels)) == 3


@pytest.mark.arm
def test_class_names_of_any_text_compile_and_read_back(tmp_path):
    """Quotes, backslashes, `?` (trigraphs under -std=c99), comment marks and UTF-8 in
    class names: the generated C compiles without a warning and holds the same bytes."""
    from tinyconv.codegen.emit import write_samples
    from tinyconv.samples import SampleSet

    names = ('say "hi"', "back\\slash", "what??)", "a*/b/*c", "café ñ", "x")
    samples = SampleSet(dataset="odd/*set*/", indices=np.arange(2), labels=np.array([2, 4]),
                        x=np.arange(-4, 4, dtype=np.int8).reshape(2, 2, 2, 1),
                        class_names=names)
    write_samples(samples, tmp_path, "a */ model")
    compile_ = subprocess.run(["arm-none-eabi-gcc", "-std=c99", "-Wall", "-Wextra", "-Werror",
                               "-mcpu=cortex-m4", "-mthumb", "-c", str(tmp_path / "samples.c"),
                               "-I", str(tmp_path), "-o", str(tmp_path / "samples.o")],
                              capture_output=True, text=True)
    assert compile_.returncode == 0, compile_.stderr
    text = (tmp_path / "samples.c").read_text()
    literals = re.findall(r'^\s+("(?:[^"\\]|\\[0-7]{3})*"),$', text, flags=re.M)
    assert [c_literal_bytes(s) for s in literals] == [n.encode() for n in names]
    assert c_array_ints(text, "tc_samples_input") == list(range(-4, 4))
    nm = subprocess.run(["arm-none-eabi-nm", "-S", str(tmp_path / "samples.o")],
                        capture_output=True, text=True, check=True).stdout
    assert sum(int(line.split()[1], 16) for line in nm.splitlines()) == samples.flash_bytes
