"""Seeded fuzzing of the importer: mutated real int8 models raise TinyconvError or deploy.

Whatever the bytes, `import_tflite` followed by `deploy.prepare` (plan the arena, lower
every op, generate the C) must either succeed or raise TinyconvError: never an IndexError,
KeyError, ZeroDivisionError... from deep inside. The mutants (support/mutants.py) are
byte flips, byte runs, truncations and int32 fields overwritten with boundary values, three
in four aimed at the bytes outside the weights. A fixed seed keeps CI reproducible; the
slow sanitizer test (tests/kernels/test_fuzz_asan.py) builds and runs what is accepted.
"""

from __future__ import annotations

import collections
import traceback

import numpy as np
import pytest

from mutants import FUZZ_MODELS, KINDS, mutants, mutate
from tinyconv import deploy, targets
from tinyconv.errors import TinyconvError
from tinyconv.ir.tflite_import import import_tflite

SEED = 20261201
COUNT = 600
# Boards of each kernel family, so the DSP and MVE scratch rules are planned too.
BOARDS = ("qemu-m4", "qemu-m55", "qemu-m7")


@pytest.fixture(scope="module")
def models() -> dict[str, bytes]:
    return {name: path.read_bytes() for name, path in FUZZ_MODELS.items()}


def test_the_fuzzed_models_are_real_int8_models(models):
    assert len(models) >= 3
    for name, blob in models.items():
        graph = import_tflite(blob, name)
        assert graph.inputs[0].dtype.name == "INT8" and len(graph.ops) >= 5


def test_mutants_raise_nothing_but_tinyconv_error(models):
    boards = [targets.get_board(name) for name in BOARDS]
    outcome: collections.Counter[str] = collections.Counter()
    others: list[str] = []
    for k, (label, blob) in enumerate(mutants(models, COUNT, SEED)):
        try:
            graph = import_tflite(blob, "mutant.tflite")
        except TinyconvError as e:
            assert "\n" not in str(e), f"{label}: a multi-line error: {e!r}"
            outcome["rejected by the importer"] += 1
            continue
        except Exception as e:  # noqa: BLE001 - the point of the test
            others.append(f"{label}: import: {type(e).__name__}: {e}\n"
                          + "".join(traceback.format_tb(e.__traceback__)[-3:]))
            continue
        try:
            deploy.prepare(graph, boards[k % len(boards)])
            outcome["accepted"] += 1
        except TinyconvError:
            outcome["rejected by prepare"] += 1
        except Exception as e:  # noqa: BLE001
            others.append(f"{label}: prepare: {type(e).__name__}: {e}\n"
                          + "".join(traceback.format_tb(e.__traceback__)[-3:]))
    assert not others, f"{len(others)} mutants raised other exceptions:\n" + "\n".join(
        others[:5])
    # Both outcomes occur: the mutants reach past the parser, and not everything is refused.
    assert outcome["accepted"] >= COUNT // 20, outcome
    assert outcome["rejected by the importer"] >= COUNT // 5, outcome


def test_mutations_are_reproducible_and_of_every_kind(models):
    blob = models["lenet5"]
    first = [m for _, m in mutants({"lenet5": blob}, 20, SEED)]
    assert first == [m for _, m in mutants({"lenet5": blob}, 20, SEED)]
    rng = np.random.default_rng(0)
    for kind in KINDS:
        what, mutant = mutate(blob, rng, kind)
        assert mutant != blob and what
    assert len(mutate(blob, np.random.default_rng(1), "truncate")[1]) < len(blob)
