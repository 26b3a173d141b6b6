"""Per-layer memory and compute tables (with the latency model's estimated instructions,
tinyconv.cost), and the memory plot, from the IR and the plan; the one-line and JSON summary
of the chosen plan (layer-wise or streamed, tinyconv/stream.py) that export, verify, profile
and inspect print; the per-layer lines of a verify report.

The per-layer rows follow the original graph (every op, in graph order), with the live
bytes of two plans: `live_layerwise` (the layer-wise plan, every layer whole) and `live`
(the chosen plan; a streamed run's layers share its one step, at which the run's input,
output, line buffers and kernel scratch are live).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import cost
from .ir.graph import Graph
from .ir.ops import Op
from .planner import Plan, plan_memory
from .units import format_bytes

if TYPE_CHECKING:
    from .verify import VerifyReport

STREAMED_MARK = "~"  # suffix of a streamed run's layers in the table
STREAMED_LEGEND = f"{STREAMED_MARK} streamed: rows in line buffers"


@dataclass
class StreamSummary:
    """A streamed plan's run (tinyconv/stream.py StreamedRun) in numbers."""

    first_op: int                    # op index of the run's first layer
    last_op: int                     # ... and of its last (whose output is whole)
    layers: int
    strips: int
    strip_rows: int                  # input rows per strip
    line_buffer_bytes: int
    kernel_scratch_bytes: int        # the scratch all the run's calls share
    slid_bytes: int                  # bytes moved per inference to slide the line buffers
    kernel_calls: int                # per inference
    loop_instructions_estimate: int  # the loop's own work (latency model)


@dataclass
class PlanSummary:
    """Which plan was chosen and what it costs; flattened into the JSON reports."""

    plan_kind: str                   # "layer-wise" or "streamed"
    plan_strategy: str
    arena_bytes: int
    layerwise_arena_bytes: int       # the layer-wise plan's arena (= arena_bytes if chosen)
    recompute_macs: int              # MACs computed more than once (0: line buffers)
    stream_extra_instructions_estimate: int  # what streaming adds (latency model)
    instructions_estimate: int       # the whole inference with this plan (latency model)
    stream: StreamSummary | None = None

    def describe(self) -> str:
        """One line: `plan: layer-wise, arena N B` or the streamed run and its costs."""
        if self.stream is None:
            return f"plan: {self.plan_kind}, arena {self.arena_bytes:,} B"
        s, extra = self.stream, self.stream_extra_instructions_estimate
        base = self.instructions_estimate - extra
        share = f" ({extra / base:+.1%})".replace("%", " %") if base > 0 else ""
        return (f"plan: {self.plan_kind}, layers #{s.first_op}-#{s.last_op} in {s.strips} "
                f"strips of {s.strip_rows} input row{'s' if s.strip_rows > 1 else ''}: arena "
                f"{self.arena_bytes:,} B (layer-wise {self.layerwise_arena_bytes:,} B), "
                f"recompute {self.recompute_macs:,} MACs, est. {extra:+,} instructions{share}")


def plan_summary(graph: Graph, plan: Plan) -> PlanSummary:
    """`plan` (as deploy.prepare or stream.plan_model made it for `graph`) summarized."""
    run = plan.stream
    extra = plan.extra_instructions
    if run is not None and not extra:  # a plan not made by stream.plan_run
        extra = cost.stream_overhead(run, layerwise_plan(graph, plan))
    estimate = cost.estimate(graph, plan.isa, plan)
    stream = None
    if run is not None:
        sched = run.schedule
        stream = StreamSummary(
            first_op=run.ops[0].index, last_op=run.ops[-1].index, layers=len(run.ops),
            strips=sched.strips, strip_rows=sched.strip_rows,
            line_buffer_bytes=sched.lines_bytes, kernel_scratch_bytes=run.kernel_scratch_bytes,
            slid_bytes=sched.slid_bytes, kernel_calls=len(sched.calls),
            loop_instructions_estimate=estimate.by_op().get(run.index, 0))
    return PlanSummary(
        plan_kind=plan.kind, plan_strategy=plan.strategy, arena_bytes=plan.arena_bytes,
        layerwise_arena_bytes=plan.layerwise_arena_bytes or plan.arena_bytes,
        recompute_macs=plan.recompute_macs, stream_extra_instructions_estimate=extra,
        instructions_estimate=estimate.instructions, stream=stream)


def layerwise_plan(graph: Graph, plan: Plan) -> Plan:
    """The layer-wise plan beside `plan` (itself when it streams nothing): what
    stream.plan_model(memory="layer") returns."""
    return plan if plan.stream is None else plan_memory(graph, plan.isa)


@dataclass
class LayerRow:
    index: int
    op: str
    inputs: str
    output: str
    macs: int
    weight_bytes: int
    scratch_bytes: int
    live_layerwise: int  # bytes live at this layer's step in the layer-wise plan
    live: int            # ... in the chosen plan (a streamed layer: the run's step)
    output_offset: int   # arena offset of the output (a streamed layer's: its line buffer)
    in_place: bool
    streamed: bool       # inside the chosen plan's streamed run
    instructions_estimate: int  # the latency model's, on the plan's kernels (0: no kernel)


def _run_scratch(op: Op, plan: Plan) -> int:
    """The kernel scratch `op` uses inside the plan's streamed run (its largest call)."""
    run = plan.stream
    need = 0
    for view in run.schedule.views():
        if view.index == op.index:
            need = max(need, view.scratch_bytes(plan.isa),
                       view.fast_scratch_bytes(plan.isa) if run.fast else 0)
    return min(need, run.kernel_scratch_bytes)


def layer_rows(graph: Graph, plan: Plan, layerwise: Plan | None = None) -> list[LayerRow]:
    """A row per op of `graph` (graph order). `layerwise`: the layer-wise plan, when the
    caller has it (else planned here where `plan` streams)."""
    layerwise = layerwise or layerwise_plan(graph, plan)
    estimates = cost.estimate(graph, plan.isa, plan).by_op()
    step = {op.index: s for s, op in enumerate(plan.order)}
    layerwise_step = {op.index: s for s, op in enumerate(layerwise.order)}
    run = plan.stream
    inner = {op.index for op in run.ops} if run is not None else set()
    lines = {t.index: plan.scratch[run.index][0] + run.line_offset(t)
             for t in run.schedule.lined} if run is not None else {}
    rows = []
    for op in graph.ops:
        streamed = op.index in inner
        rows.append(LayerRow(
            index=op.index, op=op.kind,
            inputs=" ".join("x".join(map(str, t.shape)) for t in op.activation_inputs()),
            output="x".join(map(str, op.y.shape)),
            macs=op.macs(), weight_bytes=op.weight_bytes(),
            scratch_bytes=_run_scratch(op, plan) if streamed
            else plan.scratch.get(op.index, (0, 0))[1],
            live_layerwise=layerwise.live_bytes[layerwise_step[op.index]],
            live=plan.live_bytes[step[run.index if streamed else op.index]],
            output_offset=lines.get(op.y.index, plan.tensor_offsets.get(op.y.index, -1)),
            in_place=op.index in plan.inplace_ops, streamed=streamed,
            instructions_estimate=estimates.get(op.index, 0)))
    return rows


def summary(graph: Graph, plan: Plan) -> dict:
    return {
        "model": graph.source,
        "ops": len(graph.ops),
        "macs": graph.total_macs(),
        "weight_bytes": graph.weight_bytes(),
        "arena_bytes": plan.arena_bytes,
        "peak_live_bytes": plan.peak_live_bytes,
        "layer_lower_bound_bytes": plan.layer_lower_bound,
        "in_place_ops": len(plan.inplace_ops),
        "isa": plan.isa.value,
    } | asdict(plan_summary(graph, plan))


def format_table(graph: Graph, plan: Plan) -> str:
    layerwise = layerwise_plan(graph, plan)
    rows = layer_rows(graph, plan, layerwise)
    both = plan.stream is not None
    header = f"{'#':>3} {'op':<18} {'input':<22} {'output':<14} {'MACs':>10} {'weights':>9} " \
             f"{'scratch':>8} " + (f"{'live l-w':>9} " if both else "") + \
             f"{'live':>9} {'offset':>8} {'est. instr':>12}"
    lines = [header, "-" * len(header)]
    for r in rows:
        op = r.op + ("*" if r.in_place else "") + (STREAMED_MARK if r.streamed else "")
        lines.append(f"{r.index:>3} {op:<18} {r.inputs[:22]:<22} {r.output[:14]:<14} "
                     f"{r.macs:>10,} {r.weight_bytes:>9,} {r.scratch_bytes:>8,} "
                     + (f"{r.live_layerwise:>9,} " if both else "") +
                     f"{r.live:>9,} {r.output_offset:>8} "
                     f"{r.instructions_estimate:>12,}")
    s = plan_summary(graph, plan)
    arena = f"arena {s.arena_bytes:,} B ({format_bytes(s.arena_bytes)})"
    if both:
        arena += f", layer-wise {s.layerwise_arena_bytes:,} B " \
                 f"({format_bytes(s.layerwise_arena_bytes)})"
    lines += ["-" * len(header),
              f"MACs {graph.total_macs():,}   weights {graph.weight_bytes():,} B   {arena}   "
              f"peak live {plan.peak_live_bytes:,} B   layer lower bound "
              f"{plan.layer_lower_bound:,} B",
              s.describe()]
    if s.stream is not None:
        lines.append(f"streaming loop: {s.stream.loop_instructions_estimate:,} est. "
                     f"instructions ({s.stream.kernel_calls:,} kernel calls, "
                     f"{s.stream.slid_bytes:,} B slid); line buffers "
                     f"{s.stream.line_buffer_bytes:,} B + kernel scratch "
                     f"{s.stream.kernel_scratch_bytes:,} B")
    lines += [f"estimated instructions per inference {s.instructions_estimate:,} "
              f"({plan.isa.value} kernels; latency model tinyconv/cost.py)",
              "* runs in place (output overwrites its input)"]
    if both:
        lines.append(f"{STREAMED_LEGEND} (live: the run's step; live l-w: the layer-wise "
                     f"plan's)")
    return "\n".join(lines)


def write_json(graph: Graph, plan: Plan, path: Path, extra: dict | None = None) -> None:
    data = summary(graph, plan) | (extra or {})
    data["layers"] = [asdict(r) for r in layer_rows(graph, plan)]
    Path(path).write_text(json.dumps(data, indent=2) + "\n")


def plot_memory(graph: Graph, plan: Plan, path: Path) -> None:
    """Live bytes per layer (graph order) of the chosen plan and, where it streams, of the
    layer-wise plan beside it, with each plan's arena as a line."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    layerwise = layerwise_plan(graph, plan)
    rows = layer_rows(graph, plan, layerwise)
    both = plan.stream is not None
    xs = range(len(rows))
    fig, ax = plt.subplots(figsize=(max(6, len(rows) * 0.25), 4))
    if both:
        width = 0.4
        ax.bar([x - width / 2 for x in xs], [r.live_layerwise / 1024 for r in rows], width,
               color="#8c8c8c", label="layer-wise: live activations + scratch")
        ax.bar([x + width / 2 for x in xs], [r.live / 1024 for r in rows], width,
               color="#4c72b0", label=f"{plan.kind}: live activations + scratch")
        ax.axhline(layerwise.arena_bytes / 1024, color="#8c8c8c", linestyle="--",
                   label=f"layer-wise arena {layerwise.arena_bytes:,} B")
    else:
        ax.bar(xs, [r.live / 1024 for r in rows], color="#4c72b0",
               label="live activations + scratch")
    ax.axhline(plan.arena_bytes / 1024, color="#c44e52",
               label=f"{plan.kind} arena {plan.arena_bytes:,} B")
    ax.set_xticks(list(xs))
    ax.set_xticklabels([f"{r.index} {r.op}{STREAMED_MARK if r.streamed else ''}"
                        for r in rows], rotation=90, fontsize=6)
    ax.set_ylabel("KiB")
    ax.set_title(f"{Path(graph.source).name}: SRAM per layer"
                 + (f" ({STREAMED_LEGEND})" if both else ""))
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def format_layer_check(report: "VerifyReport") -> list[str]:
    """What verify --layers found: every op output equal, or the first layer that differs
    (the one to look at: the later ones inherit its error); skipped tensors with why."""
    if not report.layers:
        return []
    compared = [r for r in report.layers if not r.skipped]
    lines = []
    first = report.first_mismatched_layer
    if first is None:
        lines.append(f"layers: all {len(compared)} op outputs compared equal "
                     f"({sum(r.bytes_compared for r in compared):,} bytes)")
    else:
        differing = sum(1 for r in compared if r.mismatched_bytes)
        lines.append(f"layers: {differing} of {len(compared)} op outputs differ; the first "
                     f"is {first.describe()}: {first.mismatched_bytes:,} of "
                     f"{first.bytes_compared:,} bytes, largest difference "
                     f"{first.max_abs_diff}")
        if first.first_mismatch:
            lines.append(f"  first differing value: {first.first_mismatch}")
        if compared.index(first):
            lines.append(f"  the {compared.index(first)} op outputs before it are equal")
    for r in report.layers:
        if r.skipped:
            lines.append(f"  not compared: {r.describe()}: {r.skipped}")
    for name in report.reference_tensors_not_compared:
        lines.append(f"  not compared: LiteRT tensor {name}")
    return lines
