import numpy as np
import pytest

from tinyconv.ir import ops as O
from tinyconv.ir.tflite_import import import_tflite
from tinyconv.planner import plan_memory

import tflite_builder as tb


def assert_valid(plan, graph):
    for i, a in enumerate(plan.buffers):
        assert a.offset >= 0 and a.offset + a.size <= plan.arena_bytes
        for b in plan.buffers[i + 1:]:
            if a.overlaps_in_time(b):
                assert a.offset + a.size <= b.offset or b.offset + b.size <= a.offset, \
                    f"{a.label} and {b.label} overlap"
    for t in graph.activations():
        assert plan.tensor_offsets[t.index] + t.nbytes <= plan.arena_bytes
    assert plan.arena_bytes >= plan.peak_live_bytes >= plan.layer_lower_bound


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("isa", list(O.Isa))
def test_plans_never_overlap_live_buffers(seed, isa):
    graph = import_tflite(tb.small_convnet_model(np.random.default_rng(seed)), "convnet")
    assert_valid(plan_memory(graph, isa), graph)


def _chain(with_residual: bool) -> bytes:
    """conv -> depthwise -> conv (-> ADD with the first conv's output)."""
    rng = np.random.default_rng(3)
    b = tb.ModelBuilder()
    x = tb._int8_input(b, rng, (1, 16, 16, 4))
    c1 = tb._conv(b, rng, x, 16, 3, 1)
    d = tb._depthwise(b, rng, c1)
    c2 = tb._conv(b, rng, d, 16 if with_residual else 4, 1, 1, activation="NONE")
    out = c2
    if with_residual:
        out = b.like(c2)
        b.op("ADD", [c1, c2], [out], tb.schema.AddOptionsT())
    return b.build([x], [out])


def test_depthwise_runs_in_place_when_its_input_dies():
    graph = import_tflite(_chain(with_residual=False), "chain")
    plan = plan_memory(graph, O.Isa.REF)
    dw = graph.ops[1]
    assert dw.index in plan.inplace_ops
    assert plan.tensor_offsets[dw.x.index] == plan.tensor_offsets[dw.y.index]
    without = plan_memory(graph, O.Isa.REF, allow_inplace=False)
    # The depthwise step is the peak: in place it holds one 16x16x16 activation and
    # 16x16x4 bytes of scratch instead of two activations.
    assert without.arena_bytes == 2 * 16 * 16 * 16
    assert plan.arena_bytes == 16 * 16 * 16 + 16 * 16 * 4
    assert_valid(plan, graph)


def test_depthwise_whose_input_is_still_needed_is_not_in_place():
    graph = import_tflite(_chain(with_residual=True), "residual")
    plan = plan_memory(graph, O.Isa.REF)
    assert graph.ops[1].index not in plan.inplace_ops
    assert graph.ops[3].index in plan.inplace_ops  # the ADD writes over a dying input
    assert_valid(plan, graph)


def test_reshape_is_an_alias():
    b = tb.ModelBuilder()
    x = b.tensor((1, 4, 4, 2), "int8", 0.1, 0)
    r = b.tensor((1, 32), "int8", 0.1, 0)
    y = b.tensor((1, 32), "int8", 0.1, 0)
    b.op("RESHAPE", [x, b.const(np.array([1, 32], np.int32))], [r])
    b.op("RELU", [r], [y])
    graph = import_tflite(b.build([x], [y]), "reshape")
    plan = plan_memory(graph, O.Isa.REF)
    assert plan.tensor_offsets[r] == plan.tensor_offsets[x]
    assert plan.arena_bytes == 32  # the RELU runs in place too


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("isa", [O.Isa.DSP, O.Isa.MVE])
def test_optional_im2col_scratch_never_grows_the_arena(seed, isa):
    """SIMD convs get their im2col scratch only in gaps free at their step: the arena is the
    portable kernels' one, the scratch overlaps no live buffer (assert_valid), and a conv
    whose peak step leaves a gap gets it."""
    graph = import_tflite(tb.small_convnet_model(np.random.default_rng(seed)), "convnet")
    ref, simd = plan_memory(graph, O.Isa.REF), plan_memory(graph, isa)
    assert simd.arena_bytes == ref.arena_bytes
    assert_valid(simd, graph)
    for index, (_, size) in simd.scratch.items():
        op = next(o for o in graph.ops if o.index == index)
        assert isinstance(op, (O.Conv2D, O.DepthwiseConv2D))
        if isinstance(op, O.Conv2D):
            assert size == op.fast_scratch_bytes(isa) > 0


def test_first_conv_with_one_channel_gets_scratch_only_where_it_fits():
    """LeNet-style first layer (1 input channel: not a whole DSP word): its im2col scratch is
    granted when the arena has room at that step, else the kernel runs without it (with
    columns this small, on the stack: tc_convolve_s8_get_stack_buffer_size)."""
    def convs(channels: tuple[int, ...]):
        rng = np.random.default_rng(5)
        b = tb.ModelBuilder()
        x = y = tb._int8_input(b, rng, (1, 12, 12, 1))
        for c in channels:
            y = tb._conv(b, rng, y, c, 3, 1)
        return import_tflite(b.build([x], [y]), "convs")

    alone = convs((8,))             # its step is the peak: 144 + 1152 bytes, no gap
    plan = plan_memory(alone, O.Isa.DSP)
    assert plan.arena_bytes == 144 + 1152 and not plan.scratch
    followed = convs((8, 2))        # the peak is the second step (1152 + 288 bytes)
    plan = plan_memory(followed, O.Isa.DSP)
    assert plan.arena_bytes == plan_memory(followed, O.Isa.REF).arena_bytes == 1152 + 288
    first = followed.ops[0]
    # Two int16 columns of K = 9 rounded up to 12, and a word for alignment.
    assert plan.scratch[first.index][1] == first.fast_scratch_bytes(O.Isa.DSP) == 52
    assert_valid(plan, followed)


# -- brute force: every plan against lifetimes computed here, step by step ----------------

REPO = __import__("pathlib").Path(__file__).resolve().parents[2]


def brute_force_check(plan, graph) -> int:
    """Check `plan` against tensor lifetimes computed independently from its op order, and
    return the largest sum of live bytes at one step (a lower bound of any arena).

    A tensor lives from the step that produces it (graph inputs: step 0) to the last step
    that reads it (graph outputs: after the last op); an op's scratch at its step. Two
    regions live at the same step may share bytes only where the plan says they share a
    buffer: an alias (RESHAPE) or an in-place op's output and its input.
    """
    order = plan.order
    end = len(order)
    first: dict[int, int] = {t.index: 0 for t in graph.inputs}
    last: dict[int, int] = {}
    for step, op in enumerate(order):
        for t in op.outputs:
            first[t.index] = step
        for t in op.activation_inputs():
            last[t.index] = step
    for t in graph.outputs:
        last[t.index] = end
    tensors = {t.index: t for t in graph.activations()}
    assert set(first) == set(tensors), "every activation is produced or a graph input"

    # tensors allowed to share bytes: union-find over aliases and in-place pairs
    parent = {i: i for i in tensors}

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for op in order:
        pair = None
        if op.is_alias:
            pair = (op.x, op.outputs[0])
        elif op.index in plan.inplace_ops:
            pair = (op.inputs[op.inplace_input()], op.outputs[0])
        if pair is not None:
            parent[root(pair[1].index)] = root(pair[0].index)

    # (label, group, offset, size, first, last)
    regions = []
    for i, t in tensors.items():
        offset = plan.tensor_offsets[i]
        regions.append((t.name, ("t", root(i)), offset, t.nbytes, first[i],
                        max(first[i], last.get(i, first[i]))))
    for step, op in enumerate(order):
        need = op.scratch_bytes(plan.isa, inplace=op.index in plan.inplace_ops)
        if need:
            assert op.index in plan.scratch and plan.scratch[op.index][1] >= need, \
                f"{op.describe()} needs {need} B of scratch"
        if op.index in plan.scratch:
            offset, size = plan.scratch[op.index]
            regions.append((f"scratch of {op.describe()}", ("s", op.index), offset, size,
                            step, step))

    peak = 0
    for step in range(end + 1):
        live = sorted((r for r in regions if r[4] <= step <= r[5]), key=lambda r: r[2])
        for k, a in enumerate(live):
            assert a[2] >= 0 and a[2] + a[3] <= plan.arena_bytes, \
                f"{a[0]} ends at {a[2] + a[3]}, past the {plan.arena_bytes} B arena"
            for b in live[k + 1:]:
                if b[2] >= a[2] + a[3]:
                    break
                assert a[1] == b[1], f"step {step}: {a[0]} and {b[0]} overlap in the arena"
        # bytes that must coexist: each sharing group counts once, at its largest member
        groups: dict = {}
        for r in live:
            groups[r[1]] = max(groups.get(r[1], 0), r[3])
        peak = max(peak, sum(groups.values()))
    assert plan.arena_bytes >= peak
    assert plan.peak_live_bytes >= peak  # the planner's own peak never understates
    return peak


def _zoo_graphs():
    paths = sorted((REPO / "models").glob("*/*.tflite"))
    return [pytest.param(p, id=p.parent.name) for p in paths]


@pytest.mark.parametrize("path", _zoo_graphs())
@pytest.mark.parametrize("isa", list(O.Isa))
def test_brute_force_zoo_models(path, isa):
    graph = import_tflite(path.read_bytes(), path.name)
    plan = plan_memory(graph, isa)
    peak = brute_force_check(plan, graph)
    assert peak > 0
    assert_valid(plan, graph)


@pytest.mark.parametrize("kind", sorted(tb.SINGLE_OP_BUILDERS))
def test_brute_force_single_op_models(kind):
    rng = np.random.default_rng(11)
    for _ in range(2):
        graph = import_tflite(tb.SINGLE_OP_BUILDERS[kind](rng), kind)
        for isa in O.Isa:
            brute_force_check(plan_memory(graph, isa), graph)


def random_graph(rng: np.random.Generator) -> bytes:
    """A random int8 DAG: convs, depthwise, residual ADDs, CONCATENATION, RESHAPE, pools,
    several outputs; branches keep earlier tensors alive across later steps."""
    b = tb.ModelBuilder("random graph")
    hw = int(rng.integers(4, 10))
    x = tb._int8_input(b, rng, (1, hw, hw, int(rng.integers(1, 5))))
    live = [x]
    outputs = []
    for _ in range(int(rng.integers(3, 10))):
        src = live[int(rng.integers(len(live)))]
        shape = b.tensors[src].shape
        kind = rng.choice(["conv", "dw", "add", "concat", "reshape", "pool"])
        if kind == "conv":
            y = tb._conv(b, rng, src, int(rng.integers(1, 9)), int(rng.choice([1, 3])),
                         int(rng.choice([1, 1, 2])))
        elif kind == "dw":
            y = tb._depthwise(b, rng, src)
        elif kind == "add":
            same = [t for t in live if b.tensors[t].shape == shape and t != src]
            if not same:
                continue
            other = same[int(rng.integers(len(same)))]
            y = b.like(src)
            b.op("ADD", [src, other], [y], tb.schema.AddOptionsT())
        elif kind == "concat":
            same = [t for t in live if b.tensors[t].shape[:3] == shape[:3]]
            other = same[int(rng.integers(len(same)))]
            y = b.like(src, shape=tuple(shape[:3]) + (shape[3] + b.tensors[other].shape[3],))
            b.op("CONCATENATION", [src, other], [y], tb.schema.ConcatenationOptionsT(axis=3))
        elif kind == "reshape":
            n = int(np.prod(shape))
            r = b.like(src, shape=(1, n))
            b.op("RESHAPE", [src, b.const(np.array([1, n], np.int32))], [r])
            outputs.append(r)  # a rank-2 tensor ends its branch
            continue
        else:
            if shape[1] < 2 or shape[2] < 2:
                continue
            y = b.like(src, shape=(1, shape[1] // 2, shape[2] // 2, shape[3]))
            b.op("MAX_POOL_2D", [src], [y], tb.schema.Pool2DOptionsT(
                padding=tb.Padding.VALID, strideH=2, strideW=2, filterHeight=2,
                filterWidth=2))
        live.append(y)
    consumed = {i for op in b.operators for i in op.inputs}
    outputs += [t for t in live[1:] if t not in consumed]
    if not outputs:
        outputs = [live[-1]] if len(live) > 1 else []
    if not outputs:  # nothing was added: one conv
        outputs = [tb._conv(b, rng, x, 4, 3, 1)]
    return b.build([x], sorted(set(outputs)))


@pytest.mark.parametrize("seed", range(30))
def test_brute_force_random_graphs(seed):
    rng = np.random.default_rng(seed)
    graph = import_tflite(random_graph(rng), f"random {seed}")
    for isa in O.Isa:
        plan = plan_memory(graph, isa)
        brute_force_check(plan, graph)
        without = plan_memory(graph, isa, allow_inplace=False)
        brute_force_check(without, graph)
        assert not without.inplace_ops
