"""The kernel object cache (tinyconv/firmware.py): builds that share kernel sources and flags
compile the kernels once, and the firmware is the same as a build that compiles them itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinyconv import deploy, firmware
from tinyconv.ir.tflite_import import import_tflite
from tinyconv.targets import get_board

MODEL = Path(__file__).resolve().parents[2] / "models" / "fashion_mnist_lenet5" / "model_int8.tflite"


def _build(tmp: Path, name: str, monkeypatch, cache: str) -> firmware.BuildResult:
    monkeypatch.setenv("TINYCONV_KERNEL_CACHE", cache)
    board = get_board("qemu-m4")
    d = deploy.prepare(import_tflite(MODEL.read_bytes(), MODEL.name), board)
    project = deploy.write_project(d, tmp / name)
    return firmware.build(project / "model", board, tmp / name / "build",
                          stack_bytes=d.stack_bytes)


@pytest.mark.arm
def test_cached_kernels_give_the_same_firmware(tmp_path, monkeypatch):
    own = _build(tmp_path, "own", monkeypatch, "0")
    cached = _build(tmp_path, "cached", monkeypatch, "1")
    # Kernels compiled in the build folder vs linked from the shared cache.
    assert own.kernel_dir == tmp_path / "own" / "build"
    assert cached.kernel_dir != tmp_path / "cached" / "build"
    assert list(cached.kernel_dir.rglob("tc_convolve_s8.c.o"))
    assert not list((tmp_path / "cached" / "build").rglob("tc_convolve_s8.c.o"))
    # The same image, byte for byte.
    assert (own.elf.with_suffix(".bin").read_bytes()
            == cached.elf.with_suffix(".bin").read_bytes())
    assert (own.text_bytes, own.data_bytes, own.bss_bytes) == \
        (cached.text_bytes, cached.data_bytes, cached.bss_bytes)


def test_the_key_follows_sources_and_flags(tmp_path):
    fw = tmp_path / "fw"
    (fw / "kernels").mkdir(parents=True)
    (fw / "boards" / "qemu-m4").mkdir(parents=True)
    (fw / "boards" / "common").mkdir(parents=True)
    (fw / "Makefile").write_text("all:\n")
    (fw / "kernels" / "a.c").write_text("int a;\n")
    board = get_board("qemu-m4")
    key = firmware._kernel_cache_key(fw, board, ["TARGET=qemu-m4", "KERNELS=opt"])
    assert key == firmware._kernel_cache_key(fw, board, ["TARGET=qemu-m4", "KERNELS=opt"])
    assert key != firmware._kernel_cache_key(fw, board, ["TARGET=qemu-m4", "KERNELS=ref"])
    (fw / "kernels" / "a.c").write_text("int a = 1;\n")
    assert key != firmware._kernel_cache_key(fw, board, ["TARGET=qemu-m4", "KERNELS=opt"])
