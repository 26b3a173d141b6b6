"""The firmware's worst-case stack, from the compiler: what `deploy.prepare` reserves.

GCC's `-fcallgraph-info=su` writes, beside each object, the function's static stack frame
(the `-fstack-usage` number) and its direct callees. The firmware's call graph is static
(no recursion, no calls through pointers), so the deepest stack is the heaviest path of
that graph from the reset handler. This module:

- builds the firmware once per board and kernel set with the real firmware/Makefile and
  `EXTRA_CFLAGS=-fcallgraph-info=su` (same flags as every build, so they cannot drift),
  around a small generated probe model, and reads every object's .ci file into a table of
  functions (frame bytes, callees). Assembly (boards/common/bench.S) and the libgcc helpers
  the compiler calls behind the call graph's back (soft float on Cortex-M3, 64-bit
  division) have no .ci: their frames come from their disassembly (every push, `sub sp`
  and pre-decrementing store of the object or libgcc member, summed: an upper bound). The
  table is cached on disk by a hash of the firmware sources, the compiler and the board.
- bounds a model's stack: the probe's tc_model_invoke is replaced by the model's (its
  frame from compiling the generated model.c and app with the same flag when `exact`, else
  the upper bound `invoke_frame_estimate`, for the search's thousands of costs), calling
  the kernels its steps call; the bound is the heaviest path from the reset handler
  (app, model, kernels, printing) plus a fault taken at that depth (the exception frame
  the CPU pushes and the fault reporter's own path), plus `STACK_MARGIN_PERCENT`
  (defaults.py), rounded up to 8 bytes.

A cycle, a call through a pointer, a frame GCC calls dynamic or a callee with no known
frame on a path that counts raises TinyconvError: the bound is then not a bound.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import FIRMWARE_DIR
from .defaults import DEFAULT_STACK_BYTES, EXCEPTION_FRAME_BYTES, STACK_MARGIN_PERCENT
from .errors import TinyconvError
from .files import cache_root
from .targets import Board

CALLGRAPH_FLAG = "-fcallgraph-info=su"
RESET_HANDLER = "Reset_Handler"
INVOKE = "tc_model_invoke"
# The C function every fault vector ends in (boards/common/startup.c: the naked
# tc_fault_entry branches to it with the stacked frame).
FAULT_HANDLER = "tc_fault_report"
# Library functions GCC may call for a struct copy or clear without a call in the source.
IMPLICIT_LIBC = ("memcpy", "memset", "memmove")
# tc_model_invoke's frame in the estimate: registers saved (r4-r11, lr, padding) and the
# outgoing arguments past the fourth, both bounded below; plus each step's local arrays.
INVOKE_SAVED_BYTES = 40
STREAM_LOOP_BYTES = 32
INDIRECT_CALL = "__indirect_call"  # GCC's callee name for a call through a pointer


@dataclass(frozen=True)
class Function:
    name: str                  # .ci title: the symbol, or "path:symbol" when static
    frame: int                 # bytes of its own frame
    callees: tuple[str, ...]
    origin: str = "ci"         # "ci", "asm" (firmware assembly) or "libgcc"


@dataclass
class StackTable:
    """Every function of one board's firmware with its frame and callees."""

    board: str
    kernels: str
    functions: dict[str, Function]

    def depth(self, name: str) -> int:
        return self.worst_path(name)[0]

    def worst_path(self, name: str) -> tuple[int, tuple[str, ...]]:
        """The heaviest call path from `name`: (bytes, the functions on it)."""
        memo: dict[str, tuple[int, tuple[str, ...]]] = {}
        return self._walk(name, memo, ())

    def _walk(self, name: str, memo: dict, trail: tuple[str, ...]) -> tuple[int, tuple[str, ...]]:
        if name in memo:
            return memo[name]
        if name in trail:
            cycle = " -> ".join(_short(n) for n in trail[trail.index(name):] + (name,))
            raise TinyconvError(f"stack bound for {self.board}: recursion {cycle}; the "
                                f"firmware's stack cannot be bounded statically")
        if name == INDIRECT_CALL:
            raise TinyconvError(f"stack bound for {self.board}: {_short(trail[-1])} calls "
                                f"through a function pointer; no static bound")
        fn = self.functions.get(name)
        if fn is None:
            raise TinyconvError(f"stack bound for {self.board}: no stack frame known for "
                                f"{_short(name)} (called by {_short(trail[-1]) if trail else '-'})")
        best, best_path = 0, ()
        for callee in fn.callees:
            depth, path = self._walk(callee, memo, trail + (name,))
            if depth > best:
                best, best_path = depth, path
        memo[name] = (fn.frame + best, (name,) + best_path)
        return memo[name]

    def with_model(self, invoke_frame: int, kernels: tuple[str, ...]) -> "StackTable":
        """This table with tc_model_invoke replaced by a model's."""
        functions = dict(self.functions)
        functions[INVOKE] = Function(INVOKE, invoke_frame, tuple(sorted(set(kernels))), "model")
        return StackTable(self.board, self.kernels, functions)

    def to_json(self) -> str:
        return json.dumps({"board": self.board, "kernels": self.kernels,
                           "functions": [asdict(f) for f in self.functions.values()]})

    @classmethod
    def from_json(cls, text: str) -> "StackTable":
        data = json.loads(text)
        functions = {f["name"]: Function(f["name"], f["frame"], tuple(f["callees"]), f["origin"])
                     for f in data["functions"]}
        return cls(data["board"], data["kernels"], functions)


@dataclass(frozen=True)
class StackBound:
    """What a model's firmware can use of the stack at most, and what is reserved."""

    reserved: int                # total + margin, rounded up to 8: STACK_SIZE
    total: int                   # program + fault, no margin
    program: int                 # heaviest path from the reset handler
    fault: int                   # exception frame + fault reporter's path
    margin: int
    invoke_frame: int            # tc_model_invoke's own frame
    kernel: str                  # the kernel on the heaviest path below tc_model_invoke
    kernel_bytes: int            # that kernel's heaviest path
    above_invoke: int            # the app's frames from the reset handler to tc_model_invoke
    exact: bool                  # invoke frame compiled (True) or estimated (False)
    path: tuple[str, ...] = field(default=())  # the heaviest path, function names

    def describe(self) -> str:
        how = "compiled" if self.exact else "estimated"
        return (f"stack bound {self.reserved} B = app {self.above_invoke} + invoke "
                f"{self.invoke_frame} ({how}) + kernels {self.kernel_bytes} ({self.kernel}) "
                f"[program {self.program}] + fault {self.fault} + margin {self.margin}")


def _short(name: str) -> str:
    return name.rsplit(":", 1)[-1]


# --- reading the compiler's output -----------------------------------------------------------
_NODE = re.compile(r'node: \{ title: "([^"]+)" label: "([^"]*)"')
_EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')
_FRAME = re.compile(r"\\n(\d+) bytes \(([a-z,]+)\)")


def parse_ci(text: str, origin: str = "ci") -> dict[str, Function]:
    """The functions a .ci file defines (those with a frame), with their callees."""
    frames: dict[str, int] = {}
    callees: dict[str, list[str]] = {}
    for title, label in _NODE.findall(text):
        match = _FRAME.search(label)
        if match is None:
            continue  # declared here, defined elsewhere
        kind = match.group(2)
        if "dynamic" in kind and "bounded" not in kind:
            raise TinyconvError(f"stack bound: {_short(title)} has a dynamic stack frame "
                                f"(alloca or a variable-length array): no static bound")
        frames[title] = int(match.group(1))
    for source, target in _EDGE.findall(text):
        targets = callees.setdefault(source, [])
        if target not in targets:
            targets.append(target)
    return {name: Function(name, frame, tuple(callees.get(name, ())), origin)
            for name, frame in frames.items()}


_REGLIST = re.compile(r"\{([^}]*)\}")
_PUSH = re.compile(r"^\s*(push|stmdb(?:\.w)?\s+sp!,|vpush|vstmdb(?:\.\w+)?\s+sp!,)")
_SUB_SP = re.compile(r"^\s*subs?(?:\.w|w)?\s+sp,\s*(?:sp,\s*)?#(\d+)")
_SUB_SP_REG = re.compile(r"^\s*(subs?(?:\.w)?\s+sp,\s*(?:sp,\s*)?r|mov(?:\.w)?\s+sp,)")
_PRE_DEC = re.compile(r"\[sp,\s*#-(\d+)\]!")
_CALL_RELOC = re.compile(r"R_ARM_(?:THM_CALL|THM_JUMP24|THM_JUMP19|CALL|JUMP24)\s+(\S+)")
_LINKED_CALL = re.compile(r"\s(?:bl|b\.w|blx)\s+[0-9a-f]+ <([^>+]+)(\+0x[0-9a-f]+)?>")
_INDIRECT = re.compile(r"\sblx\s+r\d")


def _register_bytes(regs: str, vector: bool) -> int:
    total = 0
    for part in regs.split(","):
        part = part.strip()
        if not part:
            continue
        size = 8 if vector and part.startswith("d") else 4
        if "-" in part:
            lo, hi = part.split("-")
            total += size * (int(re.sub(r"\D", "", hi)) - int(re.sub(r"\D", "", lo)) + 1)
        else:
            total += size
    return total


@dataclass(frozen=True)
class _AsmUnit:
    """One assembled object (or libgcc member): every stack decrement in it, summed."""

    frame: int
    calls: tuple[str, ...]     # call targets outside the unit
    defines: tuple[str, ...]
    indirect: bool
    dynamic: bool


def _asm_units(disassembly: str) -> dict[str, _AsmUnit]:
    """`objdump -dr` of objects or an archive, per object: summed decrements and the calls
    that leave it (from relocations, or resolved branch targets)."""
    units: dict[str, _AsmUnit] = {}
    name, frame, calls, defines = None, 0, [], []
    indirect = dynamic = False
    shown = False  # the last instruction was a call whose shown target a relocation replaces

    def close() -> None:
        if name is not None:
            local = set(defines)
            units[name] = _AsmUnit(frame, tuple(dict.fromkeys(c for c in calls if c not in local)),
                                   tuple(defines), indirect, dynamic)
    for line in disassembly.splitlines():
        header = re.match(r"^(\S+\.o):\s+file format", line)
        if header:
            close()
            name, frame, calls, defines = header.group(1), 0, [], []
            indirect = dynamic = False
            continue
        label = re.match(r"^[0-9a-f]+ <([^>]+)>:$", line)
        if label:
            defines.append(label.group(1))
            continue
        parts = line.split("\t")
        instruction = "\t".join(parts[2:]) if len(parts) >= 3 else line
        reloc = _CALL_RELOC.search(line)
        if reloc:
            if shown:  # an unlinked call shows a placeholder target: the relocation names it
                calls.pop()
            calls.append(reloc.group(1))
            shown = False
            continue
        shown = False
        if len(parts) < 3:
            continue
        text = instruction.split(";")[0].split("@")[0]
        if _PUSH.match(text):
            regs = _REGLIST.search(text)
            frame += _register_bytes(regs.group(1) if regs else "", text.lstrip().startswith("v"))
        elif _SUB_SP.match(text):
            frame += int(_SUB_SP.match(text).group(1))
        elif _SUB_SP_REG.match(text):
            dynamic = True
        elif _PRE_DEC.search(text) and text.lstrip().startswith(("str", "vstr")):
            frame += int(_PRE_DEC.search(text).group(1))
        linked = _LINKED_CALL.search(" " + text)
        if linked and linked.group(2) is None:
            calls.append(linked.group(1))
            shown = True
        if _INDIRECT.search(" " + text):
            indirect = True
    close()
    return units


# --- building the table ------------------------------------------------------------------------
def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise TinyconvError(f"{name} not found: the stack bound needs the Arm toolchain "
                            f"(apt-get install gcc-arm-none-eabi), or pass --stack")
    return path


def _run(command: list[str], what: str) -> str:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise TinyconvError(f"stack bound: {what} failed: {lines[-1] if lines else command[0]}")
    return result.stdout


def _make_config(board: Board, kernels: str) -> dict[str, str]:
    out = _run(["make", "-s", "-C", str(FIRMWARE_DIR), "print-config", f"TARGET={board.name}",
                f"KERNELS={kernels}"], "make print-config")
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def _firmware_digest(board: Board, kernels: str, config: dict[str, str]) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([board.name, kernels, config.get("CC"), config.get("CFLAGS"),
                              _STACK_FORMAT]).encode())
    digest.update(_run([config.get("CC", "arm-none-eabi-gcc"), "--version"], "cc --version").encode())
    for part in ("Makefile", "kernels", "app", "boards"):
        root = FIRMWARE_DIR / part
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            digest.update(str(path.relative_to(FIRMWARE_DIR)).encode() + b"\0" + path.read_bytes())
    digest.update(Path(__file__).read_bytes())  # the analysis itself
    return digest.hexdigest()[:16]


_STACK_FORMAT = 1


def _write_probe_model(model_dir: Path, board: Board, kernels: str) -> None:
    """A one-layer generated model: the firmware links around it exactly as around any."""
    from .codegen.emit import generate, write_model
    from .ir.builder import GraphBuilder
    from .planner import plan_memory
    from .deploy import kernel_isa
    g = GraphBuilder("stack_probe", source="stack probe")
    x = g.input("input", (1, 4, 4, 2))
    x = g.mean(x, (1, 2), name="pool")
    graph = g.graph([x], **{"from": "stack probe"})
    write_model(generate(graph, plan_memory(graph, kernel_isa(board, kernels))), model_dir)


def _add_libgcc(functions: dict[str, Function], libgcc: dict[str, _AsmUnit]) -> None:
    """Every libgcc function reachable from `functions`, as its member's summed frame."""
    by_symbol = {s: (member, unit) for member, unit in libgcc.items() for s in unit.defines}
    pending = [c for f in list(functions.values()) for c in f.callees if c not in functions]
    while pending:
        symbol = pending.pop()
        if symbol in functions or symbol not in by_symbol:
            continue
        member, unit = by_symbol[symbol]
        if unit.dynamic or unit.indirect:
            raise TinyconvError(f"stack bound: libgcc's {symbol} ({member}) has no static "
                                f"stack bound")
        functions[symbol] = Function(symbol, unit.frame, unit.calls, "libgcc")
        pending.extend(unit.calls)


def _libgcc_aliases(libgcc_path_units: dict[str, _AsmUnit], nm_text: str) -> dict[str, _AsmUnit]:
    """objdump labels one symbol per address; nm names every global of each member."""
    members: dict[str, list[str]] = {}
    for line in nm_text.splitlines():
        match = re.match(r"^\S*:(\S+\.o):[0-9a-f]+ [TW] (\S+)$", line)
        if match:
            members.setdefault(match.group(1), []).append(match.group(2))
    units = {}
    for member, unit in libgcc_path_units.items():
        extra = tuple(s for s in members.get(member.rsplit("/", 1)[-1], []) if s not in unit.defines)
        defines = unit.defines + extra
        units[member] = _AsmUnit(unit.frame, tuple(c for c in unit.calls if c not in defines),
                                 defines, unit.indirect, unit.dynamic)
    return units


_lock = threading.Lock()


def _compute_table(board: Board, kernels: str, config: dict[str, str]) -> StackTable:
    from . import firmware
    cc = config.get("CC", "arm-none-eabi-gcc")
    libgcc_path = _run([cc, *config.get("CPU_FLAGS", "").split(), "-print-libgcc-file-name"],
                       "finding libgcc").strip()
    libgcc = _libgcc_aliases(
        _asm_units(_run([_tool("arm-none-eabi-objdump"), "-dr", libgcc_path], "objdump libgcc")),
        _run([_tool("arm-none-eabi-nm"), "-A", "--defined-only", libgcc_path], "nm libgcc"))
    libgcc_symbols = {s for unit in libgcc.values() for s in unit.defines}
    with tempfile.TemporaryDirectory(prefix="tinyconv-stack-") as tmp:
        work = Path(tmp)
        _write_probe_model(work / "model", board, kernels)
        built = firmware.build(work / "model", board, work / "build", kernels=kernels,
                               stack_bytes=DEFAULT_STACK_BYTES, extra_cflags=CALLGRAPH_FLAG)
        functions = read_objects(work / "build", libgcc_symbols)
        if built.kernel_dir != work / "build":  # the kernels came from the object cache
            functions.update(read_objects(built.kernel_dir, libgcc_symbols))
    _add_libgcc(functions, libgcc)
    table = StackTable(board.name, kernels, functions)
    for entry in (RESET_HANDLER, FAULT_HANDLER, INVOKE):
        if entry not in functions:
            raise TinyconvError(f"stack bound for {board.name}: the firmware has no {entry}")
    table.depth(RESET_HANDLER)  # fails now, loudly, on a cycle or an unknown callee
    table.depth(FAULT_HANDLER)
    return table


def read_objects(build_dir: Path, libgcc_symbols: set[str]) -> dict[str, Function]:
    """Functions of every object under build_dir: from its .ci file, or for assembly from
    its disassembly; each C function also calls the libgcc helpers and implicit C library
    functions its object references (the compiler calls those outside the call graph)."""
    nm, objdump = _tool("arm-none-eabi-nm"), _tool("arm-none-eabi-objdump")
    functions: dict[str, Function] = {}
    for obj in sorted(build_dir.rglob("*.o")):
        ci = obj.parent / (obj.name[:-2] + ".ci")
        if ci.is_file():
            undefined = _run([nm, "-u", str(obj)], "nm").split()
            implicit = tuple(s for s in undefined if s in IMPLICIT_LIBC or s in libgcc_symbols)
            for fn in parse_ci(ci.read_text()).values():
                extra = tuple(s for s in implicit if s not in fn.callees and s != fn.name)
                functions[fn.name] = Function(fn.name, fn.frame, fn.callees + extra, fn.origin)
        else:
            for unit in _asm_units(_run([objdump, "-dr", str(obj)], "objdump")).values():
                if unit.dynamic or unit.indirect:
                    raise TinyconvError(f"stack bound: {obj.name} moves sp by a register or "
                                        f"calls through one: no static bound")
                for symbol in unit.defines:
                    functions[symbol] = Function(symbol, unit.frame, unit.calls, "asm")
    return functions


@functools.lru_cache(maxsize=None)
def firmware_table(board: Board, kernels: str = "opt") -> StackTable:
    """Every firmware function's frame and callees for `board` (the probe model's
    tc_model_invoke included), computed once per firmware version and cached on disk."""
    config = _make_config(board, kernels)
    digest = _firmware_digest(board, kernels, config)
    path = cache_root() / "stack" / f"{board.name}-{kernels}-{digest}.json"
    with _lock:
        if path.is_file():
            return StackTable.from_json(path.read_text())
        table = _compute_table(board, kernels, config)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=path.parent, prefix=".stack-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            f.write(table.to_json())
        os.replace(partial, path)
    return table


# --- a model's bound -------------------------------------------------------------------------
def invoke_frame_estimate(source) -> int:
    """An upper bound of the generated tc_model_invoke's frame, from its steps: the saved
    registers, the largest outgoing argument area (arguments past the fourth, 4 bytes
    each) and every local array the steps' prologues declare (all live at once: GCC shares
    no slots across one scope), rounded up to 8. tests/pipeline/test_stack_bound.py checks it
    against the compiled frame."""
    calls = [c.args for s in source.steps for c in (s.loop.calls if s.loop else [s])]
    outgoing = max((4 * max(0, len(args) - 4) for args in calls), default=0)
    # A streamed run's loop (tinyconv/stream.py): per call its row dims (16 bytes each) and
    # padded parameters (at most 44 bytes), the calls' blocks all counted, and the loop's
    # own pointers and counters.
    arrays = sum(STREAM_LOOP_BYTES + sum(16 * (len(c.inputs) + 1) + (44 if c.padded else 0)
                                         for c in s.loop.calls)
                 for s in source.steps if s.loop)
    for step in source.steps:
        for line in step.prologue:
            if line.lstrip().startswith("static "):
                continue
            match = re.search(r"\[\]\s*=\s*\{(.*)\}", line)
            if match:
                arrays += 4 * (match.group(1).count(",") + 1)
            elif "[" in line:
                raise TinyconvError(f"stack estimate: cannot size the local array in {line!r}")
    return _align8(INVOKE_SAVED_BYTES + outgoing + arrays)


def _align8(n: int) -> int:
    return (n + 7) // 8 * 8


def bound_from_table(table: StackTable, *, exact: bool) -> StackBound:
    """The bound of a table that holds the model's own tc_model_invoke."""
    program, path = table.worst_path(RESET_HANDLER)
    fault = EXCEPTION_FRAME_BYTES + table.depth(FAULT_HANDLER)
    total = program + fault
    margin = -(-total * STACK_MARGIN_PERCENT // 100)
    invoke = table.functions[INVOKE]
    kernel, kernel_bytes = "-", 0
    for callee in invoke.callees:
        depth = table.depth(callee)
        if depth > kernel_bytes:
            kernel, kernel_bytes = _short(callee), depth
    above = _depth_to(table, RESET_HANDLER, INVOKE)
    return StackBound(reserved=_align8(total + margin), total=total, program=program,
                      fault=fault, margin=margin, invoke_frame=invoke.frame, kernel=kernel,
                      kernel_bytes=kernel_bytes, above_invoke=above, exact=exact,
                      path=tuple(_short(p) for p in path))


def _depth_to(table: StackTable, start: str, target: str) -> int:
    """The heaviest frames from `start` down to (not including) `target`; 0 if unreached."""
    memo: dict[str, int | None] = {}

    def walk(name: str) -> int | None:
        if name == target:
            return 0
        if name in memo:
            return memo[name]
        memo[name] = None
        fn = table.functions.get(name)
        best = None
        for callee in (fn.callees if fn else ()):
            d = walk(callee)
            if d is not None and (best is None or d > best):
                best = d
        memo[name] = None if best is None else best + fn.frame
        return memo[name]
    return walk(start) or 0


def model_bound(board: Board, kernels: str, source) -> StackBound:
    """The estimated bound of a generated model (no compile: the search's cost)."""
    table = firmware_table(board, kernels)
    kernel_calls = tuple(f for s in source.steps for f in s.functions)
    return bound_from_table(table.with_model(invoke_frame_estimate(source), kernel_calls),
                            exact=False)


def build_bound(board: Board, kernels: str, build_dir: Path) -> StackBound:
    """The exact bound of a firmware built with CALLGRAPH_FLAG in `build_dir`: its own
    model.c and app objects replace the probe's in the cached table."""
    table = firmware_table(board, kernels)
    libgcc = {n for n, f in table.functions.items() if f.origin == "libgcc"}
    ours = read_objects(Path(build_dir), libgcc)
    if INVOKE not in ours:
        raise TinyconvError(f"{build_dir} holds no {CALLGRAPH_FLAG} output of model.c")
    functions = dict(table.functions)
    functions.update(ours)
    return bound_from_table(StackTable(board.name, kernels, functions), exact=True)


def compile_bound(board: Board, kernels: str, model_dir: Path) -> StackBound:
    """The exact bound of the model in `model_dir`: compiles its model.c and the app (the
    files that include model.h) with the firmware's flags and CALLGRAPH_FLAG."""
    model_dir = Path(model_dir).resolve()
    with tempfile.TemporaryDirectory(prefix="tinyconv-stack-") as tmp:
        build_dir = Path(tmp)
        goals = [str(build_dir / "model" / "model.c.o"),
                 *(str(build_dir / "fw" / "app" / (p.name + ".o"))
                   for p in sorted((FIRMWARE_DIR / "app").glob("*.c")))]
        env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS")}
        result = subprocess.run(
            ["make", "-C", str(FIRMWARE_DIR), f"TARGET={board.name}", f"KERNELS={kernels}",
             f"MODEL_DIR={model_dir}", f"BUILD_DIR={build_dir}",
             f"STACK_SIZE={DEFAULT_STACK_BYTES}", f"EXTRA_CFLAGS={CALLGRAPH_FLAG}", *goals],
            capture_output=True, text=True, env=env)
        if result.returncode != 0:
            lines = (result.stdout + result.stderr).strip().splitlines()
            raise TinyconvError(f"stack bound: compiling {model_dir} failed: "
                                f"{lines[-1] if lines else 'make failed'}")
        return build_bound(board, kernels, build_dir)


def available(board: Board) -> bool:
    """Whether a bound can be computed here: a Cortex-M board and the Arm toolchain."""
    return not board.is_host and all(
        shutil.which(t) for t in ("arm-none-eabi-gcc", "arm-none-eabi-nm",
                                  "arm-none-eabi-objdump", "make"))
