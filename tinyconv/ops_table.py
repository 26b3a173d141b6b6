"""What tinyconv deploys: every op kind, its activation dtypes, kernels and ISA paths.

Read from the code itself, so it cannot drift: the op kinds are the IR's
(`ir.ops.SUPPORTED_OPS`), the dtypes and kernels are what each op's lowering declares
(`@lowering(..., kernels=..., dtypes=...)`, held to it by `lowering.lower`), and a kernel
has an Armv7E-M DSP or a Helium (MVE) path where its C file, or a helper it uses from a
header it includes, has code under TC_ISA_DSP or TC_ISA_MVE. The portable C path
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
_ATTRIBUTE = re.compile(r"__attribute__\s*\(\([^()]*\)\)")
_DEFINITION = re.compile(r"^(?:static\b[^;{=]*?\b(\w+)\s*\(|#define\s+(\w+))", re.MULTILINE)
# Headers that define the ISA macros (or include every family) rather than code under them.
_ISA_DEFINING_HEADERS = {"tc_nn_math_types.h", "tc_nn_types.h", "tc_nnfunctions.h"}


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


def _opening(text: str, start: int) -> int:
    """Where a definition's text starts: with the #if / #elif / #else lines right above it
    (the ISA condition it is compiled under)."""
    while start > 0:
        line_start = text.rfind("\n", 0, start - 1) + 1
        line = text[line_start:start].strip()
        if not line.startswith(("#if", "#elif", "#else")):
            break
        start = line_start
    return start


@functools.lru_cache(maxsize=None)
def _definitions(header: Path) -> dict[str, str]:
    """A header's static functions and macros, by name -> their text (each with the
    #if line it sits under)."""
    text = header.read_text()
    # __attribute__((...)) blanked out (same length: the offsets stay), so that the name
    # found is the function's
    plain = _ATTRIBUTE.sub(lambda m: " " * len(m.group()), text)
    starts = [(_opening(text, m.start()), m.group(1) or m.group(2))
              for m in _DEFINITION.finditer(plain)]
    ends = [start for start, _ in starts[1:]] + [len(text)]
    found: dict[str, str] = {}
    for (start, name), end in zip(starts, ends):  # one per ISA: keep every variant
        found[name] = found.get(name, "") + text[start:end]
    return found


@functools.lru_cache(maxsize=None)
def kernel_isas(function: str) -> tuple[str, ...]:
    """The ISAs `function` has a code path for: code under TC_ISA_DSP / TC_ISA_MVE in its
    file, or in a helper of an included header (its family's or a shared one) that the
    file, or such a helper, uses."""
    path = _kernel_sources().get(function)
    if path is None:
        return ()
    text = path.read_text()
    helpers: dict[str, str] = {}
    seen: set[Path] = set()
    includes = [(path.parent, name) for name in _LOCAL_INCLUDE.findall(text)]
    while includes:  # the file's headers, then theirs (private bodies include the helpers)
        folder, name = includes.pop()
        if name in _ISA_DEFINING_HEADERS:
            continue
        for header in (folder / name, FIRMWARE_DIR / "kernels" / "include" / name):
            if header.exists() and header not in seen:
                seen.add(header)
                helpers |= _definitions(header)
                includes += [(header.parent, n) for n in _LOCAL_INCLUDE.findall(header.read_text())]
    used, todo = "", [text]
    while todo:  # the file, then every helper it (transitively) names
        chunk = todo.pop()
        used += chunk
        for name in [n for n in helpers if re.search(rf"\b{n}\b", chunk)]:
            todo.append(helpers.pop(name))
    return ("ref",) + tuple(isa for isa, macro in _ISA_MACROS.items() if macro in used)


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
