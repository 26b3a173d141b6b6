"""Import -> plan -> generate C -> a buildable firmware project, with the budget checked.

The budget check uses the same numbers the firmware will: the planned arena, the reserved
stack and the runtime's own static RAM. The reserved stack is, unless the caller gives one,
the compiler's bound for this model (tinyconv/stack.py): estimated here without compiling,
then made exact (`settle_stack`) where the model is compiled, at export and verify. The
linker script's RAM length (set to the same budget) is the backstop.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import FIRMWARE_DIR, stack
from .codegen.emit import ModelSource, generate, write_model, write_samples
from .defaults import DEFAULT_MEMORY, DEFAULT_STACK_BYTES, RUNTIME_RAM_BYTES  # re-exported: deploy.X
from .errors import BudgetError, TinyconvError
from .ir.graph import Graph
from .ir.ops import Isa
from .planner import Plan
from .stream import plan_model
from .targets import Board
from .units import format_bytes

if TYPE_CHECKING:
    from .samples import SampleSet

FIRMWARE_PARTS = ("Makefile", "kernels", "boards", "app", "tools")


@dataclass
class Deployment:
    graph: Graph
    board: Board
    plan: Plan
    source: ModelSource
    kernels: str
    stack_bytes: int
    ram_budget: int
    flash_budget: int
    match: str = "litert"
    # The computed bound stack_bytes reserves; None where the caller gave the size, or no
    # bound can be computed (host build, no Arm toolchain: DEFAULT_STACK_BYTES then).
    stack_bound: stack.StackBound | None = None
    memory: str = DEFAULT_MEMORY  # how the plan was chosen (tinyconv/stream.py)

    @property
    def planned_ram_bytes(self) -> int:
        return self.plan.arena_bytes + self.stack_bytes + RUNTIME_RAM_BYTES


def kernel_isa(board: Board, kernels: str) -> Isa:
    if kernels not in ("opt", "ref"):
        raise TinyconvError(f"unknown kernels {kernels!r}: use 'opt' or 'ref'")
    return Isa.REF if kernels == "ref" else board.isa


def prepare(graph: Graph, board: Board, *, kernels: str = "opt", sram: int | None = None,
            flash: int | None = None, stack_bytes: int | None = None,
            match: str = "litert", memory: str = DEFAULT_MEMORY,
            check_budget: bool = True) -> Deployment:
    """`stack_bytes=None`: reserve the model's computed stack bound (an estimate that holds
    the compiled one), or DEFAULT_STACK_BYTES where none can be computed.

    `memory` (tinyconv/stream.py): "fast" plans the layer-wise arena where it fits the
    SRAM budget with the stack and runtime, else the fastest streamed plan that fits;
    "min" the smallest plan; "layer" never streams. The stack is that of the chosen plan's
    code (a streamed run's loop has its own locals), so the choice is made again, within
    the smaller budget, when it grows. `check_budget=False`: no BudgetError (the search
    costs configurations that do not fit too), and where no plan fits, not necessarily the
    smallest one."""
    isa = kernel_isa(board, kernels)
    ram_budget = sram if sram is not None else board.ram_bytes
    flash_budget = flash if flash is not None else board.flash_bytes
    plan = plan_model(graph, isa, memory="layer" if memory == "fast" else memory)
    source = generate(graph, plan, match)
    reserved, bound = _reserve_stack(board, kernels, source, stack_bytes)
    for _ in range(3):
        budget = ram_budget - reserved - RUNTIME_RAM_BYTES
        if memory != "fast" or plan.arena_bytes <= budget:
            break
        chosen = plan_model(graph, isa, arena_budget=budget, memory=memory,
                            smallest=check_budget)
        if chosen.strategy == plan.strategy:
            break
        plan = chosen
        source = generate(graph, plan, match)
        reserved, bound = _reserve_stack(board, kernels, source, stack_bytes)
    plan.cpu = board.cpu  # the latency model prices Armv6-M apart (cost.table_key)
    deployment = Deployment(graph, board, plan, source, kernels, reserved, ram_budget,
                            flash_budget, match, bound, memory)
    if not check_budget:
        return deployment
    _check_ram(deployment)
    if source.weights_bytes > flash_budget:
        raise BudgetError(
            f"{graph.source}: weights alone need {source.weights_bytes} B of flash, over "
            f"the {flash_budget} B ({format_bytes(flash_budget)}) budget by "
            f"{source.weights_bytes - flash_budget} B")
    return deployment


def _reserve_stack(board: Board, kernels: str, source: ModelSource,
                   given: int | None) -> tuple[int, stack.StackBound | None]:
    if given is not None:
        return given, None
    if stack.available(board):
        bound = stack.model_bound(board, kernels, source)
        return bound.reserved, bound
    return DEFAULT_STACK_BYTES, None


def _check_ram(deployment: Deployment) -> None:
    need, budget = deployment.planned_ram_bytes, deployment.ram_budget
    if need > budget:
        stack_what = "stack bound" if deployment.stack_bound is not None else "stack"
        plan = deployment.plan
        if plan.stream is not None:
            which = f"streamed plan, layer-wise {plan.layerwise_arena_bytes or '?'}"
        elif deployment.memory == "layer":
            which = "layer-wise plan; --memory fast or min may stream it smaller"
        else:
            which = "layer-wise plan: no streamed plan is smaller"
        raise BudgetError(
            f"{deployment.graph.source}: needs {need} B of SRAM ({format_bytes(need)}: arena "
            f"{plan.arena_bytes} ({which}) + {stack_what} {deployment.stack_bytes} + runtime "
            f"{RUNTIME_RAM_BYTES}), over the {budget} B ({format_bytes(budget)}) budget by "
            f"{need - budget} B")


def settle_stack(deployment: Deployment, exact: stack.StackBound) -> None:
    """Reserve the compiled model's exact bound instead of prepare's estimate (where the
    bound was computed, not given); the budget is checked again."""
    if deployment.stack_bound is None:
        return
    deployment.stack_bound = exact
    deployment.stack_bytes = exact.reserved
    _check_ram(deployment)


def write_model_dir(deployment: Deployment, model_dir: Path) -> None:
    write_model(deployment.source, model_dir)


def check_samples_flash(deployment: Deployment, samples: "SampleSet") -> None:
    """The samples are not part of the model's flash budget, but the linker's FLASH_SIZE
    (the same budget) holds them too: refuse, before writing, where they cannot fit."""
    need = deployment.source.weights_bytes + samples.flash_bytes
    if need > deployment.flash_budget:
        raise BudgetError(
            f"{samples.count} samples need {samples.flash_bytes} B of flash beside the "
            f"model's {deployment.source.weights_bytes} B of constants, over the "
            f"{deployment.flash_budget} B ({format_bytes(deployment.flash_budget)}) flash "
            f"budget by {need - deployment.flash_budget} B: give fewer --samples")


def write_project(deployment: Deployment, out_dir: Path, *,
                  samples: "SampleSet | None" = None) -> Path:
    """A self-contained firmware project; written to a temp dir then moved into place, so
    a failure never leaves a half-written output directory. With `samples`
    (tinyconv/samples.py), model/ also holds samples.c/.h (classified by `make run`) and
    samples.json (which examples, labels, class names); the stack bound is then that of
    the app that classifies them."""
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise TinyconvError(f"output directory {out_dir} exists and is not empty")
    if samples is not None:
        check_samples_flash(deployment, samples)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tinyconv-", dir=out_dir.parent))
    try:
        for part in FIRMWARE_PARTS:
            src = FIRMWARE_DIR / part
            if src.is_dir():
                shutil.copytree(src, staging / part,
                                ignore=shutil.ignore_patterns("build", "*.o", "__pycache__"))
            elif src.exists():
                shutil.copy2(src, staging / part)
        write_model(deployment.source, staging / "model")
        if samples is not None:  # before the stack bound: the app's sample path counts
            write_samples(samples, staging / "model", deployment.graph.source)
            samples.write_json(staging / "model" / "samples.json")
        if deployment.stack_bound is not None and not deployment.stack_bound.exact:
            settle_stack(deployment, stack.compile_bound(deployment.board, deployment.kernels,
                                                         staging / "model"))
        (staging / "config.mk").write_text(
            "# Written by tinyconv export: the defaults `make` uses in this project.\n"
            f"TARGET ?= {deployment.board.name}\n"
            f"KERNELS ?= {deployment.kernels}\n"
            f"RAM_SIZE ?= {deployment.ram_budget}\n"
            f"FLASH_SIZE ?= {deployment.flash_budget}\n"
            f"STACK_SIZE ?= {deployment.stack_bytes}\n")
        if out_dir.exists():
            out_dir.rmdir()
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir
