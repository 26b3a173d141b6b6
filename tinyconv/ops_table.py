"""What tinyconv deploys: every op kind, its activation dtypes, kernels and ISA paths.

Read from the code itself, so it cannot drift: the op kinds are the IR's
(`ir.ops.SUPPORTED_OPS`), the dtypes and kernels are what each op's lowering declares
(`@lowering(..., kernels=..., dtypes=...)`, held to it by `lowering.lower`), and a kernel
has an Armv7E-M DSP or a Helium (MVE) path where its C file (or a private header of its
family that it includes) has code under TC_ISA_DSP or TC_ISA_MVE. The portable C path
("ref") exists for every kernel. `tinyconv ops` prints the table; unsupported-op errors
point to it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from . import FIRMWARE_DIR
from .codegen.lowering import base as lowering_base
from .ir.ops import SUPPORTED_OPS

ISAS = ("ref", "dsp", "mve")
_ISA_MACROS = {"dsp": "TC_ISA_DSP", "mve": "TC_ISA_MVE"}
_LOCAL_INCLUDE = re.compile(r'#include\s+"([^"]+)"')


@dataclass(frozen=True)
class OpSupport:
    kind: str
    dtypes: tuple[str, ...]                # activation dtypes: "int8", "int16"
    kernels: tuple[str, ...]               # C functions the lowering may call
    isa_kernels: dict[str, tuple[str, ...]]  # ISA -> the kernels with a path for it

    def has_isa(self, isa: str) -> bool:
        return bool(self.isa_kernels.get(isa))


@functools.lru_cache(maxsize=None)
def _kernel_sources() -> dict[str, Path]:
    return {p.stem: p for p in (FIRMWARE_DIR / "kernels").glob("*/*.c")}


@functools.lru_cache(maxsize=None)
def kernel_isas(function: str) -> tuple[str, ...]:
    """The ISAs `function` has a code path for (its file and its family's private headers)."""
    path = _kernel_sources().get(function)
    if path is None:
        return ()
    text = path.read_text()
    for name in _LOCAL_INCLUDE.findall(text):
        header = path.parent / name
        if header.exists():
            text += header.read_text()
    return ("ref",) + tuple(isa for isa, macro in _ISA_MACROS.items() if macro in text)


def op_support() -> list[OpSupport]:
    """One row per op kind the IR knows, in name order."""
    lowered = lowering_base.lowered_ops()
    rows = []
    for kind, cls in sorted(SUPPORTED_OPS.items()):
        kernels = lowered.get(cls)
        if kernels is None:
            continue
        dtypes = lowering_base.DTYPES.get(cls, ())
        isa_kernels = {isa: tuple(k for k in kernels if isa in kernel_isas(k)) for isa in ISAS}
        rows.append(OpSupport(kind, dtypes, kernels, isa_kernels))
    return rows


def supported_kinds() -> list[str]:
    return [row.kind for row in op_support()]


def format_table(rows: list[OpSupport]) -> str:
    header = f"{'op':<28} {'int8':<5} {'int16':<6} {'ref':<4} {'dsp':<4} {'mve':<4} kernels"
    lines = [header, "-" * len(header)]
    for r in rows:
        def mark(ok: bool) -> str:
            return "yes" if ok else "-"
        kernels = ", ".join(r.kernels) if r.kernels else "(no kernel: the input's bytes)"
        lines.append(f"{r.kind:<28} {mark('int8' in r.dtypes):<5} "
                     f"{mark('int16' in r.dtypes):<6} "
                     + " ".join(f"{mark(r.has_isa(i) or not r.kernels):<4}" for i in ISAS)
                     + f" {kernels}")
    return "\n".join(lines)
