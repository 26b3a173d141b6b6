"""The activation arena: lifetimes, aliases, in-place ops, kernel scratch and placement.

The plan this module returns is exactly what the firmware allocates: codegen emits a
static arena of `Plan.arena_bytes` and puts every tensor and every kernel's scratch at the
offsets computed here. The NAS calls the same function to decide what fits.

Buffers, not tensors, are placed: a RESHAPE output shares its input's buffer (alias), and
an op that may run in place (depthwise MCUNet-style, elementwise) writes its output over an
input that dies at that op. Each op with scratch gets a buffer that lives only at its step.
Several execution orders and placement heuristics are tried; the smallest arena wins. Then
ops with optional scratch (im2col for the SIMD convolutions) get it wherever that many bytes
are free at their step: faster kernels in the same arena.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .ir.graph import Graph, Tensor
from .ir.ops import Isa, Op

if TYPE_CHECKING:
    from .stream import StreamedRun

ALIGNMENT = 4  # int32 scratch and float tensors need word alignment; int8 SIMD loads do not


def _align(n: int) -> int:
    return (n + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


@dataclass(eq=False)
class Buffer:
    size: int
    first: int  # first step at which it holds live data
    last: int   # last step that reads it
    tensors: list[Tensor] = field(default_factory=list)
    scratch_of: Op | None = None
    # Tensors that start past the buffer's start (tensor index -> bytes): the output of
    # an op that runs in place at an offset (Op.inplace_offset).
    shifts: dict[int, int] = field(default_factory=dict)
    offset: int = -1
    optional: bool = False  # scratch granted in a gap for speed (not part of any bound)

    def overlaps_in_time(self, other: "Buffer") -> bool:
        return self.first <= other.last and other.first <= self.last

    @property
    def label(self) -> str:
        if self.scratch_of is not None:
            return f"scratch of {self.scratch_of.describe()}"
        return " = ".join(t.name for t in self.tensors)


@dataclass
class Plan:
    order: list[Op]
    buffers: list[Buffer]
    arena_bytes: int
    isa: Isa
    inplace_ops: set[int]  # op indices that run in place
    tensor_offsets: dict[int, int]  # tensor index -> arena offset
    scratch: dict[int, tuple[int, int]]  # op index -> (offset, bytes)
    live_bytes: list[int]  # per step, bytes of all live buffers
    strategy: str = ""
    # Set by tinyconv.stream.plan_model: the streamed run this plan executes (None: every
    # layer whole), the layer-wise plan's arena, the instructions streaming adds (estimate).
    stream: "StreamedRun | None" = None
    layerwise_arena_bytes: int = 0
    extra_instructions: int = 0
    cpu: str = ""  # the board's CPU, set by deploy.prepare: which latency table (cost.py)

    @property
    def recompute_macs(self) -> int:
        """MACs computed more than once: none (streamed runs keep their rows in line
        buffers instead of recomputing them)."""
        return 0

    @property
    def kind(self) -> str:
        return "layer-wise" if self.stream is None else "streamed"

    @property
    def peak_live_bytes(self) -> int:
        """The arena can never be smaller than this for this order: no fragmentation."""
        return max(self.live_bytes, default=0)

    def layer_bytes(self, op: Op) -> int:
        """Bytes the op itself needs at once: inputs, outputs, scratch (in place shared)."""
        seen: dict[int, Buffer] = {}
        for b in self.buffers:
            if b.optional:
                continue
            if b.scratch_of is op:
                seen[id(b)] = b
            for t in b.tensors:
                if any(t is x for x in list(op.inputs) + op.outputs if x is not None):
                    seen[id(b)] = b
        return sum(b.size for b in seen.values())

    @property
    def layer_lower_bound(self) -> int:
        """No order or placement can beat the largest single layer's own need."""
        return max((self.layer_bytes(op) for op in self.order), default=0)


def plan_memory(graph: Graph, isa: Isa = Isa.REF, *, allow_inplace: bool = True,
                orders: list[list[Op]] | None = None) -> Plan:
    """Try each candidate order x in-place on/off x placement heuristic; keep the smallest.
    In-place "on" also comes without the ops whose in-place is only sometimes smaller
    (Op.inplace_optional: a streamed run's output grown into its input)."""
    candidate_orders = orders or [graph.ops, memory_aware_order(graph)]
    modes = ["on", "off"] if allow_inplace else ["off"]
    if allow_inplace and any(op.inplace_optional for op in graph.ops):
        modes.insert(1, "on but optional")
    best: Plan | None = None
    for order_index, order in enumerate(candidate_orders):
        for inplace in modes:
            buffers, inplace_ops = _buffers(graph, order, isa, inplace)
            for heuristic in _ORDERINGS:
                placed = [Buffer(b.size, b.first, b.last, b.tensors, b.scratch_of,
                                 shifts=b.shifts) for b in buffers]
                arena = _place(placed, heuristic)
                strategy = f"order {order_index}, in-place {inplace}, by {heuristic}"
                if best is None or arena < best.arena_bytes:
                    best = _finish(order, placed, arena, isa, inplace_ops, strategy)
    assert best is not None
    _grant_fast_scratch(best)
    return best


def _grant_fast_scratch(plan: Plan) -> None:
    """Place each op's optional scratch (Op.fast_scratch_bytes) in the lowest gap of the
    arena that is free at its step, if there is one; the arena size never changes."""
    for step, op in enumerate(plan.order):
        size = _align(op.fast_scratch_bytes(plan.isa))
        if size == 0 or op.index in plan.scratch:
            continue
        offset = 0
        for b in sorted((b for b in plan.buffers if b.first <= step <= b.last),
                        key=lambda b: b.offset):
            if b.offset >= offset + size:
                break
            offset = max(offset, b.offset + b.size)
        if offset + size <= plan.arena_bytes:
            plan.buffers.append(Buffer(size, step, step, scratch_of=op, offset=offset,
                                       optional=True))
            plan.scratch[op.index] = (offset, size)


def memory_aware_order(graph: Graph) -> list[Op]:
    """A topological order that, among ready ops, runs the one that frees the most memory.

    For branchy graphs (residual, concatenation, Inception) this finishes a branch before
    opening another, which is what keeps the live set small.
    """
    consumers = graph.consumers()
    producers = graph.producers()
    remaining_uses = {t: len(ops) for t, ops in consumers.items()}
    done: set[int] = set()
    order: list[Op] = []
    pending = list(graph.ops)

    def ready(op: Op) -> bool:
        return all(t is None or t.is_constant or t.index not in producers
                   or id(producers[t.index]) in done for t in op.inputs)

    def gain(op: Op) -> int:
        freed = sum(t.nbytes for t in op.activation_inputs()
                    if remaining_uses.get(t.index, 0) == 1 and t not in graph.outputs)
        return freed - (0 if op.is_alias else op.output_bytes())

    while pending:
        candidates = [op for op in pending if ready(op)]
        op = max(candidates, key=lambda o: (gain(o), -pending.index(o)))
        pending.remove(op)
        done.add(id(op))
        order.append(op)
        for t in op.activation_inputs():
            remaining_uses[t.index] -= 1
    return order


def _buffers(graph: Graph, order: list[Op], isa: Isa,
             inplace: str) -> tuple[list[Buffer], set[int]]:
    """`inplace`: "on", "off", or "on but optional" (not for Op.inplace_optional ops)."""
    steps = len(order)
    last_use: dict[int, int] = {}
    for step, op in enumerate(order):
        for t in op.activation_inputs():
            last_use[t.index] = step
    for t in graph.outputs:
        last_use[t.index] = steps  # outputs stay readable after the last op

    group: dict[int, Buffer] = {}
    buffers: list[Buffer] = []
    inplace_ops: set[int] = set()

    def new_buffer(t: Tensor, step: int) -> None:
        b = Buffer(_align(t.nbytes), step, max(step, last_use.get(t.index, step)), [t])
        group[t.index] = b
        buffers.append(b)

    def join(t: Tensor, b: Buffer, shift: int = 0) -> None:
        """`t` into `b`, starting `shift` bytes from `b`'s first tensor (negative: the
        tensors already there move up by as much)."""
        if shift < 0:
            for u in b.tensors:
                b.shifts[u.index] = b.shifts.get(u.index, 0) - shift
            b.size -= shift
            shift = 0
        b.tensors.append(t)
        if shift:
            b.shifts[t.index] = shift
        b.size = max(b.size, _align(shift + t.nbytes))
        b.last = max(b.last, last_use.get(t.index, b.last))
        group[t.index] = b

    for t in graph.inputs:
        new_buffer(t, 0)
    # Variable tensors (LSTM/SVDF state) hold their bytes from one invoke to the next: live
    # at every step, before the first and after the last, so no other buffer ever shares
    # their bytes and no op runs in place over them.
    for t in variable_tensors(graph):
        last_use[t.index] = steps + 1
        new_buffer(t, 0)
    for step, op in enumerate(order):
        source = None
        if op.is_alias:
            source = op.x
        elif (inplace == "on" or (inplace == "on but optional" and not op.inplace_optional)) \
                and op.inplace_input() is not None:
            candidate = op.inputs[op.inplace_input()]
            b = group.get(candidate.index) if candidate is not None else None
            dies_here = b is not None and all(last_use.get(t.index, -1) <= step
                                              for t in b.tensors)
            if dies_here and not any(t in graph.outputs for t in b.tensors):
                source = candidate
                inplace_ops.add(op.index)
        for out in op.outputs:
            if source is not None:
                b = group[source.index]
                at = b.shifts.get(source.index, 0) + (0 if op.is_alias else op.inplace_offset())
                join(out, b, at)
            else:
                new_buffer(out, step)
        scratch = op.scratch_bytes(isa, inplace=op.index in inplace_ops)
        if scratch:
            buffers.append(Buffer(_align(scratch), step, step, scratch_of=op))
    return buffers, inplace_ops


def variable_tensors(graph: Graph) -> list[Tensor]:
    """The variable tensors the ops read (TFLite's `is_variable`: state kept across
    invokes), each once, in the order the ops first use them."""
    seen: dict[int, Tensor] = {}
    for op in graph.ops:
        for t in op.inputs:
            if t is not None and t.is_variable:
                seen.setdefault(t.index, t)
    return list(seen.values())


# Orders in which greedy first fit places buffers; each wins on some graphs.
_ORDERINGS = {
    "size": lambda b: (-b.size, b.first),  # TFLM's GreedyMemoryPlanner
    "first_use": lambda b: (b.first, -b.size),
    "lifetime": lambda b: (-(b.last - b.first), -b.size),
    "area": lambda b: (-b.size * (b.last - b.first + 1), b.first),
}


def _place(buffers: list[Buffer], heuristic: str) -> int:
    """Greedy first fit: each buffer at the lowest offset free during its lifetime."""
    queue = sorted(buffers, key=_ORDERINGS[heuristic])
    placed: list[Buffer] = []
    for b in queue:
        offset = 0
        for other in sorted((p for p in placed if p.overlaps_in_time(b)),
                            key=lambda p: p.offset):
            if other.offset >= offset + b.size:
                break
            offset = max(offset, other.offset + other.size)
        b.offset = offset
        placed.append(b)
    return max((b.offset + b.size for b in buffers), default=0)


def _finish(order: list[Op], buffers: list[Buffer], arena: int, isa: Isa,
            inplace_ops: set[int], strategy: str) -> Plan:
    tensor_offsets = {t.index: b.offset + b.shifts.get(t.index, 0)
                      for b in buffers for t in b.tensors}
    scratch = {b.scratch_of.index: (b.offset, b.size) for b in buffers if b.scratch_of}
    steps = max(len(order), 1)
    live = [sum(b.size for b in buffers if b.first <= s <= b.last) for s in range(steps)]
    return Plan(order=list(order), buffers=buffers, arena_bytes=arena, isa=isa,
                inplace_ops=inplace_ops, tensor_offsets=tensor_offsets, scratch=scratch,
                live_bytes=live, strategy=strategy)
