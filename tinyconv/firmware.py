"""Build a model directory into firmware and run it: in QEMU, or natively for the host.

`build` drives firmware/Makefile (the same one an exported project ships), so what the
tests and `verify` run is exactly what a user flashes. `run` feeds inputs through
semihosting files, reads the outputs back, and parses the app's one machine-readable line;
with `count_instructions` it loads the QEMU TCG plugin of firmware/tools/qemu-insn-count
for an exact count of the instructions inside tc_model_invoke.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import FIRMWARE_DIR
from .defaults import DEFAULT_STACK_BYTES
from .errors import TinyconvError
from .files import cache_root
from .targets import Board

ELF_NAME = "tinyconv.elf"
QEMU = "qemu-system-arm"
ARM_NM = "arm-none-eabi-nm"
ARM_CC = "arm-none-eabi-gcc"
PLUGIN_SOURCE = FIRMWARE_DIR / "tools" / "qemu-insn-count" / "insn_count.c"
PLUGIN_HEADER = FIRMWARE_DIR / "tools" / "qemu-insn-count" / "qemu_plugin_v1.h"

_SUMMARY = re.compile(r"^TINYCONV arena=(\d+) stack=(-?\d+) invokes=(\d+) status=(-?\d+)\s*$",
                      re.MULTILINE)
_INSN_REPORT = re.compile(r"insn_count regions=(\d+) instructions=(\d+) raw=(\d+) "
                          r"unbalanced=(\d+)")
_SECTION = re.compile(r"^\s*\[\s*\d+\]\s+(.*)$")


@dataclass
class BuildResult:
    elf: Path
    board: Board
    text_bytes: int          # code and constants (weights), vector table included
    data_bytes: int          # initialised RAM; its initial image also sits in flash
    bss_bytes: int           # zeroed RAM, the arena included
    flash_bytes: int         # text + data: what goes to flash
    static_ram_bytes: int    # data + bss (arena included; the reserved stack is not)
    stack_reserved: int      # STACK_SIZE, the stack region the linker reserved
    arena_bytes: int         # size of the tc_arena symbol (0 if the model has none)
    map_file: Path | None = None
    build_dir: Path | None = None
    # RAM from its origin to the end of the last section in it (stack, data, bss and the
    # alignment gaps between them): what the linker checks against RAM_SIZE.
    ram_used_bytes: int | None = None
    # Where the kernel objects linked in are: build_dir, or the shared kernel object cache.
    kernel_dir: Path | None = None


@dataclass
class RunResult:
    outputs: bytes           # every output tensor of every sample, in order
    stack_bytes: int         # stack high-water mark; 0 on the host (not measured there)
    invokes: int
    instructions_per_inference: int | None  # mean over invokes; None unless counted
    console: str
    instructions_total: int | None = None
    insn_report: str = ""    # the counter's whole report (its profile lines, when asked)


# --- build ------------------------------------------------------------------------------
def _require_tool(tool: str, hint: str) -> None:
    if shutil.which(tool) is None:
        raise TinyconvError(f"{tool} not found: {hint}")


def _key_error_line(output: str) -> str:
    """The line of a failed build that says what went wrong."""
    lines = output.splitlines()
    for pattern in (r"region `\w+' overflowed by \d+ bytes", r"\berror\b:",
                    r"undefined reference", r"\*\*\*"):
        for line in lines:
            if re.search(pattern, line, re.IGNORECASE):
                return line.strip()
    return lines[-1].strip() if lines else "make failed without output"


@dataclass(frozen=True)
class Section:
    name: str
    kind: str      # PROGBITS, NOBITS, ...
    address: int
    size: int
    flags: str     # readelf's: A alloc, W write, X execute


def sections(elf: Path) -> list[Section]:
    """Every section of an ELF, from readelf (which reads any ELF target)."""
    readelf = "arm-none-eabi-readelf" if shutil.which("arm-none-eabi-readelf") else "readelf"
    text = subprocess.run([readelf, "-S", "-W", str(elf)], capture_output=True, text=True,
                          check=True).stdout
    found = []
    for line in text.splitlines():
        match = _SECTION.match(line)
        if not match:
            continue
        fields = match.group(1).split()
        # name type addr off size es [flags] lk inf al
        if len(fields) < 9 or fields[0] == "Name":
            continue
        flags = fields[6] if len(fields) >= 10 else ""
        found.append(Section(fields[0], fields[1], int(fields[2], 16), int(fields[4], 16),
                             flags))
    return found


@dataclass(frozen=True)
class Symbol:
    name: str
    value: int
    size: int | None  # None: nm printed no size
    kind: str         # nm's type letter (t/T: code, d/D/b/B: data, ...)


def symbol_table(elf: Path, nm: str) -> list[Symbol]:
    """Every defined symbol of the ELF, as `nm -S --defined-only` lists it."""
    text = subprocess.run([nm, "-S", "--defined-only", str(elf)], capture_output=True,
                          text=True, check=True).stdout
    table = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 4:
            table.append(Symbol(fields[3], int(fields[0], 16), int(fields[1], 16), fields[2]))
        elif len(fields) == 3:
            table.append(Symbol(fields[2], int(fields[0], 16), None, fields[1]))
    return table


def symbols(elf: Path, nm: str) -> dict[str, tuple[int, int | None]]:
    """name -> (value, size or None) of every defined symbol."""
    return {sym.name: (sym.value, sym.size) for sym in symbol_table(elf, nm)}


def _nm_for(board: Board) -> str:
    return "nm" if board.is_host else ARM_NM


def _measure(elf: Path, board: Board, build_dir: Path) -> BuildResult:
    text = data = bss = stack = 0
    ram_end = board.ram_origin
    for section in sections(elf):
        if "A" not in section.flags:
            continue  # debug info, symbol tables: not in the image
        if section.name == ".stack":
            stack += section.size
        elif section.kind == "NOBITS":
            bss += section.size
        elif "W" in section.flags:
            data += section.size
        else:
            text += section.size
        if board.ram_origin <= section.address < board.ram_origin + board.ram_bytes:
            ram_end = max(ram_end, section.address + section.size)
    arena = symbols(elf, _nm_for(board)).get("tc_arena", (0, 0))[1] or 0
    map_file = build_dir / "tinyconv.map"
    return BuildResult(elf=elf, board=board, text_bytes=text, data_bytes=data, bss_bytes=bss,
                       flash_bytes=text + data, static_ram_bytes=data + bss,
                       stack_reserved=stack, arena_bytes=arena,
                       map_file=map_file if map_file.exists() else None, build_dir=build_dir,
                       ram_used_bytes=None if board.is_host else ram_end - board.ram_origin)


# --- the kernel object cache -------------------------------------------------------------
# Every build compiles the same ~100 kernel files with flags that depend only on the board
# and the build options, never on the model: tinyconv compiles them once per kernel sources
# + flags + compiler into files.cache_root() (`make kernel-objs` in a temporary folder,
# renamed into place, so concurrent builds never see a half-built set) and hands the folder
# to later builds as KERNEL_CACHE. TINYCONV_KERNEL_CACHE=0 turns it off.
_KERNEL_KEY_FILES = ("Makefile", "boards/common")


@functools.lru_cache(maxsize=16)
def _compiler_identity(cc: str) -> str:
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout
    except OSError:
        return cc
    first = out.splitlines()[0] if out else ""
    return f"{shutil.which(cc)} {first}"


def _kernel_cache_key(firmware_dir: Path, board: Board, options: list[str]) -> str:
    h = hashlib.sha256()
    h.update(_compiler_identity("gcc" if board.is_host else ARM_CC).encode())
    h.update("\0".join(options).encode())
    roots = [firmware_dir / "kernels", firmware_dir / "boards" / board.name,
             *(firmware_dir / f for f in _KERNEL_KEY_FILES)]
    for root in roots:
        files = sorted(root.rglob("*")) if root.is_dir() else [root]
        for f in files:
            if f.is_file():
                h.update(str(f.relative_to(firmware_dir)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:20]


def _kernel_cache(firmware_dir: Path, board: Board, options: list[str], env: dict) -> Path | None:
    """The folder of compiled kernel objects for these sources and flags (built if missing),
    or None where the cache is off."""
    if os.environ.get("TINYCONV_KERNEL_CACHE", "1") == "0":
        return None
    root = cache_root() / "kernel-objects"
    final = root / _kernel_cache_key(firmware_dir, board, options)
    if not (final / "fw").is_dir():
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=root))
        try:
            result = subprocess.run(["make", "-C", str(firmware_dir), f"-j{os.cpu_count() or 1}",
                                     "kernel-objs", f"BUILD_DIR={tmp}", *options],
                                    capture_output=True, text=True, env=env)
            if result.returncode != 0:
                raise TinyconvError(f"firmware build for {board.name} failed: "
                                    f"{_key_error_line(result.stdout + result.stderr)}")
            try:
                os.rename(tmp, final)
            except OSError:  # another process finished the same set first
                pass
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final / "fw"


def build(model_dir: Path, board: Board, build_dir: Path, *, kernels: str = "opt",
          ram_bytes: int | None = None, flash_bytes: int | None = None,
          stack_bytes: int = DEFAULT_STACK_BYTES, rounding: str = "tflite",
          firmware_dir: Path | None = None, extra_cflags: str = "",
          include_kernels: bool = True) -> BuildResult:
    """Compiles kernels, app, board startup and the model in `model_dir` with
    firmware/Makefile. A compile error or a model over the RAM/flash budget (the linker
    script's region lengths) raises TinyconvError with the compiler's key line.

    `include_kernels=False` leaves the kernel library out (for models that call none, such
    as the firmware's own test models)."""
    if kernels not in ("opt", "ref"):
        raise TinyconvError(f"kernels must be 'opt' or 'ref', not {kernels!r}")
    if rounding not in ("tflite", "single"):
        raise TinyconvError(f"rounding must be 'tflite' or 'single', not {rounding!r}")
    model_dir = Path(model_dir).resolve()
    build_dir = Path(build_dir).resolve()
    firmware_dir = Path(firmware_dir or FIRMWARE_DIR).resolve()
    if not (model_dir / "model.h").is_file():
        raise TinyconvError(f"{model_dir} holds no model.h")
    for path in (model_dir, build_dir, firmware_dir):
        if any(c.isspace() for c in str(path)):
            raise TinyconvError(f"make cannot handle spaces in paths: {str(path)!r}")
    _require_tool("make", "install make (apt-get install make)")
    if board.is_host:
        _require_tool("gcc", "install gcc (apt-get install gcc)")
    else:
        _require_tool(ARM_CC, "install the Arm toolchain (apt-get install gcc-arm-none-eabi "
                              "libnewlib-arm-none-eabi)")
    # What the compiled kernels depend on (the kernel cache's key); the rest is per build.
    compile_options = [f"TARGET={board.name}", f"KERNELS={kernels}", f"ROUNDING={rounding}"]
    if extra_cflags:
        compile_options.append(f"EXTRA_CFLAGS={extra_cflags}")
    command = ["make", "-C", str(firmware_dir), f"-j{os.cpu_count() or 1}", "all",
               *compile_options, f"MODEL_DIR={model_dir}", f"BUILD_DIR={build_dir}",
               f"STACK_SIZE={stack_bytes}"]
    if ram_bytes is not None:
        command.append(f"RAM_SIZE={ram_bytes}")
    if flash_bytes is not None:
        command.append(f"FLASH_SIZE={flash_bytes}")
    # Our variables only: a RAM_SIZE or TARGET in the caller's environment must not leak in.
    env = {k: v for k, v in os.environ.items()
           if k not in ("TARGET", "MODEL_DIR", "BUILD_DIR", "KERNELS", "ROUNDING", "RAM_SIZE",
                        "FLASH_SIZE", "STACK_SIZE", "EXTRA_CFLAGS", "KERNEL_SRCS", "KERNEL_CACHE",
                        "MAKEFLAGS", "MFLAGS")}
    cached = None
    if not include_kernels:
        command.append("KERNEL_SRCS=")
    else:
        cached = _kernel_cache(firmware_dir, board, compile_options, env)
        if cached is not None:
            command.append(f"KERNEL_CACHE={cached}")
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        output = result.stdout + result.stderr
        raise TinyconvError(f"firmware build for {board.name} failed: "
                            f"{_key_error_line(output)}")
    elf = build_dir / ELF_NAME
    if not elf.is_file():
        raise TinyconvError(f"firmware build for {board.name} produced no {elf}")
    result = _measure(elf, board, build_dir)
    result.kernel_dir = cached if include_kernels and cached is not None else build_dir
    return result


# --- instruction-counting plugin ----------------------------------------------------------
def build_insn_plugin() -> Path:
    """Compiles the QEMU instruction-counting plugin once per source version into the
    cache directory (files.cache_root) and returns its path."""
    _require_tool("gcc", "install gcc to build the QEMU plugin")
    source = PLUGIN_SOURCE.read_bytes() + PLUGIN_HEADER.read_bytes()
    digest = hashlib.sha256(source).hexdigest()[:12]
    cache = cache_root()
    cache.mkdir(parents=True, exist_ok=True)
    plugin = cache / f"insn_count-{digest}.so"
    if plugin.is_file():
        return plugin
    # Build under a unique name, then rename: concurrent test workers never see half a file.
    fd, partial = tempfile.mkstemp(prefix=".insn_count-", suffix=".so", dir=cache)
    os.close(fd)
    try:
        result = subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-Wall", "-Wextra",
                                 "-o", partial, str(PLUGIN_SOURCE)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise TinyconvError(f"cannot build the QEMU plugin: "
                                f"{_key_error_line(result.stderr)}")
        os.replace(partial, plugin)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return plugin


def _qemu_option_value(text: str) -> str:
    # QEMU's option syntax escapes a comma inside a value by doubling it.
    return text.replace(",", ",,")


def _plugin_option(build: BuildResult, report: Path,
                   extra: dict[str, str] | None = None) -> str:
    markers = symbols(build.elf, ARM_NM)
    missing = [s for s in ("tc_bench_begin", "tc_bench_end", "tc_bench_overhead_insns")
               if s not in markers]
    if missing:
        raise TinyconvError(f"{build.elf} lacks the benchmark markers {', '.join(missing)}")
    plugin = build_insn_plugin()
    return (f"{_qemu_option_value(str(plugin))},"
            f"begin={markers['tc_bench_begin'][0]:#x},"
            f"end={markers['tc_bench_end'][0]:#x},"
            f"overhead={markers['tc_bench_overhead_insns'][0]},"
            f"out={_qemu_option_value(str(report))}"
            + "".join(f",{k}={_qemu_option_value(v)}" for k, v in (extra or {}).items()))


# --- run --------------------------------------------------------------------------------
def qemu_command(build: BuildResult, args: list[str]) -> list[str]:
    """The QEMU command line that runs `build` with semihosting and these app arguments."""
    semihosting = "enable=on,target=native,chardev=tc"
    if args:
        semihosting += "".join(f",arg={_qemu_option_value(a)}" for a in ["tinyconv", *args])
    return [QEMU, "-M", build.board.qemu_machine or "", "-display", "none", "-serial", "none",
            "-monitor", "none", "-chardev", "stdio,id=tc", "-semihosting-config", semihosting,
            "-kernel", str(build.elf)]


# Exit codes of the app besides the model's own status (firmware/app/tc_platform.h).
_APP_EXITS = {2: "bad arguments or input file", 3: "cannot write the output file",
              4: "the CPU faulted", 5: "stack overflow"}


def _report_lines(console: str) -> str:
    """The part of a failed run's console that explains it."""
    lines = console.strip().splitlines()
    for start, line in enumerate(lines):
        # A sanitizer report: its first line and the top of the stack trace; the shadow
        # memory map that follows says nothing to a reader.
        if "ERROR: AddressSanitizer" in line or "runtime error:" in line:
            return "\n".join(lines[start:start + 10])
    # QEMU follows a fatal error with a register dump: keep the app's lines and the error.
    kept = [line for line in lines
            if not re.match(r"^\s*(R\d\d|[sd]\d\d|XPSR|FPSCR|VPR)", line)]
    return "\n".join(kept[-12:])


def _explain_exit(build: BuildResult, returncode: int, console: str) -> str:
    where = f"{build.board.name} ({build.elf})"
    if build.board.qemu_machine and (returncode in (134, -6) or "qemu: fatal:" in console):
        reason = "QEMU aborted, the CPU locked up (a fault while handling a fault, e.g. a " \
                 "stack overflow)"
    elif returncode < 0:
        reason = f"killed by signal {-returncode}"
    elif returncode in _APP_EXITS and not build.board.is_host:
        reason = f"exit status {returncode}: {_APP_EXITS[returncode]}"
    else:
        reason = f"exit status {returncode}"
    return f"firmware run on {where} failed: {reason}\n{_report_lines(console)}"


def run(build: BuildResult, inputs: bytes, count: int, *, count_instructions: bool = False,
        timeout: float = 300, plugin_args: dict[str, str] | None = None) -> RunResult:
    """Runs `count` samples (each: every input tensor's bytes, in order) through the
    firmware; returns every output tensor's bytes, sample by sample. A non-zero exit, a
    crash or a timeout raises TinyconvError with the tail of the console.
    `plugin_args` adds arguments to the instruction counter's (mark=, funcs=: profile.py)."""
    board = build.board
    if board.is_host:
        if count_instructions:
            raise TinyconvError("instruction counting needs a QEMU board, not the host")
    elif board.qemu_machine is None:
        raise TinyconvError(f"{board.name} is a real board: flash it (make flash) and run it "
                            f"under a debugger with semihosting")
    else:
        _require_tool(QEMU, "install QEMU (apt-get install qemu-system-arm)")

    with tempfile.TemporaryDirectory(prefix="tinyconv-run-") as tmp:
        work = Path(tmp)
        (work / "in.bin").write_bytes(inputs)
        args = ["in.bin", "out.bin", str(count)]
        report = work / "insn_count.txt"
        env = dict(os.environ)
        if board.is_host:
            command = [str(build.elf), *args]
            # No leak checking (the firmware never allocates); abort loudly on any UB.
            env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0"
            env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
        else:
            command = qemu_command(build, args)
            if count_instructions:
                command += ["-plugin", _plugin_option(build, report, plugin_args)]
        try:
            result = subprocess.run(command, cwd=work, stdin=subprocess.DEVNULL,
                                    capture_output=True, text=True, errors="replace",
                                    timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            raise TinyconvError(f"firmware run on {board.name} timed out after {timeout} s "
                                f"({count} samples)") from None
        console = result.stdout + result.stderr
        if result.returncode != 0:
            raise TinyconvError(_explain_exit(build, result.returncode, console))
        summary = _SUMMARY.search(result.stdout)
        if summary is None:
            raise TinyconvError(f"firmware run on {board.name} printed no TINYCONV summary:\n"
                                f"{console[-2000:]}")
        stack, invokes = int(summary.group(2)), int(summary.group(3))
        outputs = (work / "out.bin").read_bytes() if (work / "out.bin").exists() else b""

        per_inference = total = None
        insn_report = ""
        if count_instructions:
            per_inference, total = _read_insn_report(report, invokes)
            insn_report = report.read_text()
    return RunResult(outputs=outputs, stack_bytes=max(stack, 0), invokes=invokes,
                     instructions_per_inference=per_inference, console=console,
                     instructions_total=total, insn_report=insn_report)


def _read_insn_report(report: Path, invokes: int) -> tuple[int | None, int | None]:
    if not report.exists():
        raise TinyconvError("the QEMU instruction counter wrote no report")
    match = _INSN_REPORT.search(report.read_text())
    if match is None:
        raise TinyconvError(f"unreadable instruction-counter report: {report.read_text()!r}")
    regions, net, _raw, unbalanced = (int(g) for g in match.groups())
    if unbalanced or regions != invokes:
        raise TinyconvError(f"instruction counter saw {regions} measured regions "
                            f"({unbalanced} unbalanced markers) for {invokes} invokes")
    if regions == 0:
        return None, 0
    return (net + regions // 2) // regions, net
