"""Six int8 models of different families, converted by the TFLite converter, run in QEMU on
Cortex-M3/M4/M7/M55 bit-exact with LiteRT's reference kernels, every intermediate tensor
included (verify --layers), within TFLM's arena; their RAM read back from the linked ELF."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tinyconv import targets, tflm
from tinyconv.verify import VerifyReport, verify

import zoo_models

pytestmark = pytest.mark.arm

FAMILIES = ["mobilenetv2", "resnet8", "dscnn", "mobilenetv3_small", "squeezenet", "shufflenet"]
CPUS = ["cortex-m4", "cortex-m7", "cortex-m55"]
M3_FAMILIES = ["resnet8", "dscnn"]

_tflm_arena: dict[str, int] = {}


def _tflm_head(family: str) -> int:
    if family not in _tflm_arena:
        _tflm_arena[family] = tflm.tflm_arena(zoo_models.converted(family)).head_bytes
    return _tflm_arena[family]


def elf_sections(elf: Path) -> dict[str, tuple[int, int]]:
    """Section name -> (size, address), as the toolchain's `size -A` reads the ELF."""
    text = subprocess.run(["arm-none-eabi-size", "-A", str(elf)], capture_output=True,
                          text=True, check=True).stdout
    found = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[0].startswith(".") and fields[1].isdigit():
            found[fields[0]] = (int(fields[1]), int(fields[2]))
    return found


def elf_symbol_size(elf: Path, name: str) -> int:
    """The size of symbol `name`, as the toolchain's `nm -S` reads the ELF."""
    text = subprocess.run(["arm-none-eabi-nm", "-S", "--defined-only", str(elf)],
                          capture_output=True, text=True, check=True).stdout
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 4 and fields[3] == name:
            return int(fields[1], 16)
    raise AssertionError(f"{elf} defines no sized symbol {name}")


def check_ram_against_elf(report: VerifyReport, elf: Path, board: targets.Board) -> None:
    """The report's memory against what the linked ELF holds, read with the toolchain's own
    tools: the arena symbol is the planner's arena; .data + .bss (every RAM section but the
    stack) plus the stack the firmware measured is the report's RAM."""
    sections = elf_sections(elf)
    assert elf_symbol_size(elf, "tc_arena") == report.arena_bytes
    in_ram = {name: size for name, (size, address) in sections.items()
              if board.ram_origin <= address < board.ram_origin + board.ram_bytes}
    stack = in_ram.pop(".stack")
    assert set(in_ram) <= {".data", ".bss"}, in_ram
    static = sum(in_ram.values())
    assert report.arena_bytes <= in_ram[".bss"]
    assert stack == report.stack_reserved_bytes
    assert 0 < report.stack_bytes < stack
    assert report.ram_bytes == static + report.stack_bytes
    # What deploy budgeted holds: arena + runtime allowance + reserved stack.
    assert report.ram_bytes <= report.planned_ram_bytes


def check_layers(report: VerifyReport) -> None:
    """Every op's output was compared with LiteRT's, and all are equal."""
    assert report.layers and report.first_mismatched_layer is None, report.first_mismatched_layer
    assert not [r for r in report.layers if r.skipped or r.bytes_compared == 0]
    assert report.reference_tensors_not_compared == []
    assert report.layers[-1].bytes_compared > 0 and report.layer_samples > 0


def _check(family: str, cpu: str, work: Path) -> None:
    board = targets.board_for(cpu, None)
    # Every intermediate tensor of the first 5 samples (a second build, dumping each op's
    # output), the outputs of all 20 and the instructions of the normal build.
    report = verify(zoo_models.converted(family), board, source=family, n=20, seed=7,
                    layers=True, layer_samples=5, work_dir=work)
    assert report.outputs_compared > 0
    assert report.mismatched_bytes == 0, report.mismatches
    check_layers(report)
    check_ram_against_elf(report, work / "build" / "tinyconv.elf", board)
    assert report.instructions_per_inference and report.instructions_per_inference > 0
    assert report.arena_bytes <= _tflm_head(family), (report.arena_bytes, _tflm_head(family))


@pytest.mark.parametrize("cpu", CPUS)
@pytest.mark.parametrize("family", FAMILIES)
def test_zoo_model_is_bit_exact_in_qemu(family, cpu, tmp_path):
    _check(family, cpu, tmp_path)


@pytest.mark.parametrize("family", M3_FAMILIES)
def test_zoo_model_is_bit_exact_on_cortex_m3(family, tmp_path):
    _check(family, "cortex-m3", tmp_path)
