"""ctypes mirrors of the structs in firmware/kernels/include/tc_nn_types.h that the host
kernel tests share (one definition, so a change to the C header is mirrored once), and the
one way those tests build the portable kernels into a host library."""

from __future__ import annotations

import ctypes
import subprocess
from pathlib import Path

KERNELS = Path(__file__).resolve().parents[2] / "firmware" / "kernels"
# Warnings are errors; no FP contraction, so float code rounds as written.
CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off",
          f"-I{KERNELS / 'include'}"]


def host_library(sources: list[Path], path: Path) -> ctypes.CDLL:
    """`sources` (portable kernels on the host) as the shared library `path`, with UBSan
    aborting on undefined behaviour."""
    subprocess.run(["gcc", *CFLAGS, "-g", "-shared", "-fPIC", "-fsanitize=undefined",
                    "-fno-sanitize-recover=all", *map(str, sources), "-o", str(path)],
                   check=True, capture_output=True, text=True)
    return ctypes.CDLL(str(path))


class Dims(ctypes.Structure):
    _fields_ = [(n, ctypes.c_int32) for n in "nhwc"]


class Tile(ctypes.Structure):
    _fields_ = [("h", ctypes.c_int32), ("w", ctypes.c_int32)]


class Act(ctypes.Structure):
    _fields_ = [("min", ctypes.c_int32), ("max", ctypes.c_int32)]


class Context(ctypes.Structure):
    _fields_ = [("buf", ctypes.c_void_p), ("size", ctypes.c_int32)]


class PerChannelQuant(ctypes.Structure):
    _fields_ = [("multiplier", ctypes.POINTER(ctypes.c_int32)),
                ("shift", ctypes.POINTER(ctypes.c_int32)),
                ("narrow", ctypes.c_int32)]
