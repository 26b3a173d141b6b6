"""Mutated real models that the importer accepts run clean under AddressSanitizer and UBSan.

The fast fuzz test (tests/unit/test_fuzz.py) shows that import + plan + codegen raise
nothing but TinyconvError on mutated bytes. This one takes the mutants they accept, builds
their generated C for the `host` board (firmware/Makefile compiles it with
-fsanitize=address,undefined -fno-sanitize-recover=all) and runs each on random inputs:
any out-of-bounds access of a constant array, or any undefined behaviour, fails the run.

The arena is one C array, so ASan alone would only see accesses outside the whole arena.
The test therefore re-plans each mutant with every buffer apart (no sharing) and a gap
behind each, and adds a C file to the model whose constructor poisons the gaps
(ASAN_POISON_MEMORY_REGION): a kernel reading or writing past its tensor's bytes touches
a poisoned gap and fails the run, as it would for a separate allocation. Slow (a build per distinct generated model), so marked slow with a small
default count; for a long run set

    TINYCONV_FUZZ_N=10000 [TINYCONV_FUZZ_SEED=...] [TINYCONV_FUZZ_JOBS=2] \\
        python -m pytest -p no:xdist -m slow -s tests/kernels/test_fuzz_asan.py

which prints the counts (mutants, accepted, distinct generated models built and run) and
the time taken. Mutants whose generated code equals one already run are not rebuilt. The
kernel objects are compiled once per worker (one build directory, the model directory
rewritten in place), so each further build compiles only the model and the app.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from mutants import FUZZ_MODELS, mutants
from tinyconv import deploy, firmware, targets
from tinyconv.codegen.emit import generate, write_model
from tinyconv.errors import TinyconvError
from tinyconv.ir.graph import DType, Graph
from tinyconv.ir.tflite_import import import_tflite
from tinyconv.planner import Plan

COUNT = int(os.environ.get("TINYCONV_FUZZ_N", "60"))
SEED = int(os.environ.get("TINYCONV_FUZZ_SEED", "20261202"))
JOBS = int(os.environ.get("TINYCONV_FUZZ_JOBS", "1"))
SAMPLES = 2  # random inputs per built mutant
# Nominal RAM for the host build: generous for the real models, but a mutant that blows
# its activations up to gigabytes is rejected by the budget check rather than built.
HOST_RAM_BYTES = 64 << 20
GAP = 64  # poisoned bytes behind every arena buffer (ASan tracks 8-byte granules)


def _align8(n: int) -> int:
    return (n + 7) // 8 * 8


def _apart(plan: Plan) -> tuple[Plan, list[tuple[int, int]]]:
    """The plan with every buffer at its own 8-aligned offset and a gap behind it; the
    gaps as (offset, bytes) from the end of the buffer's largest tensor to the next."""
    buffers, gaps, offset = [], [(0, GAP)], GAP
    for b in plan.buffers:
        used = max([t.nbytes for t in b.tensors], default=b.size)
        buffers.append(dataclasses.replace(b, offset=offset))
        end = _align8(offset + b.size) + GAP
        gaps.append((offset + used, end - offset - used))
        offset = end
    return dataclasses.replace(
        plan, buffers=buffers, arena_bytes=offset,
        tensor_offsets={t.index: b.offset for b in buffers for t in b.tensors},
        scratch={b.scratch_of.index: (b.offset, b.size) for b in buffers if b.scratch_of}), gaps


_POISON_C = """/* Written by tests/kernels/test_fuzz_asan.py: poisons the gaps between arena buffers. */
#include <sanitizer/asan_interface.h>
#include <stdint.h>
#include "model.h"

static const unsigned long tc_gaps[][2] = {{{gaps}}};

__attribute__((constructor)) static void tc_poison_gaps(void)
{{
    uint8_t *arena = (uint8_t *)tc_model_input(0) - {input_offset}UL;
    for (unsigned i = 0; i < sizeof tc_gaps / sizeof tc_gaps[0]; i++) {{
        ASAN_POISON_MEMORY_REGION(arena + tc_gaps[i][0], tc_gaps[i][1]);
    }}
}}
"""


def write_guarded_model(deployment: deploy.Deployment, model_dir: Path) -> None:
    """The deployment's model, re-planned apart, with its gaps poisoned at start-up."""
    plan, gaps = _apart(deployment.plan)
    write_model(generate(deployment.graph, plan, deployment.match), model_dir)
    first_input = deployment.graph.inputs[0]
    (model_dir / "asan_gaps.c").write_text(_POISON_C.format(
        gaps=", ".join(f"{{{o}, {n}}}" for o, n in gaps),
        input_offset=plan.tensor_offsets[first_input.index]))


def _random_inputs(graph: Graph, rng: np.random.Generator) -> bytes:
    chunks = []
    for _ in range(SAMPLES):
        for t in graph.inputs:
            if t.dtype is DType.FLOAT32:
                chunks.append(rng.standard_normal(t.size).astype(np.float32).tobytes())
            else:
                chunks.append(rng.integers(0, 256, t.nbytes, dtype=np.uint8).tobytes())
    return b"".join(chunks)


def _prepare(blob: bytes, board: targets.Board) -> deploy.Deployment:
    return deploy.prepare(import_tflite(blob, "mutant.tflite"), board, sram=HOST_RAM_BYTES)


def _source_key(model_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(model_dir.iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@pytest.mark.slow
def test_accepted_mutants_run_clean_under_sanitizers(tmp_path):
    if shutil.which("gcc") is None or shutil.which("make") is None:
        pytest.skip("needs gcc and make for the host sanitizer build")
    board = targets.get_board("host")
    models = {name: path.read_bytes() for name, path in FUZZ_MODELS.items()}
    start = time.monotonic()

    accepted: list[tuple[str, bytes]] = []  # kept as bytes: deployments hold every array
    rejected = 0
    others: list[str] = []  # anything but TinyconvError: a bug, as in tests/unit/test_fuzz.py
    for label, blob in mutants(models, COUNT, SEED):
        try:
            _prepare(blob, board)
            accepted.append((label, blob))
        except TinyconvError:
            rejected += 1
        except Exception as e:  # noqa: BLE001 - counted and reported below
            others.append(f"{label}: {type(e).__name__}: {e}")
    screened = time.monotonic() - start
    print(f"\nscreened {COUNT} mutants in {screened:.0f} s: {len(accepted)} accepted, "
          f"{rejected} rejected, {len(others)} other exceptions", flush=True)
    assert not others, "\n".join(others[:5])

    seen: set[str] = set()
    lock = threading.Lock()
    failures: list[str] = []
    stats = {"built": 0, "duplicates": 0}

    def worker(slot: int, jobs: list[tuple[int, str, bytes]]) -> None:
        model_dir, build_dir = tmp_path / f"model{slot}", tmp_path / f"build{slot}"
        for k, label, blob in jobs:
            deployment = _prepare(blob, board)
            shutil.rmtree(model_dir, ignore_errors=True)
            write_guarded_model(deployment, model_dir)
            key = _source_key(model_dir)
            with lock:
                duplicate = key in seen
                seen.add(key)
                stats["duplicates" if duplicate else "built"] += 1
            if duplicate:
                continue
            if stats["built"] % 100 == 0:
                print(f"  {stats['built']} built, {len(failures)} failures, "
                      f"{time.monotonic() - start:.0f} s", flush=True)
            inputs = _random_inputs(deployment.graph, np.random.default_rng(k))
            try:
                built = firmware.build(model_dir, board, build_dir)
                firmware.run(built, inputs, SAMPLES, timeout=120)
            except TinyconvError as e:
                with lock:
                    failures.append(f"{label}: {e}")
                print(f"  FAILED {label}: {str(e)[:500]}", flush=True)

    numbered = [(k, label, blob) for k, (label, blob) in enumerate(accepted)]
    jobs = max(1, JOBS)
    with ThreadPoolExecutor(jobs) as pool:
        for future in [pool.submit(worker, slot, numbered[slot::jobs]) for slot in range(jobs)]:
            future.result()
    elapsed = time.monotonic() - start
    print(f"fuzz+ASan: {COUNT} mutants (seed {SEED}): {len(accepted)} accepted, {rejected} "
          f"rejected, 0 other exceptions; {stats['built']} distinct generated "
          f"models built and run under ASan/UBSan, {stats['duplicates']} duplicates; "
          f"{len(failures)} failures; {elapsed:.0f} s in all")
    assert accepted, "no mutant was accepted: the test would check nothing"
    assert not failures, "\n\n".join(failures[:5])


@pytest.mark.slow
def test_the_poisoned_gaps_catch_an_access_past_a_tensor(tmp_path, monkeypatch):
    """The guard works: with the last byte of the first op's output poisoned as well, the
    unchanged model's run fails with ASan's use-after-poison."""
    if shutil.which("gcc") is None or shutil.which("make") is None:
        pytest.skip("needs gcc and make for the host sanitizer build")
    board = targets.get_board("host")
    deployment = _prepare(FUZZ_MODELS["lenet5"].read_bytes(), board)
    inputs = _random_inputs(deployment.graph, np.random.default_rng(0))
    write_guarded_model(deployment, tmp_path / "model")
    built = firmware.build(tmp_path / "model", board, tmp_path / "build")
    assert firmware.run(built, inputs, SAMPLES).invokes == SAMPLES

    apart = _apart

    def one_byte_short(plan: Plan) -> tuple[Plan, list[tuple[int, int]]]:
        spread, gaps = apart(plan)
        t = spread.order[0].outputs[0]
        return spread, gaps + [(spread.tensor_offsets[t.index] + t.nbytes - 1, 1)]

    monkeypatch.setattr(sys.modules[__name__], "_apart", one_byte_short)
    write_guarded_model(deployment, tmp_path / "short")
    built = firmware.build(tmp_path / "short", board, tmp_path / "build")
    with pytest.raises(TinyconvError, match="AddressSanitizer: use-after-poison"):
        firmware.run(built, inputs, SAMPLES)
