"""Shared fixtures and requirement markers for the whole suite.

Tests are grouped by layer: unit/ (pure Python), kernels/ (C kernels and firmware on the host
and in QEMU), pipeline/ (import -> plan -> codegen -> firmware, the CLI), training/ (Keras,
QAT, search). Helper modules live in support/ and are importable by name.

Requirements are markers, checked here once:
  @pytest.mark.arm       arm-none-eabi-gcc and qemu-system-arm
  @pytest.mark.dataset("cifar10")   a real dataset found by tinyconv.data.locate
  @pytest.mark.dataset("cifar10/cifar10_calib500.npz")   a file of a dataset folder
Tests never download a dataset (TINYCONV_OFFLINE=1): what is not on this machine is missing.
Loader tests that must run everywhere write small datasets in the real formats instead
(support/dataset_fixtures.py).
A missing tool skips the test on a developer's machine with the reason, and FAILS it under
CI=true, where `make test` has installed everything: a silent skip there would hide a
broken install.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
from pathlib import Path

import pytest

SUPPORT = Path(__file__).resolve().parent / "support"
if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))

REPO = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
os.environ.setdefault("TINYCONV_OFFLINE", "1")  # subprocesses (the CLI) inherit it
ARM_TOOLS = ("arm-none-eabi-gcc", "qemu-system-arm")


def pytest_configure(config):
    config.addinivalue_line("markers", "arm: needs arm-none-eabi-gcc and qemu-system-arm")
    config.addinivalue_line("markers", "dataset(name): needs the named real dataset "
                                       "(../shared/datasets, $TINYCONV_DATA, ...)")


def missing_tools(tools=ARM_TOOLS) -> list[str]:
    return [tool for tool in tools if shutil.which(tool) is None]


@functools.lru_cache(maxsize=None)
def dataset_missing(name: str) -> str | None:
    """None when the dataset `name` loads from a local copy, else why not. `name` is a
    registry name (fashion_mnist, cifar10, ...) or `<folder>/<file>`, a file that must be in
    a dataset folder of one of the data roots."""
    from tinyconv.data import resolve
    from tinyconv.data.locate import looked_in, try_dataset_dir
    from tinyconv.errors import TinyconvError

    if "/" in name:
        folder, file = name.split("/", 1)
        if try_dataset_dir(folder, file) is None:
            return f"no {file} in {looked_in(folder)}"
        return None
    try:
        resolve(name)  # finds the files and reads the labels; decodes no pixels
    except TinyconvError as e:
        return str(e)
    return None


def require(reason: str | None) -> None:
    """Skip (fail under CI=true) when `reason` says something is missing."""
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_runtest_setup(item):
    if item.get_closest_marker("arm") is not None:
        missing = missing_tools()
        require(f"missing {', '.join(missing)} (make deps installs them)" if missing else None)
    for marker in item.iter_markers("dataset"):
        for name in marker.args:
            why = dataset_missing(name)
            require(f"needs dataset {name!r}: {why}" if why else None)
