"""Per-layer memory and compute tables (with the latency model's estimated instructions,
tinyconv.cost), and the memory plot, from the IR and the plan; the per-layer lines of a
verify report."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import cost
from .ir.graph import Graph
from .planner import Plan
from .units import format_bytes

if TYPE_CHECKING:
    from .verify import VerifyReport


@dataclass
class LayerRow:
    index: int
    op: str
    inputs: str
    output: str
    macs: int
    weight_bytes: int
    scratch_bytes: int
    live_bytes: int
    output_offset: int
    in_place: bool
    instructions_estimate: int  # the latency model's, on the plan's kernels (0: no kernel)


def layer_rows(graph: Graph, plan: Plan) -> list[LayerRow]:
    estimates = cost.estimate(graph, plan.isa, plan).by_op()
    rows = []
    for step, op in enumerate(plan.order):
        rows.append(LayerRow(
            index=op.index, op=op.kind,
            inputs=" ".join("x".join(map(str, t.shape)) for t in op.activation_inputs()),
            output="x".join(map(str, op.y.shape)),
            macs=op.macs(), weight_bytes=op.weight_bytes(),
            scratch_bytes=plan.scratch.get(op.index, (0, 0))[1],
            live_bytes=plan.live_bytes[step],
            output_offset=plan.tensor_offsets.get(op.y.index, -1),
            in_place=op.index in plan.inplace_ops,
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
        "plan_strategy": plan.strategy,
        "isa": plan.isa.value,
        "instructions_estimate": cost.estimate(graph, plan.isa, plan).instructions,
    }


def format_table(graph: Graph, plan: Plan) -> str:
    rows = layer_rows(graph, plan)
    header = f"{'#':>3} {'op':<18} {'input':<22} {'output':<14} {'MACs':>10} {'weights':>9} " \
             f"{'scratch':>8} {'live':>9} {'offset':>8} {'est. instr':>12}"
    lines = [header, "-" * len(header)]
    for r in rows:
        op = r.op + ("*" if r.in_place else "")
        lines.append(f"{r.index:>3} {op:<18} {r.inputs[:22]:<22} {r.output[:14]:<14} "
                     f"{r.macs:>10,} {r.weight_bytes:>9,} {r.scratch_bytes:>8,} "
                     f"{r.live_bytes:>9,} {r.output_offset:>8} "
                     f"{r.instructions_estimate:>12,}")
    s = summary(graph, plan)
    lines += ["-" * len(header),
              f"MACs {s['macs']:,}   weights {s['weight_bytes']:,} B   "
              f"arena {s['arena_bytes']:,} B ({format_bytes(s['arena_bytes'])})   "
              f"peak live {s['peak_live_bytes']:,} B   layer lower bound "
              f"{s['layer_lower_bound_bytes']:,} B",
              f"estimated instructions per inference {s['instructions_estimate']:,} "
              f"({s['isa']} kernels; latency model tinyconv/cost.py)",
              "* runs in place (output overwrites its input)"]
    return "\n".join(lines)


def write_json(graph: Graph, plan: Plan, path: Path, extra: dict | None = None) -> None:
    data = summary(graph, plan) | (extra or {})
    data["layers"] = [asdict(r) for r in layer_rows(graph, plan)]
    Path(path).write_text(json.dumps(data, indent=2) + "\n")


def plot_memory(graph: Graph, plan: Plan, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = layer_rows(graph, plan)
    fig, ax = plt.subplots(figsize=(max(6, len(rows) * 0.25), 4))
    ax.bar(range(len(rows)), [r.live_bytes / 1024 for r in rows], color="#4c72b0",
           label="live activations + scratch")
    ax.axhline(plan.arena_bytes / 1024, color="#c44e52", label="planned arena")
    ax.axhline(plan.layer_lower_bound / 1024, color="#55a868", linestyle="--",
               label="layer-wise lower bound")
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([f"{r.index} {r.op}" for r in rows], rotation=90, fontsize=6)
    ax.set_ylabel("KiB")
    ax.set_title(f"{Path(graph.source).name}: SRAM per layer")
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
        lines.append(f"  not compared: LiteRT tensor {name} (no op of ours produces it)")
    return lines
