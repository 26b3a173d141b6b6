"""The kernels' scratch sizes, asked from their one definition in C.

firmware/kernels/<family>/tc_<family>_get_buffer_sizes_s8.c define every kernel's
`*_get_buffer_size`. This module compiles those files with the host C compiler into one
shared library per ISA (the ISA forced with the macros of tc_nn_math_types.h, since the
size functions are plain C), and calls them through ctypes, as CMSIS-NN's Python bindings
do. The libraries are cached under files.cache_root() in a
folder named by a hash of the sources and the compiler, written atomically so that
concurrent processes and threads share them; answers are cached per argument tuple,
because the NAS plans thousands of graphs.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from .errors import TinyconvError
from .files import cache_root

# How each ISA is forced when the size functions are compiled on the host.
ISA_DEFINES = {"ref": "-DTC_REFERENCE_KERNELS", "dsp": "-DTC_FORCE_ISA_DSP",
               "mve": "-DTC_FORCE_ISA_MVE"}

# Every size function and how many tc_dims it takes.
SIZE_FUNCTIONS = {
    "tc_convolve_s8_get_buffer_size": 2,        # (input_dims, filter_dims)
    "tc_convolve_s8_get_fast_buffer_size": 2,   # (input_dims, filter_dims)
    "tc_convolve_s8_get_stack_buffer_size": 2,  # (input_dims, filter_dims)
    "tc_convolve_1x1_s8_get_buffer_size": 2,    # (input_dims, filter_dims)
    "tc_fully_connected_s8_get_buffer_size": 1,  # (filter_dims)
    "tc_convolve_s8_ort_get_buffer_size": 2,    # (input_dims, filter_dims)
    "tc_depthwise_conv_s8_get_buffer_size": 1,   # (output_dims)
    "tc_depthwise_conv_inplace_s8_get_buffer_size": 1,  # (output_dims)
    "tc_transpose_conv_s8_get_buffer_size": 1,   # (output_dims)
    "tc_transpose_conv_s16_get_buffer_size": 1,  # (output_dims)
}

Dims = tuple[int, int, int, int]


class _TcDims(ctypes.Structure):
    _fields_ = [("n", ctypes.c_int32), ("h", ctypes.c_int32), ("w", ctypes.c_int32),
                ("c", ctypes.c_int32)]


def _kernels_dir() -> Path:
    from . import FIRMWARE_DIR
    return FIRMWARE_DIR / "kernels"


def size_sources() -> list[Path]:
    """The C files that define the scratch sizes."""
    return sorted(_kernels_dir().glob("*/tc_*_get_buffer_sizes_s8.c"))


def _compiler() -> str:
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise TinyconvError("the kernels' scratch sizes are computed by their C code, which "
                            "needs a host C compiler: install gcc (or set CC)")
    return cc


_build_lock = threading.Lock()


@functools.cache
def library(isa: str) -> ctypes.CDLL:
    """The host library of the size functions with `isa` ("ref", "dsp" or "mve") forced."""
    if isa not in ISA_DEFINES:
        raise ValueError(f"unknown ISA {isa!r}")
    kernels = _kernels_dir()
    sources = size_sources()
    headers = sorted(kernels.glob("*/*.h"))
    cc = _compiler()
    digest = hashlib.sha256(cc.encode())
    for path in sources + headers:
        digest.update(str(path.relative_to(kernels)).encode() + b"\0" + path.read_bytes())
    folder = cache_root() / f"kernels-{digest.hexdigest()[:16]}"
    target = folder / f"tc_buffer_sizes_{isa}.so"
    with _build_lock:
        if not target.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{isa}-", suffix=".so")
            os.close(fd)
            try:
                subprocess.run([cc, "-std=c99", "-O1", "-shared", "-fPIC", "-Wall", "-Wextra",
                                "-Werror", ISA_DEFINES[isa], f"-I{kernels / 'include'}",
                                *map(str, sources), "-o", tmp],
                               check=True, capture_output=True, text=True)
                os.replace(tmp, target)  # atomic: another process may have won the race
            except subprocess.CalledProcessError as e:
                lines = (e.stderr or "").strip().splitlines()
                errors = [line for line in lines if "error" in line] or lines
                raise TinyconvError("building the kernels' scratch-size library failed: "
                                    + (errors[0] if errors else str(e))) from None
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
    lib = ctypes.CDLL(str(target))
    for name, count in SIZE_FUNCTIONS.items():
        fn = getattr(lib, name)
        fn.restype = ctypes.c_int32
        fn.argtypes = [ctypes.POINTER(_TcDims)] * count
    return lib


@functools.lru_cache(maxsize=None)
def buffer_size(isa: str, function: str, *dims: Dims) -> int:
    """What the C function `function` returns for these tc_dims when compiled for `isa`."""
    if SIZE_FUNCTIONS.get(function) != len(dims):
        raise ValueError(f"{function} takes {SIZE_FUNCTIONS.get(function)} tc_dims")
    args = [ctypes.byref(_TcDims(*(int(v) for v in d))) for d in dims]
    return int(getattr(library(isa), function)(*args))
