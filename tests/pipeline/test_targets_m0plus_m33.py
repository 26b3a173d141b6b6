"""The Cortex-M0+ and Cortex-M33 targets and their boards.

`--target cortex-m0plus` builds for Armv6-M (no DSP, no divide instruction, no unaligned
access) and runs in QEMU on the MPS2 AN385, whose Cortex-M3 executes the same instructions
(start-up makes it trap unaligned accesses as an M0+ does); QEMU's own Armv6-M machine,
`microbit` (board qemu-microbit), has 16 KiB of RAM and runs small models. `--target
cortex-m33` runs on QEMU's MPS2 AN505 with the DSP kernels. The six model families of the
deployment tests (test_models_e2e.py) run bit-exact on both, every intermediate tensor
included; the real boards (Raspberry Pi Pico, NUCLEO-U575ZI-Q) are checked down to their
linked images: the RP2040's boot2 and its CRC, and every section in the board's memory.
"""

from __future__ import annotations

import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from tinyconv import FIRMWARE_DIR, firmware, targets
from tinyconv.errors import TinyconvError
from tinyconv.ir.ops import Isa
from tinyconv.verify import verify

import zoo_models
from test_models_e2e import FAMILIES, check_layers, check_ram_against_elf

PASSTHROUGH = Path(__file__).resolve().parents[1] / "data" / "passthrough_model"
CPUS = ["cortex-m0plus", "cortex-m33"]
# What the toolchain records in each build's attributes (readelf -A): the Armv6-M build
# that qemu-m0plus runs on the AN385's Cortex-M3 is an Armv6-M binary.
ELF_ARCH = {"cortex-m0plus": ["Tag_CPU_arch: v6S-M"],
            "cortex-m33": ["Tag_CPU_arch: v8-M.mainline", "Tag_DSP_extension: Allowed"]}


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinyconv.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=600)


# --- boards -------------------------------------------------------------------------------
def test_targets_map_to_their_qemu_boards_and_real_boards():
    m0 = targets.board_for("cortex-m0plus", None)
    assert (m0.name, m0.isa, m0.qemu_machine) == ("qemu-m0plus", Isa.REF, "mps2-an385")
    assert "Cortex-M3" in m0.runs_on and "Armv6-M" in m0.runs_on
    microbit = targets.board_for("cortex-m0plus", "qemu-microbit")
    assert (microbit.qemu_machine, microbit.ram_bytes, microbit.flash_bytes) == (
        "microbit", 16 << 10, 256 << 10)
    m33 = targets.board_for("cortex-m33", None)
    assert (m33.name, m33.isa, m33.qemu_machine) == ("qemu-m33", Isa.DSP, "mps2-an505")
    assert (m33.flash_origin, m33.ram_origin) == (0x10000000, 0x38000000)  # Secure aliases
    pico = targets.board_for("cortex-m0plus", "rpi-pico")
    assert (pico.isa, pico.real, pico.flash_tool) == (Isa.REF, True, "openocd")
    assert (pico.flash_origin, pico.flash_bytes) == (0x10000000, 2 << 20)
    assert (pico.ram_origin, pico.ram_bytes) == (0x20000000, 264 << 10)
    u5 = targets.board_for("cortex-m33", "nucleo-u575zi-q")
    assert (u5.isa, u5.real, u5.flash_origin, u5.flash_bytes) == (Isa.DSP, True, 0x08000000,
                                                                  2 << 20)
    assert (u5.ram_origin, u5.ram_bytes) == (0x20000000, 768 << 10)
    with pytest.raises(TinyconvError, match="does not match"):
        targets.board_for("cortex-m33", "rpi-pico")
    with pytest.raises(TinyconvError, match="cortex-m0plus.*cortex-m33"):
        targets.board_for("cortex-m23", None)


def test_flash_commands_of_the_real_boards():
    def command(board: str) -> str:
        return subprocess.run(["make", "-s", "-C", str(FIRMWARE_DIR), "flash-command",
                               f"TARGET={board}"], capture_output=True, text=True,
                              check=True).stdout.strip()
    assert command("rpi-pico") == (
        'openocd -f interface/cmsis-dap.cfg -f target/rp2040.cfg -c "adapter speed 5000" '
        '-c "program build/rpi-pico/tinyconv.elf verify reset exit"')
    assert command("nucleo-u575zi-q") == (
        'openocd -f interface/stlink-dap.cfg -f target/stm32u5x.cfg '
        '-c "program build/nucleo-u575zi-q/tinyconv.elf verify reset exit"')


# --- images on the boards' memory ---------------------------------------------------------
def rp2040_boot2_crc(data: bytes) -> int:
    """The RP2040 boot ROM's check of boot2: CRC-32, polynomial 0x04C11DB7, initial value
    0xFFFFFFFF, bits not reflected, no final XOR (RP2040 datasheet 2.8.1.3.1)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    return crc


def test_rp2040_crc_is_the_boot_roms():
    # The standard CRC-32/MPEG-2 check value, and the bit-reflected relation to zlib's CRC-32.
    assert rp2040_boot2_crc(b"123456789") == 0x0376E6E7
    assert rp2040_boot2_crc(b"") == 0xFFFFFFFF
    assert zlib.crc32(b"123456789") != rp2040_boot2_crc(b"123456789")


def _image(elf: Path) -> dict[str, firmware.Section]:
    return {s.name: s for s in firmware.sections(elf) if "A" in s.flags}


@pytest.mark.arm
def test_pico_image_starts_with_a_boot2_the_boot_rom_accepts(tmp_path):
    board = targets.get_board("rpi-pico")
    built = firmware.build(PASSTHROUGH, board, tmp_path / "build", include_kernels=False)
    sections = _image(built.elf)
    assert (sections[".boot2"].address, sections[".boot2"].size) == (0x10000000, 256)
    assert sections[".vectors"].address == 0x10000100  # where boot2 points VTOR and jumps
    image = (tmp_path / "build" / "tinyconv.bin").read_bytes()
    stored = int.from_bytes(image[252:256], "little")
    assert rp2040_boot2_crc(image[:252]) == stored, (
        f"boot2.S: set BOOT2_CRC32 to 0x{rp2040_boot2_crc(image[:252]):08x}")
    # The vector table boot2 enters: initial SP at the top of the stack, a Thumb reset
    # handler in flash; and no instruction outside Armv6-M anywhere in the image.
    sp, reset = (int.from_bytes(image[256 + 4 * i:260 + 4 * i], "little") for i in range(2))
    symbols = firmware.symbols(built.elf, "arm-none-eabi-nm")
    assert sp == symbols["__stack_top"][0] and reset & 1
    assert 0x10000000 < (reset & ~1) < 0x10000000 + board.flash_bytes
    _assert_elf_arch(built.elf, "cortex-m0plus")


@pytest.mark.arm
@pytest.mark.parametrize("board_name", ["nucleo-u575zi-q", "qemu-m33", "qemu-microbit"])
def test_image_lands_in_the_boards_memory(tmp_path, board_name):
    board = targets.get_board(board_name)
    built = firmware.build(PASSTHROUGH, board, tmp_path / "build", include_kernels=False,
                           stack_bytes=2048)
    sections = _image(built.elf)
    assert ".boot2" not in sections
    assert sections[".vectors"].address == board.flash_origin
    for name in (".stack", ".data", ".bss"):
        start, size = sections[name].address, sections[name].size
        assert board.ram_origin <= start and start + size <= board.ram_origin + board.ram_bytes
    assert sections[".stack"].address == board.ram_origin


def _assert_elf_arch(elf: Path, cpu: str) -> None:
    attributes = subprocess.run(["arm-none-eabi-readelf", "-A", str(elf)], capture_output=True,
                                text=True, check=True).stdout
    for tag in ELF_ARCH[cpu]:
        assert tag in attributes, attributes


# --- Armv6-M behaviour in QEMU --------------------------------------------------------------
UNALIGNED_MODEL_H = """\
#ifndef TC_MODEL_H
#define TC_MODEL_H
#include <stddef.h>
#include <stdint.h>
#define TC_MODEL_ARENA_BYTES 32
#define TC_MODEL_NUM_INPUTS 1
#define TC_MODEL_NUM_OUTPUTS 1
int tc_model_invoke(void);
void *tc_model_input(int index);
size_t tc_model_input_bytes(int index);
void *tc_model_output(int index);
size_t tc_model_output_bytes(int index);
#endif
"""

# Input byte 0 is an offset: the model loads the 32-bit word at arena + 8 + offset with one
# LDR (an unaligned access unless the offset is a multiple of 4) and outputs it. Input byte
# 1 set: unbounded recursion instead.
UNALIGNED_MODEL_C = """\
#include "model.h"

uint8_t tc_arena[TC_MODEL_ARENA_BYTES] __attribute__((aligned(16)));

static __attribute__((noinline)) int recurse(volatile int depth)
{
    volatile char frame[64];
    for (int i = 0; i < 64; ++i) {
        frame[i] = (char)depth;
    }
    return depth == 0 ? frame[0] : recurse(depth - 1) + frame[0];
}

int tc_model_invoke(void)
{
    volatile uint8_t *arena = tc_arena;
    if (arena[1] != 0) {
        return recurse(1000000);
    }
    for (int i = 0; i < 16; ++i) {
        arena[8 + i] = (uint8_t)(i + 1);
    }
    volatile uintptr_t address = (uintptr_t)tc_arena + 8u + arena[0];
    const uint32_t word = *(const volatile uint32_t *)address;
    for (int i = 0; i < 4; ++i) {
        arena[4 + i] = (uint8_t)(word >> (8 * i));
    }
    return 0;
}

void *tc_model_input(int index) { (void)index; return tc_arena; }
size_t tc_model_input_bytes(int index) { (void)index; return 4; }
void *tc_model_output(int index) { (void)index; return tc_arena + 4; }
size_t tc_model_output_bytes(int index) { (void)index; return 4; }
"""


@pytest.fixture(scope="module")
def unaligned_builds(tmp_path_factory):
    model = tmp_path_factory.mktemp("unaligned_model")
    (model / "model.h").write_text(UNALIGNED_MODEL_H)
    (model / "model.c").write_text(UNALIGNED_MODEL_C)
    return {name: firmware.build(model, targets.get_board(name),
                                 tmp_path_factory.mktemp(f"build-{name}"),
                                 include_kernels=False, stack_bytes=2048)
            for name in ("qemu-m0plus", "qemu-microbit", "qemu-m3", "qemu-m33")}


@pytest.mark.arm
@pytest.mark.parametrize("board_name", ["qemu-m0plus", "qemu-microbit"])
def test_armv6m_boards_fault_on_an_unaligned_word_access(unaligned_builds, board_name):
    built = unaligned_builds[board_name]
    aligned = firmware.run(built, bytes([4, 0, 0, 0]), 1, timeout=60)
    assert aligned.outputs == bytes([5, 6, 7, 8])
    # HardFault (3): Armv6-M has no UsageFault; on the AN385 the trap escalates to it.
    with pytest.raises(TinyconvError, match=r"(?s)CPU faulted.*exception 0x00000003"):
        firmware.run(built, bytes([1, 0, 0, 0]), 1, timeout=60)


@pytest.mark.arm
@pytest.mark.parametrize("board_name,message", [
    # The AN385 ignores accesses below RAM: the exhausted stack paint gives it away.
    ("qemu-m0plus", r"stack overflow(?s:.*)all 2048 reserved stack bytes were used"),
    # Nothing is mapped below the micro:bit's RAM: the fault cannot be stacked, lockup.
    ("qemu-microbit", r"locked up"),
    # Armv8-M's stack limit register (MSPLIM) faults at once: lockup as well.
    ("qemu-m33", r"locked up"),
])
def test_stack_overflow_fails_the_run(unaligned_builds, board_name, message):
    with pytest.raises(TinyconvError, match=message):
        firmware.run(unaligned_builds[board_name], bytes([0, 1, 0, 0]), 1, timeout=60)


@pytest.mark.arm
def test_armv7m_build_on_the_same_machine_reads_unaligned_words(unaligned_builds):
    # The same model built for Cortex-M3 on the same QEMU machine: the trap is the M0+
    # build's start-up, not the machine.
    assert firmware.run(unaligned_builds["qemu-m3"], bytes([1, 0, 0, 0]), 1,
                        timeout=60).outputs == bytes([2, 3, 4, 5])


# --- the six deployment families, bit-exact on both targets --------------------------------
# CI runs every family once, on one of the two CPUs (each CPU gets three, every op kind of
# the six on at least one); the slow suite runs the other six pairs.
CI_PAIRS = {("resnet8", "cortex-m0plus"), ("dscnn", "cortex-m0plus"),
            ("mobilenetv3_small", "cortex-m0plus"), ("mobilenetv2", "cortex-m33"),
            ("squeezenet", "cortex-m33"), ("shufflenet", "cortex-m33")}


def _family_params() -> list:
    return [pytest.param(family, cpu, id=f"{family}-{cpu}",
                         marks=[] if (family, cpu) in CI_PAIRS else [pytest.mark.slow])
            for family in FAMILIES for cpu in CPUS]


@pytest.mark.arm
@pytest.mark.parametrize("family,cpu", _family_params())
def test_deployment_family_is_bit_exact_on_m0plus_and_m33(family, cpu, tmp_path):
    board = targets.board_for(cpu, None)
    report = verify(zoo_models.converted(family), board, source=family, n=3, seed=11,
                    layers=True, layer_samples=1, work_dir=tmp_path)
    assert report.outputs_compared > 0
    assert report.mismatched_bytes == 0, report.mismatches
    check_layers(report)
    elf = tmp_path / "build" / "tinyconv.elf"
    check_ram_against_elf(report, elf, board)
    assert report.instructions_per_inference and report.instructions_per_inference > 0
    # The stack reserved is the compiler's bound for this build (libgcc's Armv6-M division
    # and multiplication helpers included), and the measured stack stayed within it.
    assert report.stack_bound_bytes is not None
    assert report.stack_bytes <= report.stack_bound_bytes <= report.stack_reserved_bytes
    _assert_elf_arch(elf, cpu)


# --- the micro:bit: real Armv6-M silicon's model, 16 KiB of RAM ----------------------------
@pytest.mark.arm
def test_microbit_runs_a_small_model_bit_exact(tmp_path):
    board = targets.get_board("qemu-microbit")
    report = verify(zoo_models.converted_family("lenet5"), board, source="lenet5", n=2,
                    seed=3, layers=True, layer_samples=1, work_dir=tmp_path)
    assert report.mismatched_bytes == 0 and report.outputs_compared > 0, report.mismatches
    check_layers(report)
    check_ram_against_elf(report, tmp_path / "build" / "tinyconv.elf", board)
    assert report.ram_bytes <= 16 * 1024


@pytest.mark.arm
def test_microbit_refuses_a_model_over_its_ram_with_one_budget_line(tmp_path):
    model = tmp_path / "dscnn.tflite"
    model.write_bytes(zoo_models.converted("dscnn"))
    out = tmp_path / "out"
    result = _cli("export", model, "--target", "cortex-m0plus", "--board", "qemu-microbit",
                  "-o", out)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("tinyconv: error: ")
    assert "SRAM" in lines[0] and "over the 16384 B (16.0 KiB) budget" in lines[0], lines[0]
    assert not out.exists()
    # The same model fits the default Cortex-M0+ board.
    result = _cli("export", model, "--target", "cortex-m0plus", "-o", out)
    assert result.returncode == 0, result.stderr
    assert "TARGET ?= qemu-m0plus" in (out / "config.mk").read_text()
