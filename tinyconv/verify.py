"""Run an exported model on the (emulated) device and compare every output byte with
LiteRT's reference kernels; report memory and instructions beside it.

With `layers=True` every op's output tensor is compared too: a second build of the same
model, with TC_DUMP_LAYERS defined in model.h, dumps each tensor right after the op that
produced it, and the first one that differs from LiteRT's (all tensors preserved) is
the layer to look at. Memory and instructions are always measured on the normal build.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import deploy, firmware, onnx_oracle, reference, stack, worker
from .codegen.emit import LayerDump, write_model
from .defaults import DEFAULT_MATCH
from .errors import TinyconvError
from .ir.graph import Graph
from .ir.onnx_import import is_onnx
from .ir.tflite_import import import_tflite
from .report import PlanSummary, plan_summary
from .targets import Board


@dataclass
class LayerResult:
    """One op's output tensor compared with LiteRT's tensor of the same index."""

    step: int            # position in the firmware's execution order, from 0
    op_index: int        # the op's index in the .tflite
    kind: str
    tensor_index: int    # the output tensor's index in the .tflite (LiteRT's too)
    tensor: str
    shape: list[int]
    bytes_compared: int
    mismatched_bytes: int
    max_abs_diff: int
    first_mismatch: str = ""  # where the first differing value is, when any
    skipped: str = ""         # why it was not compared, when it was not

    def describe(self) -> str:
        return (f"op #{self.op_index} {self.kind} -> tensor {self.tensor_index} "
                f"{self.tensor!r} {'x'.join(map(str, self.shape))} "
                f"(step {self.step + 1} of the firmware)")


@dataclass
class VerifyReport:
    model: str
    board: str
    cpu: str
    kernels: str
    reference: str  # whose outputs were compared: "litert" (reference kernels) or "tflm"
    samples: int
    outputs_compared: int
    mismatched_bytes: int
    max_abs_diff: int
    arena_bytes: int
    planned_peak_live_bytes: int
    layer_lower_bound_bytes: int
    stack_bytes: int            # measured high-water mark
    stack_reserved_bytes: int   # STACK_SIZE the firmware was linked with
    static_ram_bytes: int
    ram_bytes: int
    planned_ram_bytes: int  # what deploy budgeted: arena + reserved stack + runtime statics
    flash_bytes: int
    instructions_per_inference: int | None
    tflm_arena_bytes: int | None = None
    tflm_mismatched_bytes: int | None = None
    reference_note: str = ""  # why the reference is not LiteRT, when --match auto chose
    tflm_note: str = ""       # why the side comparison with TFLM could not run
    # The chosen memory plan (layer-wise or streamed) and what it costs; its fields are
    # top-level keys of the JSON (plan_kind, plan_strategy, recompute_macs, stream...).
    plan: PlanSummary | None = None
    # The compiler's stack bound the reserve was set to (tinyconv/stack.py); None where the
    # stack size was given or none could be computed (the host build).
    stack_bound_bytes: int | None = None
    mismatches: list[str] = field(default_factory=list)
    # verify(layers=True): every op output in execution order, the first that differs,
    # and LiteRT's op outputs that no firmware op produces (none while the importer keeps
    # every op); all empty when layers were not compared.
    layers: list[LayerResult] = field(default_factory=list)
    layer_samples: int = 0  # how many samples (the first ones) the layers were compared on
    first_mismatched_layer: LayerResult | None = None
    reference_tensors_not_compared: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.mismatched_bytes == 0 and self.first_mismatched_layer is None

    @property
    def plan_strategy(self) -> str:
        return self.plan.plan_strategy if self.plan is not None else ""

    def write_json(self, path: Path) -> None:
        data = asdict(self)
        data |= data.pop("plan") or {}
        Path(path).write_text(json.dumps(data, indent=2) + "\n")


def samples_to_bytes(samples: list[list[np.ndarray]]) -> bytes:
    return b"".join(np.ascontiguousarray(a).tobytes() for sample in samples for a in sample)


def split_outputs(raw: bytes, graph: Graph, count: int) -> list[list[np.ndarray]]:
    result, pos = [], 0
    for _ in range(count):
        sample = []
        for t in graph.outputs:
            n = t.nbytes
            sample.append(np.frombuffer(raw[pos:pos + n], dtype=t.dtype.numpy).reshape(t.shape))
            pos += n
        result.append(sample)
    if pos != len(raw):
        raise TinyconvError(f"firmware wrote {len(raw)} output bytes, expected {pos}")
    return result


def split_layer_dumps(raw: bytes, layers: list[LayerDump], graph: Graph,
                      count: int) -> tuple[list[list[np.ndarray]], bytes]:
    """A TC_DUMP_LAYERS run's output file: per sample, one record per layer (three uint32
    little-endian: op index, tensor index, bytes; then the bytes) and the model's outputs.
    Returns the layers' arrays per sample and the outputs' bytes of all samples."""
    dumps: list[list[np.ndarray]] = []
    outputs = bytearray()
    output_bytes = sum(t.nbytes for t in graph.outputs)
    pos = 0
    for sample in range(count):
        arrays = []
        for layer in layers:
            t = layer.tensor
            header = raw[pos:pos + 12]
            want = (layer.op.index, t.index, t.nbytes)
            got = tuple(int(v) for v in np.frombuffer(header, "<u4")) if len(header) == 12 \
                else None
            if got != want:
                raise TinyconvError(f"layer dump of sample {sample}: expected op {want[0]} "
                                    f"tensor {want[1]} ({want[2]} B) at byte {pos}, found "
                                    f"{got or 'the end of the file'}")
            pos += 12
            arrays.append(np.frombuffer(raw[pos:pos + t.nbytes], dtype=t.dtype.numpy)
                          .reshape(t.shape))
            pos += t.nbytes
        dumps.append(arrays)
        outputs += raw[pos:pos + output_bytes]
        pos += output_bytes
    if pos != len(raw):
        raise TinyconvError(f"firmware wrote {len(raw)} bytes of layer dumps and outputs, "
                            f"expected {pos}")
    return dumps, bytes(outputs)


def _compare_layers(layers: list[LayerDump], ours: list[list[np.ndarray]],
                    theirs: list[dict[int, np.ndarray]]) -> list[LayerResult]:
    results = []
    for step, layer in enumerate(layers):
        t = layer.tensor
        result = LayerResult(step=step, op_index=layer.op.index, kind=layer.op.kind,
                             tensor_index=t.index, tensor=t.name, shape=list(t.shape),
                             bytes_compared=0, mismatched_bytes=0, max_abs_diff=0)
        results.append(result)
        if t.index not in theirs[0]:
            result.skipped = "LiteRT has no op that produces this tensor"
            continue
        reference_t = theirs[0][t.index]
        if reference_t.dtype != t.dtype.numpy or reference_t.size != t.size:
            result.skipped = (f"LiteRT's tensor is {reference_t.dtype} "
                              f"{'x'.join(map(str, reference_t.shape))}")
            continue
        for sample, (arrays, expected) in enumerate(zip(ours, theirs)):
            a = arrays[step]
            b = np.asarray(expected[t.index]).reshape(a.shape)
            examples: list[str] | None = [] if not result.first_mismatch else None
            compared, mismatched, max_diff = _diff([[a]], [[b]], examples)
            result.bytes_compared += compared
            result.mismatched_bytes += mismatched
            result.max_abs_diff = max(result.max_abs_diff, max_diff)
            if examples:
                result.first_mismatch = examples[0].replace("sample 0 output 0",
                                                            f"sample {sample}")
    return results


def load_inputs(path: Path, graph: Graph) -> list[list[np.ndarray]]:
    """A .npy (or .npz with one array per model input) of a batch of inputs."""
    try:
        loaded = np.load(path)
    except (OSError, ValueError) as e:
        raise TinyconvError(f"cannot read inputs {path}: {e}") from None
    arrays = [loaded[k] for k in loaded.files] if hasattr(loaded, "files") else [loaded]
    if len(arrays) != len(graph.inputs):
        raise TinyconvError(f"{path}: {len(arrays)} arrays for {len(graph.inputs)} inputs")
    batches = []
    for a, t in zip(arrays, graph.inputs):
        if tuple(a.shape[1:]) != tuple(t.shape[1:]) and tuple(a.shape) != tuple(t.shape):
            raise TinyconvError(f"{path}: input shape {a.shape} does not match the model's "
                                f"{t.shape} (expected a batch of them)")
        a = a.reshape((-1,) + tuple(t.shape))
        if a.dtype != t.dtype.numpy:
            raise TinyconvError(f"{path}: inputs are {a.dtype}, the model takes "
                                f"{t.dtype.numpy_name}")
        batches.append(a)
    return [[b[i] for b in batches] for i in range(len(batches[0]))]


def _diff(ours: list[list[np.ndarray]], theirs: list[list[np.ndarray]],
          examples: list[str] | None = None) -> tuple[int, int, int]:
    """(bytes compared, bytes that differ, largest integer difference)."""
    compared = mismatched = max_diff = 0
    for s, (sample_ours, sample_theirs) in enumerate(zip(ours, theirs)):
        for o, (a, b) in enumerate(zip(sample_ours, sample_theirs)):
            if examples is not None and len(examples) < 10 and not np.array_equal(a, b):
                where = np.argwhere(a != np.asarray(b))[:3]
                examples += [f"sample {s} output {o} at {tuple(int(i) for i in w)}: "
                             f"ours {a[tuple(w)]} reference {np.asarray(b)[tuple(w)]}"
                             for w in where]
            a_bytes = np.frombuffer(a.tobytes(), np.uint8)
            b_bytes = np.frombuffer(np.ascontiguousarray(b, dtype=a.dtype).tobytes(), np.uint8)
            compared += a_bytes.size
            mismatched += int(np.count_nonzero(a_bytes != b_bytes))
            if np.issubdtype(a.dtype, np.integer):
                d = np.abs(a.astype(np.int64) - np.asarray(b).astype(np.int64))
                max_diff = max(max_diff, int(d.max(initial=0)))
    return compared, mismatched, max_diff


def verify(model_bytes: bytes, board: Board, *, source: str = "<model>", n: int = 20,
           seed: int = 0, inputs: list[list[np.ndarray]] | None = None,
           kernels: str = "opt", sram: int | None = None, flash: int | None = None,
           stack_bytes: int | None = None, count_instructions: bool = True,
           compare_tflm: bool = False, work_dir: Path | None = None,
           match: str = DEFAULT_MATCH, layers: bool = False,
           layer_samples: int | None = None, memory: str = deploy.DEFAULT_MEMORY
           ) -> VerifyReport:
    """`match="tflm"` generates code that reproduces TFLite Micro where it differs from
    LiteRT's reference kernels, and then TFLite Micro's outputs are the ones compared;
    "auto" does so only where LiteRT cannot load or run the model (reference.py).
    `layers=True` compares every op's output tensor with LiteRT's as well, on the first
    `layer_samples` samples (default: all of them)."""
    if is_onnx(model_bytes, source):  # onnxruntime is the oracle of ONNX models
        graph, samples, expected = onnx_oracle.check_setup(model_bytes, source, inputs, n,
                                                           seed, match)
    else:
        graph = import_tflite(model_bytes, source=source)
        samples = inputs if inputs is not None else reference.random_inputs(model_bytes, n,
                                                                            seed)
        expected = reference.reference_outputs(model_bytes, samples, match)
    deployment = deploy.prepare(graph, board, kernels=kernels, sram=sram, flash=flash,
                                stack_bytes=stack_bytes, match=expected.name, memory=memory)
    return verify_deployment(deployment, model_bytes, samples, expected=expected,
                             count_instructions=count_instructions, compare_tflm=compare_tflm,
                             work_dir=work_dir, layers=layers, layer_samples=layer_samples)


def verify_deployment(deployment: deploy.Deployment, model_bytes: bytes,
                      samples: list[list[np.ndarray]], *, count_instructions: bool = True,
                      compare_tflm: bool = False, work_dir: Path | None = None,
                      layers: bool = False, layer_samples: int | None = None,
                      expected: reference.Reference | None = None) -> VerifyReport:
    """Build and run `deployment` (prepared from `model_bytes`) on `samples` and compare
    with the reference (`expected`: the oracle's outputs for `samples`, when known; else
    those of the oracle `deployment.match` names). The work directory ends up holding the
    normal build."""
    graph, board = deployment.graph, deployment.board
    source, kernels = graph.source, deployment.kernels
    if expected is None:
        expected = reference.reference_outputs(model_bytes, samples, deployment.match)
    if layers and expected.name != "litert":
        raise TinyconvError(f"--layers compares with LiteRT's intermediate tensors; the "
                            f"reference here is {expected.describe()}")
    inputs = samples_to_bytes(samples)
    if layer_samples is not None and layer_samples < 1:
        raise TinyconvError(f"layer_samples must be at least 1, not {layer_samples}")
    layer_inputs = samples[:layer_samples] if layer_samples is not None else samples
    if layers and not layer_inputs:
        raise TinyconvError("--layers needs at least one sample to compare")

    with tempfile.TemporaryDirectory(prefix="tinyconv-verify-") as tmp:
        root = Path(work_dir) if work_dir is not None else Path(tmp)
        model_dir = root / "model"

        # With a computed stack bound, the build also writes the compiler's call graphs,
        # from which the bound of this very model is read (then only the link is redone).
        bounded = deployment.stack_bound is not None

        def build() -> firmware.BuildResult:
            return firmware.build(model_dir, board, root / "build", kernels=kernels,
                                  ram_bytes=deployment.ram_budget,
                                  flash_bytes=deployment.flash_budget,
                                  stack_bytes=deployment.stack_bytes,
                                  extra_cflags=stack.CALLGRAPH_FLAG if bounded else "")
        dump_run = None
        if layers:
            # The dump build first; the normal one then differs only in model.h, so
            # `make` recompiles just model.c and the app.
            write_model(deployment.source, model_dir, dump_layers=True)
            dump_run = firmware.run(build(), samples_to_bytes(layer_inputs), len(layer_inputs))
        deploy.write_model_dir(deployment, model_dir)
        built = build()
        if bounded:
            deploy.settle_stack(deployment, stack.build_bound(board, kernels, root / "build"))
            if built.stack_reserved != deployment.stack_bytes:
                built = build()
        run = firmware.run(built, inputs, len(samples),
                           count_instructions=count_instructions and board.qemu_machine is not None)
    ours = split_outputs(run.outputs, graph, len(samples))
    examples: list[str] = []
    compared, mismatched, max_diff = _diff(ours, expected.outputs, examples)

    report = VerifyReport(
        model=source, board=board.name, cpu=board.cpu, kernels=kernels,
        reference=expected.name, reference_note=expected.note,
        samples=len(samples),
        outputs_compared=compared, mismatched_bytes=mismatched, max_abs_diff=max_diff,
        arena_bytes=deployment.plan.arena_bytes,
        planned_peak_live_bytes=deployment.plan.peak_live_bytes,
        layer_lower_bound_bytes=deployment.plan.layer_lower_bound,
        stack_bytes=run.stack_bytes, stack_reserved_bytes=built.stack_reserved,
        static_ram_bytes=built.static_ram_bytes,
        ram_bytes=built.static_ram_bytes + run.stack_bytes,
        planned_ram_bytes=deployment.planned_ram_bytes,
        flash_bytes=built.flash_bytes,
        instructions_per_inference=run.instructions_per_inference,
        plan=plan_summary(graph, deployment.plan), mismatches=examples,
        stack_bound_bytes=deployment.stack_bound.reserved if bounded else None)
    if dump_run is not None:
        dumped, dump_outputs = split_layer_dumps(dump_run.outputs, deployment.source.layers,
                                                 graph, len(layer_inputs))
        if dump_outputs != run.outputs[:len(dump_outputs)]:
            raise TinyconvError("the layer-dump build's outputs differ from the normal "
                                "build's: the dumps disturbed the model")
        reference_layers = reference.litert_intermediates(model_bytes, layer_inputs)
        report.layers = _compare_layers(deployment.source.layers, dumped, reference_layers)
        report.first_mismatched_layer = next(
            (r for r in report.layers if r.mismatched_bytes), None)
        dumped_indices = {layer.tensor.index for layer in deployment.source.layers}
        streamed_run = deployment.plan.stream
        streamed = (set() if streamed_run is None
                    else {t.index for t in streamed_run.schedule.lined})

        def why(i: int) -> str:
            if i in streamed:  # never whole in the firmware: rows in a line buffer
                return " (streamed: only in line buffers)"
            return " (no op of ours produces it)"
        report.reference_tensors_not_compared = [
            (f"{i} {graph.tensors[i].name!r}" if i < len(graph.tensors) else str(i)) + why(i)
            for i in reference_layers[0] if i not in dumped_indices]
        report.layer_samples = len(layer_inputs)
    if built.arena_bytes != deployment.plan.arena_bytes:
        raise TinyconvError(f"firmware arena is {built.arena_bytes} B, the plan said "
                            f"{deployment.plan.arena_bytes} B")
    if bounded and run.stack_bytes > deployment.stack_bound.reserved:
        raise TinyconvError(f"{source} on {board.name}: the stack reached {run.stack_bytes} B, "
                            f"over its computed bound of {deployment.stack_bound.reserved} B "
                            f"({deployment.stack_bound.describe()})")
    if compare_tflm:
        from . import tflm
        try:
            report.tflm_arena_bytes = tflm.tflm_arena(model_bytes).head_bytes
            theirs = (expected.outputs if expected.name == "tflm"
                      else tflm.tflm_outputs(model_bytes, samples))
        except (worker.OracleError, worker.OracleCrashed) as exc:
            report.tflm_note = str(exc)  # a side comparison: say why, do not fail
        else:
            _, report.tflm_mismatched_bytes, _ = _diff(ours, theirs)
    return report
