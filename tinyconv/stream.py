"""Streamed execution of the high-resolution layers: memory below the layer-wise bound.

The layer-wise plan (tinyconv/planner.py) can never go below the largest single layer's
input + output: both exist whole at that step. On MCU-sized CNNs that peak sits in the
first, high-resolution layers. A *streamed run* executes a run of consecutive layers that
starts at the model's input, up to one tensor (the run's output), strip by strip:

- the strips advance through the run's input, S rows each (the strip height), and in each
  strip every layer computes the output rows its input's rows then allow (a layer runs as
  soon as its window is complete);
- every tensor inside the run lives only in a line buffer that holds the rows its
  consumers' kernel windows still need (StreamNet / vMCU-style layer fusion). Each layer
  computes each of its rows once; the rows a window shares with the next strip's window
  stay in the buffer, slid to its start (a memmove of those rows): no recomputation, so
  `recompute_macs` is 0 for every streamed plan;
- the run's input and output are whole tensors in the arena; the kernels run on row
  sub-regions of their input (a pointer to the first row the window needs, the number of
  rows there, and the top padding only where the window overhangs the true image border).
  The output may go in place: it starts below the input (Schedule.input_shift bytes) and
  grows into the input rows no later strip reads.

The row arithmetic, exactly as the kernels index (TFLite's ComputePaddingHeightWidth top
padding `pad`, stride `s`, window extent `e = (k - 1) * dilation + 1`): output rows
[c0, c1) of a layer read input rows [max(0, c0*s - pad), min(H, (c1-1)*s - pad + e)), with
top padding max(0, pad - c0*s) inside that call. Every op kind that maps rows this way is
streamable: convolution, depthwise, pooling, elementwise (inputs of the output's shape, or
constants broadcast over rows) and the unary activations.

`Schedule` holds, per strip, the rows each tensor has done and the first row each line
buffer holds (the firmware reads both from two small tables in flash); from them its exact
line buffer sizes, the bytes slid and the kernel calls. A `StreamedRun` op stands for the
run in a rewritten graph, with the line buffers and the kernels' scratch as its scratch, so
that `plan_memory` places it like any layer: the planned arena stays exactly what the
firmware allocates.

`plan_model` chooses among the layer-wise plan and the streamed ones (every run end x strip
height x im2col scratch in the run or not): by default the fastest that fits the arena
budget (the layer-wise plan where it fits: no extra instruction; among streamed plans the
least extra by the latency model, tinyconv/cost.py), `memory="min"` the smallest,
`memory="layer"` never streams.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import ClassVar

import numpy as np

from .defaults import DEFAULT_MEMORY, MEMORY_CHOICES  # noqa: F401 (re-exported)
from .ir import ops as O
from .ir.graph import Graph, Tensor
from .planner import Plan, _align, plan_memory

STRIP_ROWS = (1, 2, 4, 8, 16, 32)  # strip heights tried (those below the run's height)

_UNARY = (O.Relu, O.Relu6, O.LeakyRelu, O.HardSwish, O.Logistic, O.Tanh)
_BINARY = (O.Add, O.Sub, O.Mul)


@dataclass(frozen=True)
class RowMap:
    """Which input rows a layer's output rows read: out rows [c0, c1) need input rows
    [max(0, c0*stride - pad), min(height, (c1 - 1)*stride - pad + extent))."""

    stride: int
    pad: int
    extent: int
    height: int

    def lo(self, c0):
        """First input row output row `c0` reads (`c0` a number or an array of them)."""
        return np.clip(np.asarray(c0) * self.stride - self.pad, 0, self.height)

    def hi(self, c1):
        """One past the last input row output rows [.., c1) read."""
        c1 = np.asarray(c1)
        return np.where(c1 <= 0, 0, np.clip((c1 - 1) * self.stride - self.pad + self.extent,
                                            0, self.height))

    def pad_top(self, c0):
        """The window's overhang above the image at output row `c0` (the call's padding)."""
        return np.maximum(self.pad - np.asarray(c0) * self.stride, 0)

    def ready(self, available, out_height: int):
        """How many output rows the input's first `available` rows allow: the largest c
        with hi(c) <= available (all of them once the input is complete)."""
        available = np.asarray(available)
        rows = np.clip((available + self.pad - self.extent) // self.stride + 1, 0, out_height)
        return np.where(available >= self.height, out_height, rows)


def _spatial(t: Tensor) -> bool:
    return len(t.shape) == 4 and t.shape[0] == 1


def _window_pad(in_size: int, extent: int, stride: int, out_size: int) -> int:
    """Top padding as TFLite derives it (codegen/lowering/base.conv_padding)."""
    return max(((out_size - 1) * stride + extent - in_size) // 2, 0)


def row_map(op: O.Op) -> RowMap | None:
    """The op's row map from its activation input(s), or None if it cannot be streamed."""
    if not op.outputs or len(op.outputs) != 1 or not _spatial(op.y):
        return None
    acts = op.activation_inputs()
    if not acts or not all(_spatial(t) for t in acts):
        return None
    x, oh = acts[0], op.y.shape[1]
    if isinstance(op, (O.Conv2D, O.DepthwiseConv2D)):
        if len(acts) != 1 or len(op.filter.shape) != 4:
            return None
        kh, (sh, _), (dh, _) = op.filter.shape[1], op.stride, op.dilation
        extent = (kh - 1) * dh + 1
        return RowMap(sh, _window_pad(x.shape[1], extent, sh, oh), extent, x.shape[1])
    if isinstance(op, (O.AveragePool2D, O.MaxPool2D)):
        if len(acts) != 1:
            return None
        fh, sh = op.filter_size[0], op.stride[0]
        return RowMap(sh, _window_pad(x.shape[1], fh, sh, oh), fh, x.shape[1])
    if isinstance(op, _BINARY):
        if any(t.shape != op.y.shape for t in acts):
            return None
        constants = [t for t in op.inputs if t is not None and t.is_constant]
        if any(t.nhwc()[1] != 1 for t in constants):
            return None  # a constant with rows of its own would need its rows sliced too
        return RowMap(1, 0, 1, x.shape[1])
    if isinstance(op, _UNARY) or (isinstance(op, O.Quantize) and x.dtype == op.y.dtype):
        if len(acts) != 1 or x.shape != op.y.shape:
            return None
        return RowMap(1, 0, 1, x.shape[1])
    return None


def _row_bytes(t: Tensor) -> int:
    return t.shape[2] * t.shape[3] * t.dtype.itemsize


def strip_view(op: O.Op, rows_in: int, rows_out: int) -> O.Op:
    """`op` as one call of a streamed run sees it: its activation input(s) `rows_in` rows
    high, its output `rows_out` rows (the kernels' scratch and the latency model's
    features follow from these shapes)."""
    def with_rows(t: Tensor | None, rows: int) -> Tensor | None:
        if t is None or t.is_constant:
            return t
        n, _, w, c = t.shape
        return Tensor(t.index, t.name, (n, rows, w, c), t.dtype, t.quant, None)
    return replace(op, inputs=[with_rows(t, rows_in) for t in op.inputs],
                   outputs=[with_rows(t, rows_out) for t in op.outputs])


@dataclass(frozen=True)
class Call:
    """One kernel call of a strip: op `op` computes its output rows [c0, c1)."""

    op: O.Op
    strip: int
    c0: int
    c1: int
    lo: int   # first input row it reads
    hi: int   # one past the last


@dataclass
class Schedule:
    """The strips of one run: rows done per tensor, line buffers, scratch, calls."""

    ops: list[O.Op]
    output: Tensor
    strip_rows: int                # input rows per strip
    strips: int
    inputs: list[Tensor]           # whole tensors from outside (the model's input)
    lined: list[Tensor]            # tensors that live only in line buffers
    done: dict[int, list[int]]     # produced tensor -> rows done before strip k (k=0..N)
    first: dict[int, list[int]]    # lined tensor -> first row its buffer holds in strip k
    capacity: dict[int, int]       # lined tensor -> rows of its buffer
    maps: dict[int, RowMap]        # op index -> its row map
    slid_bytes: int                # bytes moved per inference to slide the line buffers
    # (op index, input rows, output rows) -> how many calls have that shape
    call_shapes: dict[tuple[int, int, int], int]
    driver: Tensor                 # the input the strips advance through
    # In place, the output starts this many bytes below the driver input, so that no
    # strip writes an output byte over an input row that a later strip (or the output's
    # own layer, in the same call) still reads.
    input_shift: int

    @cached_property
    def calls(self) -> list[Call]:
        """Every kernel call, strip by strip, in execution order."""
        out = []
        for k in range(self.strips):
            for op in self.ops:
                c0, c1 = self.done[op.y.index][k], self.done[op.y.index][k + 1]
                if c1 > c0:
                    m = self.maps[op.index]
                    out.append(Call(op, k, c0, c1, int(m.lo(c0)), int(m.hi(c1))))
        return out

    def line_bytes(self, t: Tensor) -> int:
        return _align(self.capacity[t.index] * _row_bytes(t))

    @property
    def lines_bytes(self) -> int:
        return sum(self.line_bytes(t) for t in self.lined)

    def views(self) -> list[O.Op]:
        """Each distinct call shape of each op (what sizes its scratch)."""
        ops = {op.index: op for op in self.ops}
        return [strip_view(ops[i], rows_in, rows_out)
                for i, rows_in, rows_out in self.call_shapes]


def schedule(ops: list[O.Op], output: Tensor, strip_rows: int) -> Schedule:
    """Rows per strip of every tensor of the run `ops` (in execution order), whose one
    tensor used outside is `output`.

    The strips advance through the run's input, `strip_rows` input rows each, and every
    layer computes in a strip all the rows its input(s) then allow (RowMap.ready): a layer
    runs as soon as its window is complete, so each line buffer holds about its consumer's
    window plus one strip's rows, from the first strip on (driving the strips from the
    output instead would make the first strip fill every buffer for a whole output row)."""
    produced = {op.y.index: op for op in ops}
    consumers: dict[int, list[O.Op]] = {}
    for op in ops:
        for t in op.activation_inputs():
            consumers.setdefault(t.index, []).append(op)
    maps = {op.index: row_map(op) for op in ops}
    assert all(maps.values())
    inputs: list[Tensor] = []
    for op in ops:
        for t in op.activation_inputs():
            if t.index not in produced and all(t is not u for u in inputs):
                inputs.append(t)
    driver = max(inputs, key=lambda t: t.shape[1])
    strips = math.ceil(driver.shape[1] / strip_rows)
    # done[t][k] for k = 0..strips, all strips at once per op (producers before consumers).
    k = np.arange(strips + 1)
    driven = np.minimum(k * strip_rows, driver.shape[1])
    done: dict[int, np.ndarray] = {}
    for op in ops:
        m, height = maps[op.index], op.y.shape[1]
        ready = np.full(strips + 1, height)
        for t in op.activation_inputs():
            have = done[t.index] if t.index in done else (
                driven if t is driver else np.full(strips + 1, t.shape[1]))
            ready = np.minimum(ready, m.ready(have, height))
        ready[0] = 0
        done[op.y.index] = ready
    assert done[output.index][strips] == output.shape[1]
    lined = [op.y for op in ops if op.y is not output]
    first: dict[int, np.ndarray] = {}
    capacity: dict[int, int] = {}
    slid = 0
    for t in lined:
        start = done[t.index][:-1].copy()
        for c in consumers.get(t.index, ()):
            start = np.minimum(start, maps[c.index].lo(done[c.y.index][:-1]))
        first[t.index] = start
        capacity[t.index] = int(np.max(done[t.index][1:] - start))
        moved = (start[1:] > start[:-1]) * np.maximum(done[t.index][1:-1] - start[1:], 0)
        slid += int(moved.sum()) * _row_bytes(t)
    shapes: dict[tuple[int, int, int], int] = {}
    for op in ops:
        c0, c1 = done[op.y.index][:-1], done[op.y.index][1:]
        busy = c1 > c0
        m = maps[op.index]
        rows_in = (m.hi(c1) - m.lo(c0))[busy]
        rows_out = (c1 - c0)[busy]
        pairs, counts = np.unique(np.stack([rows_in, rows_out]), axis=1, return_counts=True)
        for (r_in, r_out), n in zip(pairs.T.tolist(), counts.tolist()):
            shapes[(op.index, r_in, r_out)] = n
    # The first driver row read after strip k: by a later strip, or by the output's own
    # layer in strip k (it reads while it writes).
    later = np.full(strips, driver.shape[1])
    for c in consumers.get(driver.index, ()):
        reads = maps[c.index].lo(done[c.y.index])
        later = np.minimum(later, reads[1:])
        if c.y is output:
            later = np.minimum(later, reads[:-1])
    written = done[output.index][1:] * _row_bytes(output)  # output bytes after strip k
    shift = _align(max(0, int(np.max(written - later * _row_bytes(driver)))))
    return Schedule(list(ops), output, strip_rows, strips, inputs, lined,
                    {i: v.tolist() for i, v in done.items()},
                    {i: v.tolist() for i, v in first.items()}, capacity, maps, slid, shapes,
                    driver, shift)


@dataclass(eq=False, kw_only=True)
class StreamedRun(O.Op):
    """A run of layers executed strip by strip (see the module docstring). Its inputs are
    the run's whole input tensor(s), its output the run's output; its scratch holds the
    line buffers, then one kernel scratch area all its calls share."""

    kind: ClassVar[str] = "STREAMED"
    schedule: Schedule
    fast: bool = False  # the shared scratch also holds the largest im2col scratch (speed)
    isa: O.Isa = O.Isa.REF
    kernel_scratch_bytes: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        need = 0
        for view in self.schedule.views():
            need = max(need, view.scratch_bytes(self.isa))
            if self.fast:
                need = max(need, view.fast_scratch_bytes(self.isa))
        self.kernel_scratch_bytes = _align(need)

    @property
    def ops(self) -> list[O.Op]:
        return self.schedule.ops

    def macs(self) -> int:
        return sum(op.macs() for op in self.ops)

    def weight_bytes(self) -> int:
        return sum(op.weight_bytes() for op in self.ops)

    def scratch_bytes(self, isa: O.Isa, inplace: bool = False) -> int:
        return self.schedule.lines_bytes + self.kernel_scratch_bytes

    def inplace_input(self) -> int | None:
        """The output may go into the driver input's buffer, behind its consumed rows
        (Schedule.input_shift), where the input is used by nothing later."""
        return next(i for i, t in enumerate(self.inputs) if t is self.schedule.driver)

    def inplace_offset(self) -> int:
        return -self.schedule.input_shift

    @property
    def inplace_optional(self) -> bool:
        return True

    def line_offset(self, t: Tensor) -> int:
        """Offset of `t`'s line buffer within the run's scratch."""
        offset = 0
        for u in self.schedule.lined:
            if u is t:
                return offset
            offset += self.schedule.line_bytes(u)
        raise KeyError(t.name)

    def describe(self) -> str:
        s = self.schedule
        first, last = self.ops[0], self.ops[-1]
        return (f"STREAMED #{first.index}-#{last.index} ({len(self.ops)} layers to "
                f"{'x'.join(map(str, self.y.shape[1:]))}, {s.strips} strips of "
                f"{s.strip_rows} input row{'s' if s.strip_rows > 1 else ''})")


# -- candidate runs --------------------------------------------------------------------------
def runs(graph: Graph) -> list[tuple[list[O.Op], Tensor]]:
    """Every run that can be streamed: prefixes of the graph's op order, from its input,
    of two or more streamable layers whose only tensor used after them is the last one's
    output (and whose only outside inputs are model inputs)."""
    consumers = graph.consumers()
    graph_inputs = {t.index for t in graph.inputs}
    graph_outputs = {t.index for t in graph.outputs}
    found = []
    prefix: list[O.Op] = []
    produced: set[int] = set()
    for op in graph.ops:
        if row_map(op) is None or any(t.index not in produced and t.index not in graph_inputs
                                      for t in op.activation_inputs()):
            break
        prefix.append(op)
        produced.add(op.y.index)
        inside = {id(o) for o in prefix}
        escaping = [i for i in produced
                    if i in graph_outputs or any(id(c) not in inside
                                                 for c in consumers.get(i, ()))]
        if len(prefix) >= 2 and escaping == [op.y.index] and op.y.index not in graph_outputs:
            found.append((list(prefix), op.y))
    return found


def streamed_graph(graph: Graph, run: StreamedRun) -> Graph:
    """`graph` with the run's layers replaced by the one StreamedRun op."""
    inner = {id(op) for op in run.ops}
    ops = [run] + [op for op in graph.ops if id(op) not in inner]
    return Graph(graph.name, graph.tensors, ops, graph.inputs, graph.outputs,
                 graph.source, graph.metadata)


def _run_candidates(ops: list[O.Op], output: Tensor, isa: O.Isa,
                    next_index: int) -> list[StreamedRun]:
    """The run `ops` per strip height x im2col scratch in the run or not (its schedule
    computed, not yet planned)."""
    found = []
    height = max(t.shape[1] for op in ops for t in op.activation_inputs())
    for rows in [r for r in STRIP_ROWS if r * 2 <= height]:
        sched = schedule(ops, output, rows)
        variants = [StreamedRun(inputs=list(sched.inputs), outputs=[output],
                                index=next_index, name="stream", schedule=sched,
                                fast=fast, isa=isa)
                    for fast in ((False, True) if isa is not O.Isa.REF else (False,))]
        if len(variants) == 2 and (variants[1].kernel_scratch_bytes
                                   == variants[0].kernel_scratch_bytes):
            variants.pop()  # no im2col scratch to give: the same plan
        found += variants
    return found


@dataclass
class RunEnd:
    """A run that can be streamed, and the least arena any plan streaming it needs: its
    input(s) and output live at once (the larger of them: the output may go in place),
    and every later layer runs whole (its input and output both live, the larger of them
    where it may run in place, and its scratch)."""

    ops: list[O.Op]
    output: Tensor
    least_arena: int


def run_ends(graph: Graph, isa: O.Isa) -> list[RunEnd]:
    found = runs(graph)
    need = []
    for op in graph.ops:
        if op.is_alias:
            need.append(0)
            continue
        ins = sum(_align(t.nbytes) for t in op.activation_inputs())
        outs = sum(_align(t.nbytes) for t in op.outputs)
        whole = max(ins, outs) if op.inplace_input() is not None else ins + outs
        need.append(whole + _align(op.scratch_bytes(isa, inplace=True)))
    after = [0] * (len(graph.ops) + 1)  # after[i]: the most any op from i on needs
    for i in range(len(graph.ops) - 1, -1, -1):
        after[i] = max(after[i + 1], need[i])
    inputs = sum(_align(t.nbytes) for t in graph.inputs)
    return [RunEnd(ops, output, max(inputs, _align(output.nbytes), after[len(ops)]))
            for ops, output in found]


def _next_index(graph: Graph) -> int:
    """The index a StreamedRun of `graph` takes (after every op's)."""
    return max((op.index for op in graph.ops), default=0) + 1


def candidates(graph: Graph, isa: O.Isa) -> list[StreamedRun]:
    """Every streamed run of `graph`: run end x strip height x im2col scratch or not."""
    return [run for end in run_ends(graph, isa)
            for run in _run_candidates(end.ops, end.output, isa, _next_index(graph))]


def least_arena(run: StreamedRun) -> int:
    """No plan of `run` can be smaller: its input(s), output (at least the part of it
    past the driver input's buffer, where it goes in place) and scratch live at once."""
    inputs = sum(_align(t.nbytes) for t in run.inputs if t is not None)
    driver = _align(run.schedule.driver.nbytes)
    output = max(run.schedule.input_shift, _align(run.y.nbytes) - driver)
    return inputs + output + run.scratch_bytes(run.isa)


def plan_run(graph: Graph, run: StreamedRun, layerwise: Plan | None = None) -> Plan:
    """The arena plan of `graph` with `run` streamed; its extra instructions estimated
    against `layerwise` (the layer-wise plan of `graph`; planned here if not given)."""
    from . import cost
    plan = plan_memory(streamed_graph(graph, run), run.isa)
    plan.stream = run
    plan.strategy = f"{run.describe()}{', im2col' if run.fast else ''}; {plan.strategy}"
    plan.extra_instructions = cost.stream_overhead(
        run, layerwise if layerwise is not None else plan_memory(graph, run.isa))
    plan.layerwise_arena_bytes = layerwise.arena_bytes if layerwise is not None else 0
    return plan


def streamed_plans(graph: Graph, isa: O.Isa) -> list[Plan]:
    """Every candidate streamed plan, planned (for tests and reports; plan_model prunes)."""
    base = plan_memory(graph, isa)
    return [plan_run(graph, run, base) for run in candidates(graph, isa)]


def plan_model(graph: Graph, isa: O.Isa, *, arena_budget: int | None = None,
               memory: str = DEFAULT_MEMORY, smallest: bool = True) -> Plan:
    """The layer-wise plan, or a streamed one: see the module docstring. With no plan
    within `arena_budget`, the smallest (the caller's budget check then reports it); with
    `smallest=False` then any plan over the budget (the search, which only needs to know
    that nothing fits, skips finding the smallest).

    Candidates are planned in the order that can stop early: for the smallest, by their
    least possible arena (`least_arena`) until that reaches the best found; for the
    fastest that fits, by estimated extra instructions, skipping those that cannot fit."""
    if memory not in MEMORY_CHOICES:
        from .errors import TinyconvError
        raise TinyconvError(f"unknown --memory {memory!r}: use one of "
                            f"{', '.join(MEMORY_CHOICES)}")
    base = plan_memory(graph, isa)
    base.layerwise_arena_bytes = base.arena_bytes
    if memory == "layer" or (memory == "fast" and (arena_budget is None
                                                   or base.arena_bytes <= arena_budget)):
        return base
    from . import cost
    ends = run_ends(graph, isa)
    scheduled: dict[int, list[StreamedRun]] = {}

    def runs_of(end: RunEnd) -> list[StreamedRun]:  # each end's schedules computed once
        if id(end) not in scheduled:
            scheduled[id(end)] = _run_candidates(end.ops, end.output, isa, _next_index(graph))
        return scheduled[id(end)]

    chosen = None
    if memory == "fast":
        runs_ = [run for end in ends if end.least_arena <= arena_budget
                 for run in runs_of(end) if least_arena(run) <= arena_budget]
        for run in sorted(runs_, key=lambda r: cost.stream_overhead(r, base)):
            plan = plan_run(graph, run, base)
            if plan.arena_bytes <= arena_budget:
                chosen = plan
                break
    if chosen is None and not smallest:
        return base
    if chosen is None:  # memory "min", or nothing fits: the smallest
        chosen = base
        for end in sorted(ends, key=lambda e: e.least_arena):
            if end.least_arena >= chosen.arena_bytes:
                break
            for run in sorted(runs_of(end), key=least_arena):
                if least_arena(run) >= chosen.arena_bytes:
                    break
                plan = plan_run(graph, run, base)
                if (plan.arena_bytes, plan.extra_instructions) < (chosen.arena_bytes,
                                                                  chosen.extra_instructions):
                    chosen = plan
    chosen.layerwise_arena_bytes = base.arena_bytes
    return chosen
