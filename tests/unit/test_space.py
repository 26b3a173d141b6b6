"""The NAS search space: sampling, serialisation, and exact costs against converted models."""

from __future__ import annotations

import fcntl
import hashlib
import os
import random
from pathlib import Path

import numpy as np
import pytest

from tinyconv import deploy
from tinyconv.errors import TinyconvError
from tinyconv.space import ArchConfig, SearchSpace, STAGE_CHANNELS, STAGE_STRIDES
from tinyconv.targets import get_board

REPO = Path(__file__).resolve().parents[2]
SEED = 4
CONVERT_RECIPE = 1


def _cache_dir() -> Path:
    root = os.environ.get("TINYCONV_CACHE")
    base = Path(root) if root else Path.home() / ".cache" / "tinyconv"
    return base / "space"


def _key(cfg: ArchConfig, channels: int, classes: int) -> str:
    # CONVERT_RECIPE: bump when `converted` below changes what it produces.
    h = hashlib.sha256(f"{cfg.to_json()}|{channels}|{classes}|{CONVERT_RECIPE}".encode())
    for rel in ("tinyconv/zoo/mcunet.py", "tinyconv/zoo/mobilenetv2.py", "tinyconv/zoo/_common.py",
                "tinyconv/convert.py"):
        h.update((REPO / rel).read_bytes())
    return h.hexdigest()[:16]


def converted(cfg: ArchConfig, channels: int, classes: int) -> bytes:
    """The int8 .tflite of `cfg` (random weights, nonzero biases, sane logit spread), cached
    on disk: conversion takes 15-35 s."""
    directory = _cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{_key(cfg, channels, classes)}.tflite"
    with open(directory / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            from zoo_models import _temper_logits

            from tinyconv.convert import to_int8_tflite
            from tinyconv.keras_compat import keras
            from tinyconv.zoo.random_init import randomize_batchnorm

            keras.utils.set_random_seed(SEED)
            model = cfg.build_keras(channels, classes)
            rng = np.random.default_rng(SEED)
            data = rng.uniform(0, 1, (8, cfg.resolution, cfg.resolution, channels)).astype(np.float32)
            randomize_batchnorm(model, data, seed=SEED)
            dense = model.get_layer("classifier_dense")
            kernel, bias = dense.get_weights()
            # A trained classifier has a bias; the converter drops an all-zero one.
            dense.set_weights([kernel, rng.normal(0, 0.1, bias.shape).astype(np.float32)])
            _temper_logits(model, data)
            blob = to_int8_tflite(model, data)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(blob)
            os.replace(tmp, path)
    return path.read_bytes()


def test_constants_mirror_the_zoo():
    from tinyconv.zoo import mcunet
    assert STAGE_CHANNELS == mcunet.STAGE_CHANNELS and STAGE_STRIDES == mcunet.STAGE_STRIDES


def test_sampling_is_deterministic_and_in_space():
    space = SearchSpace()
    a = [space.sample(random.Random(3)) for _ in range(5)]
    b = [space.sample(random.Random(3)) for _ in range(5)]
    assert a == b
    rng = random.Random(0)
    configs = [space.sample(rng) for _ in range(200)]
    assert all(space.contains(c) for c in configs)
    assert len({c.key for c in configs}) == 200
    assert {c.resolution for c in configs} == set(space.resolutions)


def test_for_input_clips_resolutions():
    assert SearchSpace.for_input(28).resolutions == (48, 64)
    assert SearchSpace.for_input(40).resolutions == (48, 64, 80)
    assert max(SearchSpace.for_input(96).resolutions) == 176


def test_json_round_trip_and_key():
    cfg = SearchSpace().sample(random.Random(1))
    back = ArchConfig.from_json(cfg.to_json())
    assert back == cfg and back.key == cfg.key
    with pytest.raises(TinyconvError, match="not an architecture"):
        ArchConfig.from_json('{"width": 1}')
    with pytest.raises(TinyconvError, match="blocks need"):
        ArchConfig(0.5, 64, (1,) * 7, (3,) * 6, (3,) * 7)


def test_cost_is_fast_and_monotone():
    import time
    board = get_board("qemu-m7")
    space = SearchSpace()
    small, big = space.smallest(), space.largest(resolution=96)
    t = time.perf_counter()
    cs, cb = small.cost(board, 1, 10), big.cost(board, 1, 10)
    assert time.perf_counter() - t < 5
    assert cs.peak_sram < cb.peak_sram and cs.flash < cb.flash and cs.macs < cb.macs
    assert cs.instructions < cb.instructions
    # Peak SRAM is the deployment's own number: arena + stack + runtime.
    d = deploy.prepare(small.graph(1, 10), board, sram=1 << 40, flash=1 << 40)
    assert cs.peak_sram == d.planned_ram_bytes == d.plan.arena_bytes + 8192 + deploy.RUNTIME_RAM_BYTES
    assert cs.constant_bytes == d.source.weights_bytes


# Configs whose analytic graph is compared with the converted int8 model: a fixed one with
# every kernel/expansion choice and residual adds, then random ones (3 channels and 1).
_FIXED = ArchConfig(0.35, 48, (1, 2, 1, 2, 1, 2, 1), (3, 5, 7, 3, 5, 7, 3, 3, 5, 7),
                    (3, 4, 6, 3, 4, 6, 3, 3, 4, 6))


def _random_configs(n: int, seed: int) -> list[tuple[ArchConfig, int]]:
    rng = random.Random(seed)
    space = SearchSpace(resolutions=(48, 64, 80))
    return [(space.sample(rng), rng.choice((1, 3))) for _ in range(n)]


def _check_equal(cfg: ArchConfig, channels: int, classes: int = 10) -> None:
    from tinyconv.ir.tflite_import import import_tflite
    real = import_tflite(converted(cfg, channels, classes))
    ours = cfg.graph(channels, classes)
    assert [o.kind for o in ours.ops] == [o.kind for o in real.ops]
    for a, b in zip(ours.ops, real.ops):
        sa = [t.shape if t is not None else None for t in a.inputs + a.outputs]
        sb = [t.shape if t is not None else None for t in b.inputs + b.outputs]
        assert sa == sb, f"op {a.index} {a.kind}"
        assert a.inplace_input() == b.inplace_input()
    assert ours.total_macs() == real.total_macs()
    for board in ("qemu-m7", "qemu-m3", "qemu-m55"):
        b = get_board(board)
        d_ours = deploy.prepare(ours, b, sram=1 << 40, flash=1 << 40)
        d_real = deploy.prepare(real, b, sram=1 << 40, flash=1 << 40)
        assert d_ours.plan.arena_bytes == d_real.plan.arena_bytes, board
        assert d_ours.planned_ram_bytes == d_real.planned_ram_bytes
        assert d_ours.source.weights_bytes == d_real.source.weights_bytes, board


@pytest.mark.parametrize("index", range(3))
def test_graph_equals_converted_model(index):
    cfg, channels = ([(_FIXED, 1)] + _random_configs(2, SEED))[index]
    _check_equal(cfg, channels)


@pytest.mark.slow
@pytest.mark.parametrize("index", range(12))
def test_graph_equals_converted_model_many(index):
    cfg, channels = _random_configs(12, SEED + 1)[index]
    _check_equal(cfg, channels)


def test_flash_and_instruction_estimates_match_a_build():
    """Build and run the converted _FIXED config on qemu-m7: flash (constants + code
    estimate) within 1 % of the ELF's .text+.data, instructions within 15 % of QEMU's count."""
    from tinyconv.verify import verify
    board = get_board("qemu-m7")
    est = _FIXED.cost(board, 1, 10)
    r = verify(converted(_FIXED, 1, 10), board, n=1, compare_tflm=False)
    assert r.mismatched_bytes == 0
    assert abs(est.flash - r.flash_bytes) <= 0.01 * r.flash_bytes, (est.flash, r.flash_bytes)
    assert r.instructions_per_inference is not None
    err = (est.instructions - r.instructions_per_inference) / r.instructions_per_inference
    assert abs(err) < 0.15, (est.instructions, r.instructions_per_inference)
