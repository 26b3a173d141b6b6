"""Boards tinyconv builds for, read from the firmware's own board files.

Each `firmware/boards/<name>/board.mk` is the one source of truth for a board (CPU flags,
memory map, QEMU machine, flash tool); this module parses those make assignments so the
Python side (budgets, cost model, runner) can never disagree with what `make` builds.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from . import FIRMWARE_DIR
from .defaults import DEFAULT_BOARD
from .errors import TinyconvError
from .ir.ops import Isa
from .units import parse_bytes

_ASSIGNMENT = re.compile(r"^\s*([A-Z][A-Z0-9_]*)\s*(?::=|\?=|=)\s*(.*?)\s*$")


@dataclass(frozen=True)
class Board:
    name: str
    cpu: str                     # "cortex-m7", or "host"
    isa: Isa                     # kernel family its optimized build compiles
    flash_origin: int
    flash_bytes: int
    ram_origin: int
    ram_bytes: int
    qemu_machine: str | None     # None for real boards and the host
    real: bool                   # a physical board (has a flash tool)
    flash_tool: str | None = None
    # Where the vector table must live when that is not the start of flash (QEMU's
    # Cortex-M55 fetches it from ITCM only).
    vectors_origin: int | None = None
    vectors_bytes: int | None = None
    # Which of several emulated boards of one CPU `--target CPU` selects (TARGET_DEFAULT).
    target_default: bool = False
    # What QEMU really executes where that is not simply `cpu` (QEMU_CPU_NOTE), e.g. the
    # Cortex-M0+ build on the MPS2 AN385's Cortex-M3.
    qemu_note: str | None = None

    @property
    def is_host(self) -> bool:
        return self.cpu == "host"

    @property
    def runs_on(self) -> str:
        """Where this board's firmware runs, in words: `QEMU mps2-an385: the Armv6-M build on
        the AN385's Cortex-M3`, `QEMU mps2-an500`, `the host` or `a real board`."""
        if self.is_host:
            return "the host"
        if self.qemu_machine is None:
            return "a real board"
        return f"QEMU {self.qemu_machine}" + (f": {self.qemu_note}" if self.qemu_note else "")

    @property
    def emulation_note(self) -> str:
        """`; QEMU ...: what runs there` for a board whose QEMU machine runs something else
        than its CPU name says (qemu-m0plus, qemu-microbit), else "": for report lines."""
        return f"; {self.runs_on}" if self.qemu_note else ""


def _parse_board_mk(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0]
        match = _ASSIGNMENT.match(line)
        if match:
            values[match.group(1)] = match.group(2)
    return values


def _size(values: dict[str, str], key: str, path: Path) -> int:
    text = values.get(key, "")
    try:
        return parse_bytes(text)
    except TinyconvError:
        raise TinyconvError(f"{path}: {key} = {text!r} is not a size") from None


def _address(values: dict[str, str], key: str, path: Path) -> int:
    try:
        return int(values.get(key, ""), 0)
    except ValueError:
        raise TinyconvError(f"{path}: {key} = {values.get(key)!r} is not an address") from None


def _load_board(name: str, path: Path) -> Board:
    values = _parse_board_mk(path)
    try:
        isa = Isa(values.get("ISA", ""))
    except ValueError:
        raise TinyconvError(f"{path}: ISA must be one of {[i.value for i in Isa]}") from None
    flash_tool = values.get("FLASH_TOOL") or None
    vectors = values.get("VECTORS_ORIGIN") or None
    return Board(
        name=name,
        cpu=values.get("CPU", ""),
        isa=isa,
        flash_origin=_address(values, "FLASH_ORIGIN", path),
        flash_bytes=_size(values, "FLASH_SIZE", path),
        ram_origin=_address(values, "RAM_ORIGIN", path),
        ram_bytes=_size(values, "RAM_SIZE", path),
        qemu_machine=values.get("QEMU_MACHINE") or None,
        real=flash_tool is not None,
        flash_tool=flash_tool,
        vectors_origin=_address(values, "VECTORS_ORIGIN", path) if vectors else None,
        vectors_bytes=_size(values, "VECTORS_SIZE", path) if vectors else None,
        target_default=values.get("TARGET_DEFAULT", "") == "yes",
        qemu_note=values.get("QEMU_CPU_NOTE") or None,
    )


@functools.lru_cache(maxsize=None)
def _boards(firmware_dir: Path) -> tuple[Board, ...]:
    board_files = sorted((firmware_dir / "boards").glob("*/board.mk"))
    return tuple(_load_board(path.parent.name, path) for path in board_files)


def boards(firmware_dir: Path = FIRMWARE_DIR) -> list[Board]:
    return list(_boards(Path(firmware_dir)))


def get_board(name: str, firmware_dir: Path = FIRMWARE_DIR) -> Board:
    for board in _boards(Path(firmware_dir)):
        if board.name == name:
            return board
    valid = ", ".join(b.name for b in _boards(Path(firmware_dir)))
    raise TinyconvError(f"unknown board {name!r}; valid boards: {valid}")


def _emulated_board_for_cpu(cpu: str) -> Board:
    """The emulated board of `cpu`: the one marked TARGET_DEFAULT where several are (e.g.
    cortex-m0plus: qemu-m0plus, not the 16 KiB qemu-microbit), else the only one."""
    all_boards = _boards(FIRMWARE_DIR)
    emulated = [b for b in all_boards
                if b.cpu == cpu and (b.qemu_machine is not None or b.is_host)]
    if emulated:
        return next((b for b in emulated if b.target_default), emulated[0])
    cpus = sorted({b.cpu for b in all_boards if b.qemu_machine is not None or b.is_host})
    names = ", ".join(b.name for b in all_boards)
    raise TinyconvError(f"unknown target {cpu!r}; targets: {', '.join(cpus)} "
                        f"(or a board: {names})")


def board_for(target: str | None, board: str | None) -> Board:
    """The board a `--target` (a CPU such as cortex-m7, emulated in QEMU) and/or a
    `--board` (any board by name) select; with neither, the default QEMU Cortex-M7."""
    chosen = get_board(board) if board is not None else None
    if target is None:
        return chosen if chosen is not None else get_board(DEFAULT_BOARD)
    names = {b.name for b in _boards(FIRMWARE_DIR)}
    by_target = get_board(target) if target in names else _emulated_board_for_cpu(target)
    if chosen is None:
        return by_target
    if chosen.cpu != by_target.cpu:
        raise TinyconvError(f"--target {target} ({by_target.cpu}) does not match --board "
                            f"{board} ({chosen.cpu})")
    return chosen
