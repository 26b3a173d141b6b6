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
from ..ir.graph import Graph, Tensor
from ..ir.ops import Isa, Op
from ..planner import Plan
from . import lowering
from .lowering.base import CValue, c_initializer

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
class Step:
    op: Op
    function: str
    args: list[str]
    prologue: list[str]
    comment: str
    dumps: list[LayerDump] = field(default_factory=list)  # after this step's call


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


MATCHES = ("litert", "tflm")


def generate(graph: Graph, plan: Plan, match: str = "litert") -> ModelSource:
    """`match`: reproduce LiteRT's reference kernels ("litert") or TFLite Micro ("tflm")
    where the two disagree."""
    if match not in MATCHES:
        raise TinyconvError(f"unknown --match {match!r}: use one of {', '.join(MATCHES)}")
    source = ModelSource(graph, plan)
    for op in plan.order:
        ctx = _OpContext(source, op, plan.isa, op.index in plan.inplace_ops, match)
        call = lowering.lower(op, ctx)
        dumps = [LayerDump(op, t, source.tensor_ptr(t)) for t in op.outputs
                 if t is not None and not t.is_constant]
        source.layers += dumps
        if call is None:
            # An alias: its output already holds its bytes, dumped where it "runs".
            (source.steps[-1].dumps if source.steps else source.leading_dumps).extend(dumps)
            continue
        shapes = " + ".join("x".join(map(str, t.shape)) for t in op.activation_inputs())
        out = "x".join(map(str, op.y.shape))
        comment = f"#{op.index} {op.kind} {shapes} -> {out}" + (
            " (in place)" if ctx.inplace else "") + (f": {call.comment}" if call.comment else "")
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
