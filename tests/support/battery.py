"""Kernel-test batteries: many independent ops packed into one .tflite model.

Builds are the cost of a kernel test, so a test packs a family's ops into one model: every
op gets its own graph inputs, and each graph input remembers how to feed it (a `Feed`,
called as `feed(rng, sample_index)`). `check_battery` runs the whole model through
tinyconv.verify (import, plan, codegen, build, run) and asserts that every output byte
equals the reference's.

An input given no feed gets its dtype's default feed: `Battery(feeds=...)` names a
factory `shape -> Feed` per dtype, DEFAULT_FEEDS otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from tflite_builder import ModelBuilder
from tinyconv import targets
from tinyconv.verify import VerifyReport, verify

Feed = Callable[[np.random.Generator, int], np.ndarray]
FeedFactory = Callable[[tuple], Feed]


def exhaustive_int8(shape) -> Feed:
    """Every int8 code at least once per sample (in a fresh random order), if it fits."""
    size = math.prod(shape)

    def feed(rng, _i):
        codes = np.arange(-128, 128, dtype=np.int8)
        values = np.concatenate([rng.permutation(codes) for _ in range(-(-size // 256))])
        return values[:size].reshape(shape)
    return feed


def random_int8(shape) -> Feed:
    """Uniform int8 codes."""
    return lambda rng, _i: rng.integers(-128, 128, size=shape, dtype=np.int8)


def random_int16(shape, spread: int = 32768) -> Feed:
    """Uniform int16 values in [-spread, spread), with both extremes and 0 first when the
    tensor is big enough."""
    def feed(rng, _i):
        x = rng.integers(-spread, spread, size=shape).astype(np.int16).reshape(-1)
        x[:3] = [-32768, 32767, 0][:x.size]
        return x.reshape(shape)
    return feed


# int8: the whole input domain of a unary op; int16: the full range, extremes included.
DEFAULT_FEEDS: dict[str, FeedFactory] = {"int8": exhaustive_int8, "int16": random_int16}


class Battery:
    """Independent ops in one model; remembers how to feed each graph input.

    `dtype` is the default dtype of `input`, `output` and `hidden`; `feeds` maps a dtype to
    the factory of its default feed (DEFAULT_FEEDS when not given)."""

    def __init__(self, name: str, dtype: str = "int8",
                 feeds: Mapping[str, FeedFactory] | None = None):
        self.b = ModelBuilder(name)
        self.dtype = dtype
        self.default_feeds = dict(DEFAULT_FEEDS if feeds is None else feeds)
        self.inputs: list[int] = []
        self.outputs: list[int] = []
        self.feeds: list[Feed] = []  # per input: feed(rng, sample_index) -> ndarray

    def default_feed(self, shape, dtype: str) -> Feed:
        if dtype not in self.default_feeds:
            raise ValueError(f"{self.b.description}: no default feed for {dtype} inputs "
                             f"(have {sorted(self.default_feeds)}); pass feed=")
        return self.default_feeds[dtype](tuple(shape))  # a copy: callers reuse shape lists

    def input(self, shape, dtype: str | None = None, quant=(None, None),
              feed: Feed | None = None) -> int:
        dtype = dtype or self.dtype
        t = self.b.tensor(shape, dtype, *quant)
        self.inputs.append(t)
        self.feeds.append(feed or self.default_feed(shape, dtype))
        return t

    def output(self, shape, dtype: str | None = None, quant=(None, None)) -> int:
        t = self.b.tensor(shape, dtype or self.dtype, *quant)
        self.outputs.append(t)
        return t

    def hidden(self, shape, dtype: str | None = None, quant=(None, None)) -> int:
        """An intermediate tensor (neither graph input nor output)."""
        return self.b.tensor(shape, dtype or self.dtype, *quant)

    def model(self) -> bytes:
        return self.b.build(self.inputs, self.outputs)

    def samples(self, seed: int, n: int = 2) -> list[list[np.ndarray]]:
        """`n` samples, one array per graph input, drawn sample by sample, input by input,
        from one generator seeded with `seed`."""
        rng = np.random.default_rng(seed)
        return [[feed(rng, i) for feed in self.feeds] for i in range(n)]


def check_battery(bat: Battery, board: str, seed: int = 0, kernels: str = "opt",
                  n: int = 2, work_dir: Path | None = None, **verify_kwargs) -> VerifyReport:
    """Run `bat` on `board` (its `n` samples of `seed`) and assert that every output byte
    equals the reference's; returns the report. `verify_kwargs` go to tinyconv.verify
    (memory=, match=, ...)."""
    report = verify(bat.model(), targets.get_board(board), source=bat.b.description,
                    inputs=bat.samples(seed, n), kernels=kernels, count_instructions=False,
                    work_dir=work_dir, **verify_kwargs)
    assert report.outputs_compared > 0
    assert report.mismatched_bytes == 0, (
        f"{report.mismatched_bytes}/{report.outputs_compared} bytes differ on {board} "
        f"({kernels} kernels): " + "; ".join(report.mismatches))
    return report
