"""The firmware infrastructure, end to end with the real toolchain and QEMU (no mocks):
board files, the Makefile, startup and app on every emulated CPU and the host, the stack
high-water mark, the instruction counter, the RAM budget at link time, and the real boards'
memory maps.

Models here are hand-written stand-ins for generated ones (tests/data/passthrough_model,
and a loop of known length written below), so these tests need no codegen.
"""

from __future__ import annotations

import os
import random
import subprocess
import zlib
from pathlib import Path

import pytest

from tinyconv import FIRMWARE_DIR, firmware, targets
from tinyconv.defaults import DEFAULT_STACK_BYTES, RUNTIME_RAM_BYTES
from tinyconv.errors import TinyconvError
from tinyconv.ir.ops import Isa

PASSTHROUGH = Path(__file__).resolve().parents[1] / "data" / "passthrough_model"
IN0_BYTES, IN1_BYTES = 300, 20
EMULATED = ["qemu-m3", "qemu-m4", "qemu-m7", "qemu-m55", "host"]
REAL = ["stm32f746-disco", "nucleo-h743zi", "nrf52840-dk"]


def passthrough_expected(inputs: bytes, count: int) -> bytes:
    """What the passthrough model computes: out0 = in0 ^ 0x55, out1 = in1 + 1 (mod 256)."""
    out = bytearray()
    sample = IN0_BYTES + IN1_BYTES
    for s in range(count):
        in0 = inputs[s * sample:s * sample + IN0_BYTES]
        in1 = inputs[s * sample + IN0_BYTES:(s + 1) * sample]
        out += bytes(b ^ 0x55 for b in in0) + bytes((b + 1) & 0xFF for b in in1)
    return bytes(out)


@pytest.fixture(scope="module")
def passthrough_builds(tmp_path_factory):
    """One full build (kernels included) per emulated board, shared by the tests below."""
    cache: dict[str, firmware.BuildResult] = {}

    def get(board_name: str) -> firmware.BuildResult:
        if board_name not in cache:
            build_dir = tmp_path_factory.mktemp(f"build-{board_name}")
            cache[board_name] = firmware.build(PASSTHROUGH, targets.get_board(board_name),
                                               build_dir)
        return cache[board_name]

    return get


# --- boards -----------------------------------------------------------------------------
def test_boards_come_from_the_board_files():
    names = {b.name for b in targets.boards()}
    assert set(EMULATED + REAL) <= names
    m7 = targets.get_board("qemu-m7")
    assert (m7.cpu, m7.isa, m7.qemu_machine, m7.real) == ("cortex-m7", Isa.DSP, "mps2-an500",
                                                          False)
    assert targets.get_board("qemu-m3").isa is Isa.REF
    assert targets.get_board("qemu-m55").isa is Isa.MVE
    assert targets.get_board("host").isa is Isa.REF
    f746 = targets.get_board("stm32f746-disco")
    assert f746.real and f746.qemu_machine is None and f746.flash_tool == "openocd"
    assert (f746.flash_origin, f746.flash_bytes) == (0x08000000, 1024 * 1024)
    assert (f746.ram_origin, f746.ram_bytes) == (0x20000000, 320 * 1024)
    h7 = targets.get_board("nucleo-h743zi")
    assert (h7.flash_bytes, h7.ram_origin, h7.ram_bytes) == (2 << 20, 0x24000000, 512 << 10)
    nrf = targets.get_board("nrf52840-dk")
    assert (nrf.cpu, nrf.flash_origin, nrf.ram_bytes, nrf.flash_tool) == (
        "cortex-m4", 0, 256 << 10, "pyocd")


def test_board_for_maps_cpus_to_qemu_boards_and_checks_agreement():
    assert targets.board_for("cortex-m7", None).name == "qemu-m7"
    assert targets.board_for("cortex-m55", None).name == "qemu-m55"
    assert targets.board_for("cortex-m3", None).name == "qemu-m3"
    assert targets.board_for("host", None).name == "host"
    assert targets.board_for(None, None).name == "qemu-m7"
    assert targets.board_for(None, "stm32f746-disco").name == "stm32f746-disco"
    assert targets.board_for("cortex-m7", "stm32f746-disco").name == "stm32f746-disco"
    assert targets.board_for("cortex-m4", "nrf52840-dk").name == "nrf52840-dk"
    with pytest.raises(TinyconvError, match="does not match"):
        targets.board_for("cortex-m4", "stm32f746-disco")
    with pytest.raises(TinyconvError, match="qemu-m7"):
        targets.get_board("stm32f4-nope")
    with pytest.raises(TinyconvError, match="cortex-m55"):
        targets.board_for("cortex-a53", None)


# --- the passthrough model on every emulated CPU and the host ---------------------------
@pytest.mark.arm
@pytest.mark.parametrize("board_name", EMULATED)
def test_passthrough_model_runs_bit_correct(passthrough_builds, board_name):
    built = passthrough_builds(board_name)
    assert built.arena_bytes == 1040
    count = 3
    rng = random.Random(board_name)
    inputs = bytes(rng.randrange(256) for _ in range(count * (IN0_BYTES + IN1_BYTES)))
    result = firmware.run(built, inputs, count)
    assert result.invokes == count
    assert result.outputs == passthrough_expected(inputs, count)
    if board_name != "host":
        # Painted at reset, scanned after the run: used, and within the reserved 8 KiB.
        assert built.stack_reserved == DEFAULT_STACK_BYTES
        assert 0 < result.stack_bytes < built.stack_reserved
        # The arena is in .bss; what the runtime adds stays within the planner's allowance.
        assert built.arena_bytes <= built.static_ram_bytes
        assert built.static_ram_bytes - built.arena_bytes <= RUNTIME_RAM_BYTES
        assert built.flash_bytes == built.text_bytes + built.data_bytes
        assert built.static_ram_bytes == built.data_bytes + built.bss_bytes


@pytest.mark.arm
@pytest.mark.parametrize("board_name", ["qemu-m4", "host"])
def test_app_without_arguments_runs_one_invoke_on_zero_input(passthrough_builds, board_name):
    built = passthrough_builds(board_name)
    if board_name == "host":
        command = [str(built.elf)]
    else:
        command = firmware.qemu_command(built, [])
    result = subprocess.run(command, capture_output=True, text=True, timeout=60,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    # Zero input: output 0 is all 0x55, output 1 all ones; crc32 as Python's zlib computes.
    assert f"crc32 0x{zlib.crc32(bytes([0x55] * IN0_BYTES)):08x}" in result.stdout
    assert f"crc32 0x{zlib.crc32(bytes([1] * IN1_BYTES)):08x}" in result.stdout
    assert "TINYCONV arena=1040 " in result.stdout and "invokes=1 status=0" in result.stdout


@pytest.mark.arm
def test_short_input_fails_with_the_app_error(passthrough_builds):
    built = passthrough_builds("qemu-m7")
    with pytest.raises(TinyconvError, match="fewer than 2 samples"):
        firmware.run(built, bytes(IN0_BYTES + IN1_BYTES), 2)


@pytest.mark.arm
def test_passthrough_instruction_count_is_repeatable(passthrough_builds):
    built = passthrough_builds("qemu-m7")
    inputs = bytes(range(256)) * 5
    first = firmware.run(built, inputs, 4, count_instructions=True)
    second = firmware.run(built, inputs, 4, count_instructions=True)
    assert first.instructions_per_inference and first.instructions_per_inference > 100
    assert first.instructions_total == second.instructions_total
    assert first.instructions_total == 4 * first.instructions_per_inference


# --- the instruction counter on a loop of known length ----------------------------------
LOOP_MODEL_H = """\
#include <stddef.h>
#include <stdint.h>
#define TC_MODEL_ARENA_BYTES 16
#define TC_MODEL_NUM_INPUTS 1
#define TC_MODEL_NUM_OUTPUTS 1
int tc_model_invoke(void);
void *tc_model_input(int index);
size_t tc_model_input_bytes(int index);
void *tc_model_output(int index);
size_t tc_model_output_bytes(int index);
"""

LOOP_MODEL_C = """\
#include "model.h"

uint8_t tc_arena[TC_MODEL_ARENA_BYTES] __attribute__((aligned(16)));

/* Counts down from the uint32 in the arena's first word: movw, movt, ldr, then N times
 * subs + bne, then movs, bx: exactly 2N + 5 instructions. */
__attribute__((naked)) int tc_model_invoke(void)
{
    __asm__ volatile(
        "movw r1, #:lower16:tc_arena\\n\\t"
        "movt r1, #:upper16:tc_arena\\n\\t"
        "ldr r0, [r1]\\n\\t"
        "1: subs r0, r0, #1\\n\\t"
        "bne 1b\\n\\t"
        "movs r0, #0\\n\\t"
        "bx lr\\n\\t");
}

void *tc_model_input(int index) { (void)index; return tc_arena; }
size_t tc_model_input_bytes(int index) { (void)index; return 4; }
void *tc_model_output(int index) { (void)index; return tc_arena + 4; }
size_t tc_model_output_bytes(int index) { (void)index; return 4; }
"""


def write_loop_model(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "model.h").write_text(LOOP_MODEL_H)
    (directory / "model.c").write_text(LOOP_MODEL_C)
    return directory


@pytest.mark.arm
@pytest.mark.parametrize("board_name", ["qemu-m3", "qemu-m55"])
def test_instruction_counter_is_exact_on_a_known_loop(tmp_path, board_name):
    model = write_loop_model(tmp_path / "loop_model")
    built = firmware.build(model, targets.get_board(board_name), tmp_path / "build",
                           include_kernels=False)
    iterations = [1000, 1, 54321, 7]
    inputs = b"".join(n.to_bytes(4, "little") for n in iterations)
    expected = sum(2 * n + 5 for n in iterations)
    runs = [firmware.run(built, inputs, len(iterations), count_instructions=True)
            for _ in range(2)]
    for result in runs:
        assert result.invokes == len(iterations)
        assert result.instructions_total == expected
        assert result.instructions_per_inference == round(expected / len(iterations))
    # One sample alone: exactly its own count, nothing of the harness.
    single = firmware.run(built, (123).to_bytes(4, "little"), 1, count_instructions=True)
    assert single.instructions_per_inference == 2 * 123 + 5


# --- faults, stack overflow and sanitizers end a run with a clear error ------------------
FAULT_MODEL_C = """\
#include "model.h"

uint8_t tc_arena[TC_MODEL_ARENA_BYTES] __attribute__((aligned(16)));

/* Every byte of each frame written, so that no painted word survives between frames. */
static __attribute__((noinline)) int recurse(volatile int depth)
{
    volatile char frame[64];
    for (int i = 0; i < 64; ++i) {
        frame[i] = (char)depth;
    }
    return depth == 0 ? frame[0] : recurse(depth - 1) + frame[0];
}

/* The first input byte picks a failure: 1 an undefined instruction, 2 unbounded stack
 * growth, 3 a write one byte past the arena (through an integer, so that only
 * AddressSanitizer can see it), 4 signed overflow (UBSan); anything else returns it as
 * the status. */
int tc_model_invoke(void)
{
    volatile uint8_t *arena = tc_arena;
    switch (arena[0]) {
#if defined(__arm__)
    case 1: __asm__ volatile("udf #7"); break;
#endif
    case 2: return recurse(1000000);
    case 3: {
        volatile uintptr_t address = (uintptr_t)tc_arena;
        ((volatile uint8_t *)address)[TC_MODEL_ARENA_BYTES + arena[1]] = 1;
        return 0;
    }
    case 4: {
        volatile int32_t largest = INT32_MAX;
        return largest + 1 + arena[1];
    }
    default: break;
    }
    return arena[0];
}

void *tc_model_input(int index) { (void)index; return tc_arena; }
size_t tc_model_input_bytes(int index) { (void)index; return 4; }
void *tc_model_output(int index) { (void)index; return tc_arena + 4; }
size_t tc_model_output_bytes(int index) { (void)index; return 4; }
"""


@pytest.fixture(scope="module")
def fault_builds(tmp_path_factory):
    model = tmp_path_factory.mktemp("fault_model")
    (model / "model.h").write_text(LOOP_MODEL_H)
    (model / "model.c").write_text(FAULT_MODEL_C)
    cache: dict[str, firmware.BuildResult] = {}

    def get(board_name: str) -> firmware.BuildResult:
        if board_name not in cache:
            cache[board_name] = firmware.build(model, targets.get_board(board_name),
                                               tmp_path_factory.mktemp("build"),
                                               include_kernels=False)
        return cache[board_name]

    return get


@pytest.mark.arm
@pytest.mark.parametrize("board_name", ["qemu-m3", "qemu-m55"])
def test_a_fault_is_reported_and_fails_the_run(fault_builds, board_name):
    with pytest.raises(TinyconvError, match=r"(?s)CPU faulted.*exception 0x00000003.*"
                                            r"cfsr=0x00010000"):  # UNDEFINSTR, escalated
        firmware.run(fault_builds(board_name), bytes([1, 0, 0, 0]), 1, timeout=60)


@pytest.mark.arm
def test_model_status_is_the_exit_code(fault_builds):
    with pytest.raises(TinyconvError, match=r"exit status 9(?s:.*)status=9"):
        firmware.run(fault_builds("qemu-m7"), bytes([9, 0, 0, 0]), 1, timeout=60)


@pytest.mark.arm
@pytest.mark.parametrize("board_name,message", [
    # QEMU's MPS2 boards ignore accesses below RAM: the exhausted paint gives it away.
    ("qemu-m3", rf"stack overflow(?s:.*)all {DEFAULT_STACK_BYTES} reserved stack bytes were used"),
    # Armv8-M's stack limit register faults at once; the fault cannot be stacked: lockup.
    ("qemu-m55", r"locked up"),
])
def test_stack_overflow_fails_the_run(fault_builds, board_name, message):
    with pytest.raises(TinyconvError, match=message):
        firmware.run(fault_builds(board_name), bytes([2, 0, 0, 0]), 1, timeout=60)


def test_host_build_runs_under_address_sanitizer(fault_builds):
    built = fault_builds("host")
    assert firmware.run(built, bytes([0, 0, 0, 0]), 1).invokes == 1
    with pytest.raises(TinyconvError, match="AddressSanitizer: global-buffer-overflow"):
        firmware.run(built, bytes([3, 0, 0, 0]), 1, timeout=60)
    with pytest.raises(TinyconvError, match="runtime error: signed integer overflow"):
        firmware.run(built, bytes([4, 0, 0, 0]), 1, timeout=60)


# --- the RAM budget is enforced at link time -------------------------------------------
@pytest.mark.arm
def test_ram_and_flash_budgets_are_enforced_by_the_linker(tmp_path):
    board = targets.get_board("qemu-m7")
    fits = firmware.build(PASSTHROUGH, board, tmp_path / "build", include_kernels=False)
    needed = fits.ram_used_bytes
    assert needed >= fits.stack_reserved + fits.static_ram_bytes
    exact = firmware.build(PASSTHROUGH, board, tmp_path / "build", include_kernels=False,
                           ram_bytes=needed)
    assert exact.ram_used_bytes == needed
    with pytest.raises(TinyconvError, match=r"region `RAM' overflowed by 4 bytes"):
        firmware.build(PASSTHROUGH, board, tmp_path / "build", include_kernels=False,
                       ram_bytes=needed - 4)
    with pytest.raises(TinyconvError, match=r"region `RAM' overflowed"):
        firmware.build(PASSTHROUGH, board, tmp_path / "build", include_kernels=False,
                       ram_bytes=needed, stack_bytes=DEFAULT_STACK_BYTES + 64)
    with pytest.raises(TinyconvError, match=r"region `FLASH' overflowed"):
        firmware.build(PASSTHROUGH, board, tmp_path / "build", include_kernels=False,
                       flash_bytes=fits.flash_bytes - 8)


@pytest.mark.arm
def test_compile_error_is_reported_with_its_line(tmp_path):
    model = tmp_path / "broken"
    model.mkdir()
    (model / "model.h").write_text((PASSTHROUGH / "model.h").read_text())
    (model / "model.c").write_text("int tc_model_invoke(void) { return undefined_thing; }\n")
    with pytest.raises(TinyconvError, match="undefined_thing"):
        firmware.build(model, targets.get_board("qemu-m3"), tmp_path / "build",
                       include_kernels=False)


# --- real boards: flash command and memory map -----------------------------------------
def test_flash_dry_run_prints_the_openocd_command():
    result = subprocess.run(["make", "-s", "-C", str(FIRMWARE_DIR), "flash", "FLASH_DRY_RUN=1",
                             "TARGET=stm32f746-disco"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    command = result.stdout.strip()
    assert command.startswith("openocd -f board/stm32f746g-disco.cfg -c \"program ")
    assert "tinyconv.elf verify reset exit\"" in command
    nrf = subprocess.run(["make", "-s", "-C", str(FIRMWARE_DIR), "flash", "FLASH_DRY_RUN=1",
                          "TARGET=nrf52840-dk"], capture_output=True, text=True)
    assert nrf.stdout.strip().startswith("pyocd flash -t nrf52840 ")
    qemu = subprocess.run(["make", "-s", "-C", str(FIRMWARE_DIR), "flash", "FLASH_DRY_RUN=1",
                           "TARGET=qemu-m7"], capture_output=True, text=True)
    assert qemu.returncode != 0 and "make run" in qemu.stdout


@pytest.mark.arm
@pytest.mark.parametrize("board_name", REAL + ["qemu-m55"])
def test_image_lands_in_the_boards_memory_regions(tmp_path, board_name):
    board = targets.get_board(board_name)
    built = firmware.build(PASSTHROUGH, board, tmp_path / "build", include_kernels=False)
    flash = range(board.flash_origin, board.flash_origin + board.flash_bytes)
    ram = range(board.ram_origin, board.ram_origin + board.ram_bytes)
    vectors_origin = board.vectors_origin if board.vectors_origin is not None \
        else board.flash_origin
    by_name = {s.name: s for s in firmware.sections(built.elf) if "A" in s.flags}
    assert by_name[".vectors"].address == vectors_origin  # where the core fetches SP and PC
    assert by_name[".text"].address in flash
    assert by_name[".text"].address + by_name[".text"].size - 1 in flash
    for name in (".stack", ".data", ".bss"):
        section = by_name[name]
        assert section.address in ram and section.address + section.size - 1 in ram, name
    assert by_name[".stack"].address == board.ram_origin  # overflow runs off RAM: a fault
    symbols = firmware.symbols(built.elf, "arm-none-eabi-nm")
    assert symbols["__data_load"][0] in flash  # .data's initial image is stored in flash
    # The vector table's first two words: initial SP (top of the stack) and the reset
    # handler (a Thumb address in flash).
    hex_words = _vector_words(built.elf)
    assert hex_words[0] == symbols["__stack_top"][0]
    assert hex_words[1] & 1 and (hex_words[1] & ~1) in flash


def _vector_words(elf: Path) -> list[int]:
    dump = subprocess.run(["arm-none-eabi-objdump", "-s", "-j", ".vectors", str(elf)],
                          capture_output=True, text=True, check=True).stdout
    words: list[int] = []
    for line in dump.splitlines():
        parts = line.split()
        if len(parts) >= 3 and all(len(p) == 8 for p in parts[1:3]):
            try:
                words += [int.from_bytes(bytes.fromhex(p), "little") for p in parts[1:5]
                          if len(p) == 8]
            except ValueError:
                continue
    return words


def test_print_config_reports_the_board_and_overrides():
    result = subprocess.run(["make", "-s", "-C", str(FIRMWARE_DIR), "print-config",
                             "TARGET=nucleo-h743zi", "RAM_SIZE=100000", "KERNELS=ref"],
                            capture_output=True, text=True, check=True)
    config = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert config["CPU"] == "cortex-m7" and config["RAM_ORIGIN"] == "0x24000000"
    assert config["RAM_SIZE"] == "100000" and config["ISA"] == "ref"
    assert "-DTC_REFERENCE_KERNELS" in config["CFLAGS"]
    bad = subprocess.run(["make", "-s", "-C", str(FIRMWARE_DIR), "print-config",
                          "TARGET=nope"], capture_output=True, text=True)
    assert bad.returncode != 0 and "qemu-m7" in bad.stderr


@pytest.mark.arm
def test_insn_plugin_is_built_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYCONV_CACHE", str(tmp_path / "cache"))
    plugin = firmware.build_insn_plugin()
    assert plugin.is_file() and plugin.parent == tmp_path / "cache"
    mtime = os.stat(plugin).st_mtime_ns
    assert firmware.build_insn_plugin() == plugin
    assert os.stat(plugin).st_mtime_ns == mtime
