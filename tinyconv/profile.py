"""Per-layer and per-function instruction profile of a model on an emulated Cortex-M.

Two builds of the same deployment run one random input each in QEMU with the
instruction-counting plugin (firmware/tools/qemu-insn-count):

- the normal build: its outputs are compared byte for byte with LiteRT's, and its count,
  memory and code size are the model's;
- the profiled build: model.h defines TC_PROFILE_LAYERS, so tc_model_invoke() calls the
  empty, never-inlined tc_profile_mark() between two kernel calls. The plugin starts a new
  bucket at every entry of tc_profile_mark, and counts every instruction for the function
  (ELF symbol) that holds its PC.

Attribution, exact by construction: bucket k runs from the entry of the mark before step k
(the region's begin for step 0) to the entry of the mark after it (the region's end for the
last step), so the buckets add up to the profiled build's whole-inference count. A layer's
count therefore holds its argument set-up, the kernel and everything it calls (memcpy and
helpers included), its status check, and one mark's two instructions (`bl tc_profile_mark`
closing it and the `bx lr` of the mark that opens it: QEMU 7.2 runs the marker's callback
before the instruction's inline count, so the first layer holds one mark instruction, the
last one one, every other two; the function view shows them as tc_profile_mark and
tc_model_invoke); tc_model_invoke's
prologue is in the first layer and its epilogue in the last. The harness's own
instructions (tc_bench_overhead_insns: in tc_bench_begin/_invoke/_end, found by function)
are taken off the layers that hold them, as off the total, so each layer's functions add
up to exactly its count.
`mark_instructions` (profiled minus normal count) says what the marks cost in all: two per
mark, give or take a register the compiler allocates differently around the calls.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import deploy, firmware, reference
from .codegen.emit import write_model
from .errors import TinyconvError
from .ir.ops import Op
from .report import PlanSummary, plan_summary
from .targets import Board

# The op classes of the per-op-type view (and of the kernel benchmark).
OP_CLASSES = ("1x1 conv", "3x3 depthwise", "other depthwise", "first RGB conv",
              "other conv", "FC", "other ops")
HARNESS_FUNCTIONS = ("tc_bench_begin", "tc_bench_end", "tc_bench_invoke")
OUTSIDE = "(outside any function symbol)"
MARK_FUNCTION = "tc_profile_mark"


def op_class(op: Op) -> str:
    """The op type a per-op-type table groups `op` under."""
    if op.kind == "CONV_2D":
        _, kh, kw, _ = op.filter.shape
        if (kh, kw) == (1, 1):
            return "1x1 conv"
        return "first RGB conv" if op.x.nhwc()[3] == 3 else "other conv"
    if op.kind == "DEPTHWISE_CONV_2D":
        _, kh, kw, _ = op.filter.shape
        return "3x3 depthwise" if (kh, kw) == (3, 3) else "other depthwise"
    if op.kind == "FULLY_CONNECTED":
        return "FC"
    return "other ops"


def _per_mac(instructions: int, macs: int) -> float | None:
    return round(instructions / macs, 3) if macs else None


@dataclass
class LayerProfile:
    step: int                 # position in tc_model_invoke, from 0
    op_index: int             # the op's index in the .tflite
    kind: str
    op_class: str
    output_shape: list[int]
    # The C function tc_model_invoke calls for it (a streamed run: those its loop calls).
    kernel: str
    macs: int
    instructions: int
    instructions_per_mac: float | None
    share: float              # of the profiled build's total
    functions: dict[str, int] = field(default_factory=dict)  # inside this layer, largest first


@dataclass
class FunctionProfile:
    name: str
    instructions: int
    share: float
    size_bytes: int


@dataclass
class ClassProfile:
    op_class: str
    layers: int
    macs: int
    instructions: int
    instructions_per_mac: float | None
    share: float


@dataclass
class ProfileReport:
    model: str
    board: str
    cpu: str
    kernels: str
    instructions: int           # the normal build's, per inference
    profiled_instructions: int  # the profiled build's: what the layers add up to
    mark_instructions: int      # profiled - normal: the marks' cost
    macs: int
    instructions_per_mac: float | None
    mismatched_bytes: int       # normal build's outputs vs LiteRT's reference kernels
    outputs_compared: int
    flash_bytes: int            # normal build
    weights_bytes: int          # const arrays of the model (weights, biases, requant data)
    code_bytes: int             # flash without the weights: code, tables, params
    layers: list[LayerProfile]
    functions: list[FunctionProfile]
    op_classes: list[ClassProfile]
    # The memory plan profiled (layer-wise or streamed: tinyconv/report.py PlanSummary);
    # its fields are top-level keys of the JSON.
    plan: PlanSummary | None = None

    def write_json(self, path: Path) -> None:
        data = asdict(self)
        data |= data.pop("plan") or {}
        Path(path).write_text(json.dumps(data, indent=2) + "\n")


# --- ELF functions -----------------------------------------------------------------------
@dataclass(frozen=True)
class _Function:
    name: str
    start: int
    end: int


def _functions(elf: Path) -> list[_Function]:
    """Every sized code symbol of the ELF, sorted, one per address range (aliases merged)."""
    found: dict[int, _Function] = {}
    for sym in firmware.symbol_table(elf, firmware.ARM_NM):
        if sym.kind not in ("t", "T", "w", "W") or not sym.size:
            continue
        start, size = sym.value & ~1, sym.size
        if start in found:  # an alias: keep the name listed first (sorted: deterministic)
            name = min(found[start].name, sym.name)
            found[start] = _Function(name, start, max(found[start].end, start + size))
        else:
            found[start] = _Function(sym.name, start, start + size)
    ordered, end = [], -1
    for f in sorted(found.values(), key=lambda f: f.start):
        if f.start >= end:  # overlapping ranges (none in practice): the first one wins
            ordered.append(f)
            end = f.end
    return ordered


_PROFILE_HEADER = re.compile(r"^profile layers=(\d+) funcs=(\d+)$", re.MULTILINE)


def _parse_profile(text: str) -> tuple[list[int], list[int], dict[tuple[int, int], int]]:
    if _PROFILE_HEADER.search(text) is None:
        raise TinyconvError(f"the instruction counter wrote no profile: {text[:200]!r}")
    layers: list[int] = []
    funcs: list[int] = []
    matrix: dict[tuple[int, int], int] = {}
    for line in text.splitlines():
        fields = line.split()
        if fields[:1] == ["layer"]:
            layers.append(int(fields[2]))
        elif fields[:1] == ["func"]:
            funcs.append(int(fields[2]))
        elif fields[:1] == ["layer_func"]:
            matrix[int(fields[1]), int(fields[2])] = int(fields[3])
    return layers, funcs, matrix


# --- profile -----------------------------------------------------------------------------
def profile(model_bytes: bytes, board: Board, *, source: str = "<model>",
            kernels: str = "opt", seed: int = 0, stack_bytes: int | None = None,
            work_dir: Path | None = None, firmware_dir: Path | None = None,
            sram: int | None = None, memory: str = deploy.DEFAULT_MEMORY) -> ProfileReport:
    """`firmware_dir`: build against another firmware tree (default: the package's), e.g.
    an earlier version's kernels for a before/after comparison."""
    from .ir.onnx_import import import_model

    graph = import_model(model_bytes, source)
    deployment = deploy.prepare(graph, board, kernels=kernels, stack_bytes=stack_bytes,
                                sram=sram, memory=memory,
                                match="onnxruntime" if "onnx" in graph.metadata else "litert")
    return profile_deployment(deployment, model_bytes, seed=seed, work_dir=work_dir,
                              firmware_dir=firmware_dir)


def profile_deployment(deployment: deploy.Deployment, model_bytes: bytes, *, seed: int = 0,
                       work_dir: Path | None = None,
                       firmware_dir: Path | None = None) -> ProfileReport:
    graph, board = deployment.graph, deployment.board
    if board.qemu_machine is None:
        raise TinyconvError(f"profiling counts instructions in QEMU: {board.name} is not a "
                            f"QEMU board (use --target cortex-m4/m7/m55 or a qemu-* board)")
    if deployment.match == "onnxruntime":  # an ONNX model: onnxruntime is its reference
        from . import onnx_oracle
        samples = onnx_oracle.random_inputs(graph, 1, seed)
        expected = onnx_oracle.onnxruntime_outputs(model_bytes, samples, graph)
    else:
        samples = reference.random_inputs(model_bytes, 1, seed)
        expected = reference.litert_outputs(model_bytes, samples)
    inputs = b"".join(np.ascontiguousarray(a).tobytes() for a in samples[0])
    steps = deployment.source.steps

    with tempfile.TemporaryDirectory(prefix="tinyconv-profile-") as tmp:
        root = Path(work_dir) if work_dir is not None else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        model_dir = root / "model"

        def build() -> firmware.BuildResult:
            return firmware.build(model_dir, board, root / "build",
                                  kernels=deployment.kernels,
                                  ram_bytes=deployment.ram_budget,
                                  flash_bytes=deployment.flash_budget,
                                  stack_bytes=deployment.stack_bytes,
                                  firmware_dir=firmware_dir)
        # The profiled build first; the normal one differs only in model.h, and is what the
        # work directory keeps.
        write_model(deployment.source, model_dir, profile_layers=True)
        profiled_build = build()
        functions = _functions(profiled_build.elf)
        marks = firmware.symbols(profiled_build.elf, firmware.ARM_NM)
        if MARK_FUNCTION not in marks:
            raise TinyconvError(f"{profiled_build.elf} lacks {MARK_FUNCTION}")
        ranges = root / "functions.txt"
        ranges.write_text("".join(f"{f.start:#x} {f.end:#x}\n" for f in functions))
        overhead = marks["tc_bench_overhead_insns"][0]
        profiled = firmware.run(profiled_build, inputs, 1, count_instructions=True,
                                plugin_args={"mark": f"{marks[MARK_FUNCTION][0]:#x}",
                                             "funcs": str(ranges)})
        deploy.write_model_dir(deployment, model_dir)
        normal_build = build()
        normal = firmware.run(normal_build, inputs, 1, count_instructions=True)

    if profiled.outputs != normal.outputs:
        raise TinyconvError("the profiled build's outputs differ from the normal build's: "
                            "the layer marks disturbed the model")
    ours = np.frombuffer(normal.outputs, np.uint8)
    theirs = np.frombuffer(b"".join(np.ascontiguousarray(a).tobytes() for a in expected[0]),
                           np.uint8)
    if ours.size != theirs.size:
        raise TinyconvError(f"firmware wrote {ours.size} output bytes, expected {theirs.size}")
    mismatched = int(np.count_nonzero(ours != theirs))

    layer_counts, func_counts, matrix = _parse_profile(profiled.insn_report)
    names = [f.name for f in functions] + [OUTSIDE]
    sizes = [f.end - f.start for f in functions] + [0]
    if layer_counts:
        # The plugin took the harness's instructions off the first layer; take them off
        # the layers that actually hold them (the end marker's side is in the last).
        layer_counts[0] += overhead
        for (k, j), count in matrix.items():
            if names[j] in HARNESS_FUNCTIONS and k < len(layer_counts):
                layer_counts[k] -= count
    total = profiled.instructions_per_inference or 0
    if len(layer_counts) != len(steps):
        raise TinyconvError(f"the instruction counter saw {len(layer_counts)} layers, the "
                            f"model has {len(steps)} kernel calls")
    if sum(layer_counts) != total:
        raise TinyconvError(f"per-layer counts add up to {sum(layer_counts)}, the whole "
                            f"inference to {total}")
    harness = sum(c for n, c in zip(names, func_counts) if n in HARNESS_FUNCTIONS)
    if harness != overhead or sum(func_counts) - harness != total:
        raise TinyconvError(f"per-function counts ({sum(func_counts)}, harness {harness}) do "
                            f"not add up to the whole inference ({total} + {overhead})")

    def share(count: int) -> float:
        return round(count / total, 5) if total else 0.0

    layers = []
    for k, (step, count) in enumerate(zip(steps, layer_counts)):
        op = step.op
        inside = sorted(((names[j], c) for (i, j), c in matrix.items()
                         if i == k and names[j] not in HARNESS_FUNCTIONS),
                        key=lambda item: -item[1])
        if sum(c for _, c in inside) != count:
            raise TinyconvError(f"layer {k}: its functions add up to "
                                f"{sum(c for _, c in inside)}, its count is {count}")
        layers.append(LayerProfile(
            step=k, op_index=op.index, kind=op.kind, op_class=op_class(op),
            output_shape=list(op.y.shape),
            kernel=step.function or " ".join(dict.fromkeys(step.functions)), macs=op.macs(),
            instructions=count, instructions_per_mac=_per_mac(count, op.macs()),
            share=share(count), functions=dict(inside)))
    function_rows = sorted(
        (FunctionProfile(n, c, share(c), s) for n, c, s in zip(names, func_counts, sizes)
         if c and n not in HARNESS_FUNCTIONS), key=lambda f: -f.instructions)
    classes = []
    for name in OP_CLASSES:
        members = [x for x in layers if x.op_class == name]
        if members:
            count = sum(x.instructions for x in members)
            macs = sum(x.macs for x in members)
            # "other ops" mix pooling, activations and elementwise MULs (which count
            # MACs): a per-MAC figure of them would compare nothing.
            per_mac = _per_mac(count, macs) if name != "other ops" else None
            classes.append(ClassProfile(name, len(members), macs, count, per_mac,
                                        share(count)))
    weights = deployment.source.weights_bytes
    normal_count = normal.instructions_per_inference or 0
    macs = graph.total_macs()
    return ProfileReport(
        model=graph.source, board=board.name, cpu=board.cpu, kernels=deployment.kernels,
        instructions=normal_count, profiled_instructions=total,
        mark_instructions=total - normal_count, macs=macs,
        instructions_per_mac=_per_mac(normal_count, macs), mismatched_bytes=mismatched,
        outputs_compared=int(ours.size), flash_bytes=normal_build.flash_bytes,
        weights_bytes=weights, code_bytes=normal_build.flash_bytes - weights,
        layers=layers, functions=function_rows, op_classes=classes,
        plan=plan_summary(graph, deployment.plan))


# --- presentation ------------------------------------------------------------------------
def _fmt_per_mac(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "-"


def format_table(r: ProfileReport, top_functions: int = 12) -> list[str]:
    lines = [f"{'#':>3} {'op':<18} {'output':<14} {'MACs':>11} {'instructions':>13} "
             f"{'instr/MAC':>9} {'share':>6}  kernel"]
    for x in r.layers:
        lines.append(f"{x.step:>3} {x.kind:<18} {'x'.join(map(str, x.output_shape)):<14} "
                     f"{x.macs:>11,} {x.instructions:>13,} "
                     f"{_fmt_per_mac(x.instructions_per_mac):>9} {x.share:>6.1%}  {x.kernel}")
    lines.append(f"{'':>3} {'total':<18} {'':<14} {r.macs:>11,} "
                 f"{r.profiled_instructions:>13,} "
                 f"{_fmt_per_mac(_per_mac(r.profiled_instructions, r.macs)):>9} "
                 f"{1:>6.1%}")
    lines.append("")
    lines.append(f"{'op type':<18} {'layers':>6} {'MACs':>11} {'instructions':>13} "
                 f"{'instr/MAC':>9} {'share':>6}")
    for c in r.op_classes:
        lines.append(f"{c.op_class:<18} {c.layers:>6} {c.macs:>11,} {c.instructions:>13,} "
                     f"{_fmt_per_mac(c.instructions_per_mac):>9} {c.share:>6.1%}")
    lines.append("")
    lines.append(f"{'function':<40} {'instructions':>13} {'share':>6} {'bytes':>6}")
    for f in r.functions[:top_functions]:
        lines.append(f"{f.name:<40} {f.instructions:>13,} {f.share:>6.1%} {f.size_bytes:>6}")
    rest = r.functions[top_functions:]
    if rest:
        count = sum(f.instructions for f in rest)
        lines.append(f"{f'({len(rest)} more functions)':<40} {count:>13,} "
                     f"{count / max(1, r.profiled_instructions):>6.1%}")
    return lines


_CLASS_COLORS = {"1x1 conv": "#1f77b4", "3x3 depthwise": "#ff7f0e",
                 "other depthwise": "#d62728", "first RGB conv": "#9467bd",
                 "other conv": "#2ca02c", "FC": "#8c564b", "other ops": "#7f7f7f"}


def plot(r: ProfileReport, path: Path) -> None:
    """Horizontal bars: instructions per layer (colored by op type, instr/MAC beside each),
    and the per-op-type totals."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    n = len(r.layers)
    height = max(4.0, 0.22 * n + 1.5)
    fig = plt.figure(figsize=(13, height))
    # The per-op-type panel keeps a compact height at the top right, however many layers.
    classes_height = 0.45 * len(r.op_classes) + 1.2
    if classes_height < 0.7 * height:
        grid = fig.add_gridspec(2, 2, width_ratios=[3, 1.3],
                                height_ratios=[classes_height, height - classes_height])
    else:
        grid = fig.add_gridspec(1, 2, width_ratios=[3, 1.3])
    ax = fig.add_subplot(grid[:, 0])
    ax_classes = fig.add_subplot(grid[0, 1])
    fig.subplots_adjust(left=0.17, right=0.98, top=1 - 0.5 / height, bottom=0.7 / height,
                        wspace=0.3, hspace=0.6 / height)
    labels = [f"{x.step} {x.kind.lower()} {'x'.join(map(str, x.output_shape[1:]))}"
              for x in r.layers]
    values = [x.instructions for x in r.layers]
    colors = [_CLASS_COLORS[x.op_class] for x in r.layers]
    ys = np.arange(n)
    ax.barh(ys, values, color=colors)
    ax.set_yticks(ys, labels, fontsize=7 if n > 30 else 8)
    ax.set_ylim(n - 0.5, -0.5)  # first layer on top, no blank margins
    ax.set_xlabel("instructions per inference")
    ax.set_title(f"{Path(r.model).name} on {r.board} ({r.kernels} kernels): "
                 f"{r.profiled_instructions:,} instructions, {r.macs:,} MACs")
    peak = max(values, default=1)
    for y, x in zip(ys, r.layers):
        if x.instructions_per_mac is not None and x.op_class != "other ops":
            ax.text(x.instructions + peak * 0.01, y, f"{x.instructions_per_mac:.2f}/MAC",
                    va="center", fontsize=6 if n > 30 else 7)
    ax.set_xlim(0, peak * 1.15)
    ax.grid(axis="x", alpha=0.3)
    used = [c.op_class for c in r.op_classes]
    ax.legend(handles=[Patch(color=_CLASS_COLORS[c], label=c) for c in used],
              loc="lower right", fontsize=8)

    cy = np.arange(len(r.op_classes))
    ax_classes.barh(cy, [c.instructions for c in r.op_classes],
                    color=[_CLASS_COLORS[c.op_class] for c in r.op_classes])
    ax_classes.set_yticks(cy, [c.op_class for c in r.op_classes], fontsize=8)
    ax_classes.invert_yaxis()
    ax_classes.set_title("per op type")
    ax_classes.set_xlabel("instructions")
    cpeak = max((c.instructions for c in r.op_classes), default=1)
    for y, c in zip(cy, r.op_classes):
        per_mac = f", {c.instructions_per_mac:.2f}/MAC" if c.instructions_per_mac else ""
        ax_classes.text(c.instructions + cpeak * 0.02, y, f"{c.share:.0%}{per_mac}",
                        va="center", fontsize=7)
    ax_classes.set_xlim(0, cpeak * 1.6)
    ax_classes.grid(axis="x", alpha=0.3)
    fig.savefig(path, dpi=110)
    plt.close(fig)
