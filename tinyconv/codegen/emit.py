"""Render a planned graph as C: model.h (API), model.c (arena + kernel calls), weights.c.

Each op is lowered to a KernelCall (codegen/lowering); this module implements the
LowerContext those lowerings use, collects the const arrays and parameter structs they
ask for, and renders everything through the Jinja templates beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import numpy as np

from ..errors import TinyconvError
from ..ir.graph import DType, Graph, Tensor
from ..ir.ops import Isa, Op
from ..planner import Plan, variable_tensors
from ..stream import RowMap, StreamedRun
from . import lowering
from .lowering.base import PADDED_PARAMS, ROW_DIMS, CValue, c_initializer

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
    undefined=jinja2.StrictUndefined)


@dataclass
class ConstArray:
    name: str
    ctype: str
    values: np.ndarray

    def body(self) -> str:
        flat = self.values.reshape(-1)
        if self.ctype == "float":
            items = [f"{float(v)!r}f" for v in flat.astype(np.float32)]
        else:
            items = [str(int(v)) if int(v) != -(2**31) else "INT32_MIN" for v in flat]
        lines = [", ".join(items[i:i + 24]) for i in range(0, len(items), 24)]
        return ",\n    ".join(lines)

    @property
    def nbytes(self) -> int:
        return int(self.values.nbytes)


@dataclass(frozen=True)
class VariableInit:
    """A variable tensor's bytes in the arena and the byte tc_model_reset() fills them with
    (TFLite's ResetVariableTensor: the zero point of an int8 tensor, else 0)."""

    tensor: Tensor
    offset: int
    nbytes: int
    value: int


def variable_inits(graph: Graph, plan: Plan) -> list[VariableInit]:
    result = []
    for t in variable_tensors(graph):
        value = t.quant.zp & 0xFF if t.dtype is DType.INT8 and t.quant is not None else 0
        result.append(VariableInit(t, plan.tensor_offsets[t.index], t.nbytes, value))
    return result


@dataclass
class Param:
    name: str
    ctype: str
    init: str


@dataclass(frozen=True)
class LayerDump:
    """A tensor the firmware hands to tc_model_dump_layer() right after the op that produced
    it, when compiled with TC_DUMP_LAYERS (verify --layers)."""

    op: Op
    tensor: Tensor
    ptr: str


@dataclass
class StreamOperand:
    """A tensor a streamed call reads or writes: its buffer, and where in the strip
    tables its rows are (`first`: the column of the first row its line buffer holds;
    None for a whole tensor, whose buffer starts at row 0)."""

    base: str
    ctype: str
    row_bytes: int
    first: int | None
    width: int
    channels: int

    def row_ptr(self, row: str) -> str:
        offset = row if self.first is None else f"({row} - first[{self.first}])"
        # Bytes, then the cast: row_bytes counts bytes whatever the element size (int16).
        return f"(({self.ctype} *)((uint8_t *)({self.base}) + {offset} * {self.row_bytes}))"


@dataclass
class StreamCall:
    """One op of a streamed run, called in every strip where its output gains rows."""

    op: Op
    function: str
    args: list[str]
    comment: str
    done: int                      # column of its output in the `done` table
    rows: RowMap                   # input rows of its output rows
    inputs: dict[int, StreamOperand]   # by input index: the activation inputs
    output: StreamOperand
    padded: tuple[str, str] | None = None  # (ctype, static symbol) of its padded params

    def uses(self, local: str) -> bool:
        return f"&{local}" in self.args

    @property
    def uses_rows(self) -> bool:
        """Whether it passes dims of its input rows (`hi` needed)."""
        return any(self.uses(f"in_dims{i}") for i in self.inputs)


@dataclass
class StreamSlide:
    """A line buffer: slid to its start before each strip but the first."""

    operand: StreamOperand
    done: int  # column of the tensor in the `done` table


@dataclass
class StreamLoop:
    run: StreamedRun
    comment: str
    row_type: str          # uint8_t or uint16_t: the tables' element type
    done: str              # done[k][col]: rows of each produced tensor done before strip k
    done_cols: int
    first: str             # first[k][col]: first row each line buffer holds in strip k
    first_cols: int
    slides: list[StreamSlide]
    calls: list[StreamCall]

    @property
    def functions(self) -> list[str]:
        return [c.function for c in self.calls] + (["memmove"] if self.slides else [])


@dataclass
class Step:
    op: Op
    function: str
    args: list[str]
    prologue: list[str]
    comment: str
    dumps: list[LayerDump] = field(default_factory=list)  # after this step's call
    loop: StreamLoop | None = None  # a streamed run: these calls in a loop over strips

    @property
    def functions(self) -> list[str]:
        """The kernels this step calls."""
        return self.loop.functions if self.loop is not None else [self.function]


@dataclass
class _OpContext:
    """The LowerContext handed to one op's lowering."""

    owner: "ModelSource"
    op: Op
    isa: Isa
    inplace: bool
    match: str = "litert"
    counter: int = 0

    def _name(self, hint: str) -> str:
        self.counter += 1
        safe = "".join(c if c.isalnum() else "_" for c in hint.split("_")[-1] or "p")
        return f"op{self.op.index}_{safe}{self.counter}"

    def tensor_ptr(self, t: Tensor) -> str:
        return self.owner.tensor_ptr(t)

    def elements(self, t: Tensor) -> str:
        return str(t.size)

    def const_array(self, values: np.ndarray, ctype: str, hint: str) -> str:
        name = self._name(hint)
        self.owner.arrays.append(ConstArray(name, ctype, np.asarray(values)))
        return name

    def param(self, ctype: str, value: CValue, hint: str) -> str:
        name = self._name(hint)
        self.owner.params.append(Param(name, ctype, c_initializer(value)))
        return f"&{name}"

    def scratch(self) -> str:
        offset, size = self.owner.plan.scratch.get(self.op.index, (0, 0))
        if size == 0:
            return "&tc_no_scratch"
        name = self._name("scratch")
        self.owner.params.append(
            Param(name, "tc_context", f"{{.buf = tc_arena + {offset}, .size = {size}}}"))
        return f"&{name}"


@dataclass
class _StripContext(_OpContext):
    """The LowerContext of an op inside a streamed run: its activation tensors are the
    strip's rows (pointers, dims and element counts computed per call in the loop), its
    window's top padding is set per call, its scratch is the run's shared area."""

    call: StreamCall | None = None
    scratch_expr: str = "&tc_no_scratch"

    def tensor_ptr(self, t: Tensor) -> str:
        assert self.call is not None
        if t is self.op.y:
            return self.call.output.row_ptr("c0")
        for i, operand in self.call.inputs.items():
            if self.op.inputs[i] is t:
                return operand.row_ptr("lo")
        return self.owner.tensor_ptr(t)

    def elements(self, t: Tensor) -> str:
        return f"(c1 - c0) * {t.shape[2] * t.shape[3]}"

    def param(self, ctype: str, value: CValue, hint: str) -> str:
        assert self.call is not None
        if hint in ROW_DIMS and (ROW_DIMS[hint] is None or ROW_DIMS[hint] in self.call.inputs):
            return "&out_dims" if ROW_DIMS[hint] is None else f"&in_dims{ROW_DIMS[hint]}"
        symbol = super().param(ctype, value, hint)
        if ctype in PADDED_PARAMS and self.call.rows.pad > 0:
            self.call.padded = (ctype, symbol[1:])
            return "&params"
        return symbol

    def scratch(self) -> str:
        return self.scratch_expr


def _call_comment(op: Op, call: lowering.KernelCall, inplace: bool = False) -> str:
    """`#3 CONV_2D 1x48x48x8 -> 1x48x48x16 (in place): <the lowering's comment>`."""
    shapes = " + ".join("x".join(map(str, t.shape)) for t in op.activation_inputs())
    return (f"#{op.index} {op.kind} {shapes} -> {'x'.join(map(str, op.y.shape))}"
            + (" (in place)" if inplace else "") + (f": {call.comment}" if call.comment else ""))


def _stream_step(source: "ModelSource", run: StreamedRun, match: str) -> Step:
    """The loop over strips that runs `run` (tinyconv/stream.py): per strip, the line
    buffers slid, then every op with new output rows called on them."""
    plan, sched = source.plan, run.schedule
    scratch_offset, _ = plan.scratch[run.index]
    produced = [op.y for op in sched.ops]
    done_col = {t.index: i for i, t in enumerate(produced)}
    first_col = {t.index: i for i, t in enumerate(sched.lined)}
    biggest = max(max(max(v) for v in sched.done.values()),
                  max((max(v) for v in sched.first.values()), default=0))
    row_type = "uint8_t" if biggest <= 0xFF else "uint16_t"

    def operand(t: Tensor) -> StreamOperand:
        if t.index in first_col:
            base = f"tc_arena + {scratch_offset + run.line_offset(t)}"
            first = first_col[t.index]
        else:
            base, first = f"tc_arena + {plan.tensor_offsets[t.index]}", None
        return StreamOperand(base, t.dtype.c_type, t.shape[2] * t.shape[3] * t.dtype.itemsize,
                             first, t.shape[2], t.shape[3])

    kernel_offset = scratch_offset + sched.lines_bytes
    scratch_expr = "&tc_no_scratch"
    if run.kernel_scratch_bytes:
        name = f"op{run.index}_scratch"
        source.params.append(Param(name, "tc_context", f"{{.buf = tc_arena + {kernel_offset}, "
                                                       f".size = {run.kernel_scratch_bytes}}}"))
        scratch_expr = f"&{name}"
    calls = []
    for op in sched.ops:
        inputs = {i: operand(t) for i, t in enumerate(op.inputs)
                  if t is not None and not t.is_constant}
        call = StreamCall(op, "", [], "", done_col[op.y.index], sched.maps[op.index], inputs,
                          operand(op.y))
        ctx = _StripContext(source, op, plan.isa, False, match, call=call,
                            scratch_expr=scratch_expr)
        kernel = lowering.lower(op, ctx)
        assert kernel is not None
        call.function, call.args = kernel.function, kernel.args
        call.comment = _call_comment(op, kernel)
        calls.append(call)
    strips = sched.strips
    done = np.array([[sched.done[t.index][k] for t in produced] for k in range(strips + 1)])
    first = np.array([[sched.first[t.index][k] for t in sched.lined] for k in range(strips)])
    done_name = f"op{run.index}_done"
    first_name = f"op{run.index}_first"
    source.arrays.append(ConstArray(done_name, row_type, done))
    if sched.lined:
        source.arrays.append(ConstArray(first_name, row_type, first))
    slides = [StreamSlide(operand(t), done_col[t.index]) for t in sched.lined]
    loop = StreamLoop(run, f"#{run.index} {run.describe()}: {len(sched.calls)} kernel calls, "
                           f"line buffers {sched.lines_bytes} B", row_type,
                      done_name, len(produced), first_name, len(sched.lined), slides, calls)
    return Step(run, "", [], [], loop.comment, loop=loop)


@dataclass
class ModelSource:
    graph: Graph
    plan: Plan
    arrays: list[ConstArray] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    # Every op's output, in execution order: what a TC_DUMP_LAYERS build dumps.
    layers: list[LayerDump] = field(default_factory=list)
    # Dumps of aliases (RESHAPE) that run before the first kernel call.
    leading_dumps: list[LayerDump] = field(default_factory=list)
    _constants: dict[int, str] = field(default_factory=dict)

    def tensor_ptr(self, t: Tensor) -> str:
        if t.is_constant:
            if t.index not in self._constants:
                name = f"tc_const_{t.index}"
                self.arrays.append(ConstArray(name, t.dtype.c_type, t.data))
                self._constants[t.index] = name
            return self._constants[t.index]
        offset = self.plan.tensor_offsets[t.index]
        return f"(({t.dtype.c_type} *)(tc_arena + {offset}))"

    @property
    def weights_bytes(self) -> int:
        return sum(a.nbytes for a in self.arrays)


MATCHES = ("litert", "tflm", "onnxruntime")


def generate(graph: Graph, plan: Plan, match: str = "litert") -> ModelSource:
    """`match`: reproduce LiteRT's reference kernels ("litert") or TFLite Micro ("tflm")
    where the two disagree."""
    if match not in MATCHES:
        raise TinyconvError(f"unknown --match {match!r}: use one of {', '.join(MATCHES)}")
    source = ModelSource(graph, plan)
    for op in plan.order:
        if isinstance(op, StreamedRun):
            step = _stream_step(source, op, match)
            # Of the run's tensors only its output exists whole: the one dumped.
            step.dumps = [LayerDump(op, op.y, source.tensor_ptr(op.y))]
            source.layers += step.dumps
            source.steps.append(step)
            continue
        ctx = _OpContext(source, op, plan.isa, op.index in plan.inplace_ops, match)
        call = lowering.lower(op, ctx)
        dumps = [LayerDump(op, t, source.tensor_ptr(t)) for t in op.outputs
                 if t is not None and not t.is_constant]
        source.layers += dumps
        if call is None:
            # An alias: its output already holds its bytes, dumped where it "runs".
            (source.steps[-1].dumps if source.steps else source.leading_dumps).extend(dumps)
            continue
        comment = _call_comment(op, call, inplace=ctx.inplace)
        source.steps.append(Step(op, call.function, call.args, call.prologue, comment,
                                 dumps))
    return source


def write_model(source: ModelSource, model_dir: Path, *,
                dump_layers: bool = False, profile_layers: bool = False) -> list[Path]:
    """Write model.h, model.c, weights.h, weights.c; return the paths written.

    model.c calls tc_model_dump_layer() after every op where TC_DUMP_LAYERS is defined;
    `dump_layers` defines it in model.h (so the same build flags compile either build).
    Likewise model.c calls tc_profile_mark() between two steps where TC_PROFILE_LAYERS is
    defined, which `profile_layers` does (tinyconv profile)."""
    model_dir.mkdir(parents=True, exist_ok=True)
    graph, plan = source.graph, source.plan
    context = dict(
        graph=graph, plan=plan, steps=source.steps, params=source.params,
        arrays=source.arrays,
        inputs=[(source.tensor_ptr(t), t.nbytes, t) for t in graph.inputs],
        outputs=[(source.tensor_ptr(t), t.nbytes, t) for t in graph.outputs],
        macs=graph.total_macs(), leading_dumps=source.leading_dumps,
        num_layers=len(source.layers), dump_layers=dump_layers,
        num_steps=len(source.steps), profile_layers=profile_layers,
        variables=variable_inits(graph, plan),
    )
    written = []
    for template in ("model.h", "model.c", "weights.h", "weights.c"):
        path = model_dir / template
        _write_if_changed(path, _TEMPLATES.get_template(template + ".j2").render(**context))
        written.append(path)
    return written


def _write_if_changed(path: Path, text: str) -> None:
    """Leaves an unchanged file (and its time stamp) alone: an incremental `make` then
    recompiles only what a changed file touches."""
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)


def c_string(text: str) -> str:
    """A C string literal of `text`'s UTF-8 bytes: printable ASCII as is, everything else
    (and `"`, `\\`, `?`, which could start a trigraph under -std=c99) as 3-digit octal."""
    out = []
    for byte in text.encode():
        ch = chr(byte)
        out.append(ch if 0x20 <= byte < 0x7F and ch not in '"\\?' else f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def c_comment_text(text: str) -> str:
    """`text` safe inside a /* */ comment: printable ASCII, no comment start or end."""
    safe = "".join(c if " " <= c <= "~" else "?" for c in text)
    return safe.replace("*/", "* /").replace("/*", "/ *")


@dataclass(frozen=True)
class _SampleRow:
    index: int
    label: int
    comment: str
    array: ConstArray


def write_samples(samples, model_dir: Path, source: str) -> list[Path]:
    """Write samples.h and samples.c (tinyconv/samples.py's SampleSet: the inputs, labels
    and class names as const arrays in flash) beside model.h; return the paths written."""
    model_dir.mkdir(parents=True, exist_ok=True)
    rows = [_SampleRow(int(i), int(y), c_comment_text(samples.class_names[int(y)]),
                       ConstArray(f"sample{k}", "int8_t", x))
            for k, (i, y, x) in enumerate(zip(samples.indices, samples.labels, samples.x))]
    context = dict(
        samples=samples, source=c_comment_text(source), inputs=rows,
        description=c_comment_text(samples.describe()),
        labels=ConstArray("labels", "uint16_t", np.asarray(samples.labels)),
        class_names=[c_string(n) for n in samples.class_names],
        dataset=c_string(samples.dataset), dataset_bytes=len(samples.dataset.encode()) + 1,
    )
    written = []
    for template in ("samples.h", "samples.c"):
        path = model_dir / template
        _write_if_changed(path, _TEMPLATES.get_template(template + ".j2").render(**context))
        written.append(path)
    return written
