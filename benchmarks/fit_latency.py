"""Fit the latency model (tinyconv/cost.py) on per-layer instruction counts, and report it;
also the search's code-size line (cost.CODE_BYTES) on the search-space configs' builds.

Training data, per-layer counts from `tinyconv profile` (QEMU TCG plugin):
- benchmarks/results/kernels.json: the kernel benchmark's 7 models on Cortex-M4, M7, M55
  (rerun benchmarks/kernel_benchmark.py first when the kernels change);
- benchmarks/results/latency_fit.json (this script's --measure): mcunet and fusednet configs of the
  search space (what --max-instructions prices) on Cortex-M4, M7, M55 and M3, and the
  kernel benchmark's models on Cortex-M3 (the portable C kernels, ISA "ref").

Also (--measure-m0plus) benchmarks/results/latency_fit_m0plus.json: the same configs and
models on Cortex-M0+ (the portable kernels built for Armv6-M: table "v6m"), and
(--measure-int16) latency_fit_int16.json: 16x8 twins of the kernel benchmark's models and
the 16x8 audio net (INT16_MODELS) on M7, M55, M3 and M0+, which price int16 layers
(cost's macs16 / outputs16 features).

For each table (dsp: M4 + M7, mve: M55, ref: M3, v6m: M0+), non-negative least squares over
every measured layer, each layer's row weighted by 1 / its model's count (every model counts
alike, whatever its size), then reweighted a few rounds towards the models the fit misses
most (the goal is a bound on every model's relative error). Rewrites the table between
the FITTED markers of tinyconv/cost.py and prints, per model and CPU, the estimate
against the measured count; exits 1 when one is off by more than cost.TOLERANCE.

    python benchmarks/fit_latency.py [--measure [--cpus ...] [--firmware-dir D]]
                                     [--held-out] [--kernels-json F] [--no-write]
After a kernel change: python benchmarks/kernel_benchmark.py &&
                       python benchmarks/fit_latency.py --measure --held-out
(--measure: ~47 profiles, a few minutes; TensorFlow converts a config the first time.)

Streamed runs (tinyconv/stream.py) are priced as their layers run whole plus what cutting
them into strips adds, linear in cost.STREAM_FEATURES (per extra call, per output channel of
an extra call, per filter element of an extra KxK-convolution call, per byte the line
buffers slide, per depthwise MAC), fitted per ISA (non-negative least squares, rows weighted
by 1 / the run's count) on what each streamed run measures beyond its layers' counts in the
layer-wise plan (both from `tinyconv profile`: a streamed run is one step):
    python benchmarks/fit_latency.py --measure-streams   (~140 profiles, ~15 minutes)
measures the models of benchmarks/stream_benchmark.py and random stems under four plans
each on Cortex-M7, M55 and M3 into benchmarks/results/latency_fit_streams.json (rows
already there are kept); every fit then refits cost.STREAM too.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from tinyconv import cost, targets  # noqa: E402
from tinyconv.ir.graph import Graph  # noqa: E402
from tinyconv.ir.ops import Isa  # noqa: E402
from tinyconv.planner import Plan, plan_memory  # noqa: E402
from tinyconv.space import ArchConfig, SearchSpace  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
KERNELS_JSON = RESULTS / "kernels.json"
FIT_JSON = RESULTS / "latency_fit.json"
M0PLUS_JSON = RESULTS / "latency_fit_m0plus.json"
INT16_JSON = RESULTS / "latency_fit_int16.json"
STREAMS_JSON = RESULTS / "latency_fit_streams.json"
STREAM_CPUS = ["cortex-m7", "cortex-m55", "cortex-m3"]
STREAM_MODELS = ("vww", "mobilenetv2", "mcunet", "resnet8")
STREAM_STEMS = range(6)
COST_PY = ROOT / "tinyconv" / "cost.py"
FIT_CPUS = ["cortex-m4", "cortex-m7", "cortex-m55", "cortex-m3"]
CLASSES = 10


def _configs() -> dict[str, tuple[ArchConfig, int]]:
    """The search-space configs measured (name -> config, input channels): MobileNetV2's own
    choices at two scales, the search benchmark's winner, tests/unit/test_space.py's fixed
    config (every kernel size and expansion, residual adds, 1 channel), and random ones at
    48-112 px."""
    configs = {
        "mcunet-mbv2-0.35-64": (ArchConfig.mobilenetv2(0.35, 64), 3),
        "mcunet-mbv2-0.6-48": (ArchConfig.mobilenetv2(0.6, 48), 3),
        "mcunet-winner": (ArchConfig(0.7, 48, (1, 2, 1, 4, 3, 1, 1),
                                     (5, 7, 7, 5, 7, 7, 3, 5, 7, 7, 3, 3, 5),
                                     (4, 3, 6, 6, 3, 4, 6, 6, 4, 3, 3, 3, 4)), 3),
        "mcunet-fixed": (ArchConfig(0.35, 48, (1, 2, 1, 2, 1, 2, 1),
                                    (3, 5, 7, 3, 5, 7, 3, 3, 5, 7),
                                    (3, 4, 6, 3, 4, 6, 3, 3, 4, 6)), 1),
    }
    rng = random.Random(4)  # test_space.py's SEED: its two random built configs
    space = SearchSpace(resolutions=(48, 64, 80))
    for i in range(2):
        configs[f"mcunet-rand{i}"] = (space.sample(rng), rng.choice((1, 3)))
    rng = random.Random(11)
    space = SearchSpace(widths=(0.2, 0.35, 0.5, 0.75, 1.0), resolutions=(64, 80, 96, 112))
    for i in range(2, 6):
        configs[f"mcunet-rand{i}"] = (space.sample(rng), 3)
    # The fused backbone (no depthwise: the code-size fit's depthwise term): test_space.py's
    # fixed config and random ones at 32-48 px, kernels 3 and 5.
    configs["fusednet-fixed"] = (ArchConfig(0.5, 32, (2, 1, 2, 1), (3, 5, 3, 5, 3, 5),
                                            (1, 2, 3, 3, 2, 1), "fusednet"), 3)
    rng = random.Random(4)
    space = SearchSpace.for_backbone("fusednet", resolutions=(32, 48), kernels=(3, 5))
    for i in range(2):
        configs[f"fusednet-rand{i}"] = (space.sample(rng), rng.choice((1, 3)))
    return configs


# --- 16x8 twins ---------------------------------------------------------------------------
# The kernel benchmark's models (but MobileNetV3, whose HARD_SWISH has no int16 kernel in
# LiteRT), the search space's mcunet-fixed config and the 16x8 audio conv net of
# tests/kernels/test_kernels_int16.py, converted with int16 activations (TFLite's 16x8
# mode): what prices int16 layers (cost.CLASS_FEATURES' "macs16", "outputs16"). The audio
# net comes as its int8 twin too ("audio"); the others' int8 twins are measured above.
INT16_SUFFIX = "-16x8"
INT16_MODELS = ("vww", "dscnn", "speech", "resnet8", "autoencoder", "mobilenetv2",
                "mcunet-fixed", "audio")
INT16_CPUS = ["cortex-m7", "cortex-m55", "cortex-m3", "cortex-m0plus"]
_ZOO_SPECS = {"vww": ("mobilenetv1", (96, 96, 3), 2, 0.25), "dscnn": ("dscnn", (49, 10, 1), 12),
              "resnet8": ("resnet8", (32, 32, 3), 10),
              "mobilenetv2": ("mobilenetv2", (96, 96, 3), 2, 0.35)}


def _zoo_spec(name: str):
    """The zoo Spec of a 16x8 twin: the kernel benchmark's, or an mcunet config's as
    `_tflite` converts its int8 twin."""
    import zoo_models
    if name in _ZOO_SPECS:
        return zoo_models.Spec(*_ZOO_SPECS[name])
    cfg, channels = _configs()[name]
    return zoo_models.Spec(cfg.backbone, (cfg.resolution, cfg.resolution, channels), CLASSES,
                           cfg.width, cfg.zoo_params(), classifier_bias=True)


def _audio(mode: str) -> bytes:
    """The 16x8 audio net of tests/kernels/test_kernels_int16.py ("16x8") or its int8 twin
    ("int8"), cached on disk (keyed by its source and TensorFlow's version)."""
    import hashlib
    import importlib.metadata
    import inspect

    import zoo_models
    sys.path.insert(0, str(ROOT / "tests" / "kernels"))
    from test_kernels_int16 import audio_convnet_tflite
    digest = hashlib.sha256(inspect.getsource(audio_convnet_tflite).encode())
    digest.update(importlib.metadata.version("tensorflow").encode())
    path = zoo_models.cache_dir() / f"bench-audio-{mode}-{digest.hexdigest()[:16]}.tflite"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes(audio_convnet_tflite(mode)))
    return path.read_bytes()


def _to_16x8(model, data: np.ndarray) -> bytes:
    """`model` converted with int16 activations and int8 weights, int16 input and output."""
    from tinyconv.keras_compat import tf
    from tinyconv.quiet import native_stderr

    def representative():
        for sample in data:
            yield [sample[None, ...]]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    converter.inference_input_type = tf.int16
    converter.inference_output_type = tf.int16
    with native_stderr():
        return bytes(converter.convert())


def int16_tflite(name: str) -> bytes:
    """The 16x8 twin of INT16_MODELS' `name`, cached on disk (keyed by this file's source of
    the conversion, the zoo's and TensorFlow's version)."""
    import hashlib
    import importlib.metadata
    import inspect

    import kernel_benchmark
    import zoo_models
    if name == "audio":
        return _audio("16x8")
    digest = hashlib.sha256(inspect.getsource(_to_16x8).encode() + repr(_ZOO_SPECS).encode())
    digest.update(importlib.metadata.version("tensorflow").encode())
    zoo = name in _ZOO_SPECS or name.startswith("mcunet")
    if zoo:
        digest.update(zoo_models.cache_key(_zoo_spec(name)).encode())
    else:
        digest.update(inspect.getsource(getattr(kernel_benchmark, f"_{name}_keras")).encode())
    path = zoo_models.cache_dir() / f"bench16-{name}-{digest.hexdigest()[:16]}.tflite"
    if not path.exists():
        from tinyconv.keras_compat import keras
        if zoo:
            spec = _zoo_spec(name)
            model, data = zoo_models.prepared_model(spec), zoo_models.representative(spec)
        else:
            keras.utils.set_random_seed(zoo_models.SEED)
            model = getattr(kernel_benchmark, f"_{name}_keras")()
            rng = np.random.default_rng(zoo_models.SEED)
            data = rng.uniform(-1, 1, (8, *model.input_shape[1:])).astype(np.float32)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_to_16x8(model, data))
    return path.read_bytes()


def measure_int16(cpus: list[str], firmware_dir: Path | None = None) -> list[dict]:
    """Profile the 16x8 twins (and the audio net's int8 twin) on `cpus`."""
    rows = []
    for name in INT16_MODELS:
        blob = int16_tflite(name)
        rows += [_profile_row(name + INT16_SUFFIX, blob, cpu, {}, firmware_dir) for cpu in cpus]
        if name == "audio":
            rows += [_profile_row(name, _audio("int8"), cpu, {}, firmware_dir) for cpu in cpus]
    return rows


# --- graphs ------------------------------------------------------------------------------
def _tflite(name: str, run: dict) -> bytes:
    if name.endswith(INT16_SUFFIX):
        return int16_tflite(name[:-len(INT16_SUFFIX)])
    if name == "audio":
        return _audio("int8")
    if "arch" in run:
        import zoo_models
        cfg = ArchConfig.from_dict(run["arch"])
        spec = zoo_models.Spec(cfg.backbone, (cfg.resolution, cfg.resolution, run["channels"]),
                               run["classes"], cfg.width, cfg.zoo_params(), classifier_bias=True)
        return zoo_models.converted_spec("space", spec)  # test_space.py's cache too
    import kernel_benchmark
    return kernel_benchmark.MODELS[name][1]()


_graphs: dict[str, Graph] = {}


def _graph(run: dict) -> Graph:
    """The IR of a run's model: mcunet configs from ArchConfig.graph (no TensorFlow; the
    same ops as the converted model, test_space.py checks), the others imported."""
    name = run["name"]
    if name not in _graphs:
        if "arch" in run:
            _graphs[name] = ArchConfig.from_dict(run["arch"]).graph(run["channels"],
                                                                    run["classes"])
        else:
            from tinyconv.ir.tflite_import import import_tflite
            _graphs[name] = import_tflite(_tflite(name, run), source=name)
    return _graphs[name]


_plans: dict[tuple[str, str], Plan] = {}


def _plan(run: dict) -> Plan:
    """The run's memory plan, as deploy.prepare makes it (it decides im2col scratch)."""
    key = run["name"], _isa(run)
    if key not in _plans:
        _plans[key] = plan_memory(_graph(run), Isa(_isa(run)))
    return _plans[key]


# --- measure -----------------------------------------------------------------------------
def _profile_row(name: str, blob: bytes, cpu: str, extra: dict,
                 firmware_dir: Path | None) -> dict:
    from tinyconv.profile import profile
    start = time.time()
    r = profile(blob, targets.board_for(cpu, None), source=name, firmware_dir=firmware_dir)
    if r.mismatched_bytes:
        raise SystemExit(f"{name} on {cpu}: {r.mismatched_bytes} bytes differ from LiteRT")
    layers = [{k: v for k, v in asdict(x).items() if k != "functions"} for x in r.layers]
    print(f"  {name:<22} {cpu:<11} {r.instructions:>12,} instructions "
          f"({time.time() - start:.1f} s)", flush=True)
    return {"name": name, "cpu": cpu, "board": r.board, "kernels": r.kernels,
            "instructions": r.instructions, "profiled_instructions": r.profiled_instructions,
            "macs": r.macs, "code_bytes": r.code_bytes, **extra, "layers": layers}


def measure(cpus: list[str], firmware_dir: Path | None = None) -> list[dict]:
    """The mcunet configs on `cpus`, and the kernel benchmark's models on those of them it
    does not run (Cortex-M3, M0+)."""
    import kernel_benchmark
    from tinyconv.ir.tflite_import import import_tflite
    rows = []
    for name, (cfg, channels) in _configs().items():
        extra = {"arch": cfg.to_dict(), "channels": channels, "classes": CLASSES}
        blob = _tflite(name, extra)
        ours, real = cfg.graph(channels, CLASSES), import_tflite(blob)
        if [op.kind for op in ours.ops] != [op.kind for op in real.ops]:
            raise SystemExit(f"{name}: ArchConfig.graph differs from the converted model")
        rows += [_profile_row(name, blob, cpu, extra, firmware_dir) for cpu in cpus]
    for cpu in cpus:
        if cpu in kernel_benchmark.CPUS:
            continue
        for name, (_, load) in kernel_benchmark.MODELS.items():
            rows.append(_profile_row(name, load(), cpu, {}, firmware_dir))
    return rows


# --- fit ---------------------------------------------------------------------------------
def _isa(run: dict) -> str:
    """The run's kernel family."""
    return "ref" if run["kernels"] == "ref" else targets.board_for(run["cpu"], None).isa.value


def _table(run: dict) -> str:
    """The cost.COEFFS table the run fits (its ISA's; Armv6-M has its own)."""
    return cost.table_key(Isa(_isa(run)), run["cpu"])


TABLES = ("dsp", "mve", "ref", cost.ARMV6M)


def _columns() -> list[tuple[str, str]]:
    return [(c, f) for c, fs in cost.CLASS_FEATURES.items() for f in fs]


def _design(run: dict) -> tuple[np.ndarray, np.ndarray]:
    """Rows: the run's measured layers; columns: (class, feature) pairs."""
    ops, plan = {op.index: op for op in _graph(run).ops}, _plan(run)
    cols = {c: i for i, c in enumerate(_columns())}
    a = np.zeros((len(run["layers"]), len(cols)))
    b = np.zeros(len(run["layers"]))
    for i, layer in enumerate(run["layers"]):
        op = ops[layer["op_index"]]
        if op.kind != layer["kind"]:
            raise SystemExit(f"{run['name']}: op {op.index} is {op.kind}, measured "
                             f"{layer['kind']}: the model changed, rerun the measurements")
        cls, f = cost.cost_class(op), cost.features(op, plan)
        for feature in cost.CLASS_FEATURES[cls]:
            a[i, cols[cls, feature]] = f[feature]
        b[i] = layer["instructions"]
    return a, b


def fit(runs: list[dict], rounds: int = 30) -> dict[str, dict[str, float]]:
    from scipy.optimize import nnls
    designs = [_design(run) for run in runs]
    # Scale columns so NNLS works on numbers of one size.
    a_all = np.vstack([a for a, _ in designs])
    scale = np.maximum(np.abs(a_all).max(axis=0), 1.0)
    weights = np.ones(len(runs))
    for _ in range(rounds):
        rows, rhs = [], []
        for w, (a, b) in zip(weights, designs):
            rows.append(a / scale * (w / b.sum()))
            rhs.append(b * (w / b.sum()))
        x, _ = nnls(np.vstack(rows), np.concatenate(rhs), maxiter=50 * a_all.shape[1])
        errors = np.array([abs((a / scale @ x).sum() / b.sum() - 1) for a, b in designs])
        weights *= 1 + errors / max(errors.max(), 1e-9)  # lean on the worst-fitted models
    coef = x / scale
    table: dict[str, dict[str, float]] = {}
    for (cls, feature), value in zip(_columns(), coef):
        if value > 0:
            table.setdefault(cls, {})[feature] = float(f"{value:.4g}")
    return table


def write_table(coeffs: dict[str, dict[str, dict[str, float]]]) -> None:
    lines = ["COEFFS: dict[str, dict[str, dict[str, float]]] = {"]
    for isa, table in coeffs.items():
        lines.append(f"    \"{isa}\": {{")
        for cls, row in table.items():
            line = f"        \"{cls}\": {{"
            for feature, value in row.items():
                item = f"\"{feature}\": {value!r}"
                if len(line) + len(item) + 3 > 99:
                    lines.append(line.rstrip())
                    line = " " * 12
                line += item + ", "
            lines.append(line[:-2] + "},")
        lines.append("    },")
    lines.append("}")
    _rewrite_fitted(r"FITTED \(", r"FITTED\n", lines)


def _rewrite_fitted(begin: str, end: str, lines: list[str]) -> None:
    """Replace the lines of tinyconv/cost.py between `# BEGIN <begin>...` and `# END <end>`
    (regular expressions) with `lines`."""
    text = COST_PY.read_text()
    new, n = re.subn(rf"(# BEGIN {begin}[^\n]*\n).*?(\n# END {end})",
                     lambda m: m.group(1) + "\n".join(lines) + m.group(2), text, flags=re.S)
    if n != 1:
        raise SystemExit(f"{COST_PY}: no '# BEGIN {begin}' ... '# END {end}' markers")
    COST_PY.write_text(new)


def fit_code(runs: list[dict]) -> dict[str, tuple[float, float, float]]:
    """cost.CODE_BYTES: per ISA, least squares of the search-space configs' code bytes
    (flash without the constant arrays) on cost.code_features (1, ops, depthwise linked)."""
    out = {}
    for isa in ("dsp", "mve", "ref"):
        rows = [r for r in runs if "arch" in r and _table(r) == isa and "code_bytes" in r]
        if len(rows) < 3:
            continue
        a = np.array([cost.code_features(_graph(r)) for r in rows], float)
        coef = np.linalg.lstsq(a, np.array([r["code_bytes"] for r in rows], float), rcond=None)[0]
        out[isa] = tuple(round(float(c), 2) for c in coef)
        errors = a @ coef / np.array([r["code_bytes"] for r in rows], float) - 1
        print(f"code bytes {isa}: {coef[0]:.0f} + {coef[1]:.1f} x ops + {coef[2]:.0f} with "
              f"depthwise, error {min(errors):+.2%} .. {max(errors):+.2%} on {len(rows)} builds")
    return out


def write_code_table(table: dict[str, tuple[float, float, float]]) -> None:
    lines = ["CODE_BYTES: dict[str, tuple[float, float, float]] = {"]
    lines += [f"    \"{isa}\": {tuple(coef)!r}," for isa, coef in table.items()]
    lines.append("}")
    _rewrite_fitted("FITTED CODE", "FITTED CODE", lines)


def _estimate(run: dict, coeffs: dict) -> int:
    return cost.estimate(_graph(run), Isa(_isa(run)), _plan(run), coeffs,
                         cpu=run["cpu"]).instructions


def held_out(runs: list[dict]) -> dict[tuple[str, str], int]:
    """Each model's estimate from a table fitted without it (all its CPUs left out): how
    the model does on networks it has not seen, as the search's are. A cost class only
    that model has is then unpriced (0), which this shows too."""
    out = {}
    for name in dict.fromkeys(r["name"] for r in runs):
        rest = [r for r in runs if r["name"] != name]
        table = {_table(r): fit([x for x in rest if _table(x) == _table(r)]) for r in rest}
        for run in runs:
            if run["name"] == name and _table(run) in table:
                out[name, run["cpu"]] = _estimate(run, table)
    return out


def report(runs: list[dict], coeffs: dict, loo: dict[tuple[str, str], int]) -> float:
    """Per model and CPU: measured, estimated, error, and the held-out error. Returns the
    worst |error| on M4/M7/M55 (the kernel benchmark's models, the mcunet configs and the
    16x8 twins)."""
    print(f"\n{'model':<22} {'CPU':<13} {'table':<5} {'measured':>13} {'estimate':>13} "
          f"{'error':>7} {'held out':>9}")
    worst = 0.0
    for run in runs:
        est = _estimate(run, coeffs)
        err = est / run["instructions"] - 1
        if _table(run) not in ("ref", cost.ARMV6M):
            worst = max(worst, abs(err))
        held = loo.get((run["name"], run["cpu"]))
        held_text = f"{held / run['instructions'] - 1:>+9.1%}" if held is not None else ""
        flag = "  <-- over tolerance" if abs(err) > cost.TOLERANCE else ""
        print(f"{run['name']:<22} {run['cpu']:<13} {_table(run):<5} {run['instructions']:>13,} "
              f"{est:>13,} {err:>+7.1%} {held_text}{flag}")
    return worst


# --- streamed runs --------------------------------------------------------------------------
def _stream_blob(name: str) -> bytes:
    if name.startswith("stem"):
        from stem_models import random_stem_model
        return random_stem_model(np.random.default_rng(int(name[4:])), height=48, width=24)
    import stream_benchmark
    return stream_benchmark.MODELS[name][1]()


def _stream_plans(graph: Graph, isa: Isa, rng: random.Random) -> list:
    """The smallest plan, the one with the fewest calls, and two more at random."""
    from tinyconv import stream
    runs = stream.candidates(graph, isa)
    picked = {id(min(runs, key=stream.least_arena)): None,
              id(min(runs, key=lambda r: sum(r.schedule.call_shapes.values()))): None}
    for run in rng.sample(runs, min(2, len(runs))):
        picked[id(run)] = None
    return [r for r in runs if id(r) in picked]


def measure_streams(cpus: list[str], known: dict) -> dict:
    """Per model and CPU: the layer-wise plan's per-layer counts, and the streamed run's
    count under a few plans (what `known`, an earlier result, holds is kept)."""
    from tinyconv import deploy, stream
    from tinyconv.codegen.emit import generate
    from tinyconv.ir.tflite_import import import_tflite
    from tinyconv.profile import profile_deployment

    def key(r: dict) -> tuple:
        return r["name"], r["cpu"], r["run_end"], r["strip_rows"], r["fast"]

    rows = {key(r): r for r in known.get("runs", [])}
    layerwise = dict(known.get("layerwise", {}))
    names = list(STREAM_MODELS) + [f"stem{i}" for i in STREAM_STEMS]
    for name in names:
        blob = _stream_blob(name)
        for cpu in cpus:
            board = targets.board_for(cpu, None)
            kernels = "ref" if cpu == "cortex-m3" else "opt"
            graph = import_tflite(blob, source=name)
            if f"{name}|{cpu}" not in layerwise:
                r = profile_deployment(deploy.prepare(graph, board, kernels=kernels,
                                                      memory="layer"), blob)
                layerwise[f"{name}|{cpu}"] = {str(x.op_index): x.instructions for x in r.layers}
            isa = deploy.kernel_isa(board, kernels)
            for run in _stream_plans(graph, isa, random.Random(f"{name}:{cpu}")):
                row = {"name": name, "cpu": cpu, "kernels": kernels,
                       "run_end": run.ops[-1].index, "strip_rows": run.schedule.strip_rows,
                       "fast": run.fast}
                if key(row) in rows:
                    continue
                plan = stream.plan_run(graph, run)
                d = deploy.Deployment(graph, board, plan, generate(graph, plan), kernels, 8192,
                                      board.ram_bytes, board.flash_bytes)
                r = profile_deployment(d, blob)
                if r.mismatched_bytes:
                    raise SystemExit(f"{name} on {cpu}: {r.mismatched_bytes} bytes differ")
                row["instructions"] = next(x for x in r.layers if x.kind == "STREAMED").instructions
                rows[key(row)] = row
                print(f"  {name:<12} {cpu:<11} {run.describe():<60} {row['instructions']:>12,}",
                      flush=True)
    return {"layerwise": layerwise, "runs": list(rows.values())}


def _stream_run(row: dict):
    """The measured row's StreamedRun, rebuilt from its description."""
    from tinyconv import stream
    from tinyconv.ir.tflite_import import import_tflite
    key = row["name"], row["kernels"], row["cpu"]
    if key not in _stream_runs:
        graph = import_tflite(_stream_blob(row["name"]), source=row["name"])
        _stream_runs[key] = stream.candidates(graph, Isa(_isa(row)))
    return next(r for r in _stream_runs[key]
                if (r.ops[-1].index, r.schedule.strip_rows, r.fast)
                == (row["run_end"], row["strip_rows"], row["fast"]))


_stream_runs: dict = {}


def _whole_measured(row: dict, layerwise: dict) -> int:
    """The run's layers as the layer-wise plan ran them (measured)."""
    counts = layerwise[f"{row['name']}|{row['cpu']}"]
    return sum(counts[str(op.index)] for op in _stream_run(row).ops)


def _layerwise_plan(row: dict) -> Plan:
    from tinyconv.ir.tflite_import import import_tflite
    key = row["name"], _isa(row)
    if key not in _plans:
        graph = import_tflite(_stream_blob(row["name"]), source=row["name"])
        _plans[key] = plan_memory(graph, Isa(_isa(row)))
    return _plans[key]


def _stream_design(row: dict, coeffs: dict) -> list[float]:
    """cost.stream_features of the row's run, and the im2col term: what the whole-layer
    model says the run's scratch changes (its layers with the run's kernel scratch, minus
    with the layer-wise plan's)."""
    run = _stream_run(row)
    f = cost.stream_features(run)
    scratch = (cost.stream_whole_instructions(run, coeffs)
               - sum(cost.layer_instructions(op, _layerwise_plan(row), coeffs) for op in run.ops))
    return [f[k] for k in cost.STREAM_FEATURES] + [scratch]


def fit_streams(data: dict, coeffs: dict) -> dict[str, dict[str, float]]:
    """cost.STREAM per ISA: least squares of what streaming adds, measured (the run minus
    its layers' counts in the layer-wise plan), on the STREAM_FEATURES; the im2col term
    enters with its model coefficient 1. Rows weighted by 1 / the run's count."""
    out = {}
    for isa in ("dsp", "mve", "ref"):
        mine = [r for r in data["runs"] if _isa(r) == isa]
        if len(mine) < len(cost.STREAM_FEATURES):
            continue
        a, b = [], []
        for row in mine:
            *features, scratch = _stream_design(row, coeffs)
            extra = row["instructions"] - _whole_measured(row, data["layerwise"]) - scratch
            a.append([v / row["instructions"] for v in features])
            b.append(extra / row["instructions"])
        from scipy.optimize import nnls
        x, _ = nnls(np.array(a), np.array(b))
        out[isa] = {k: float(f"{v:.4g}") for k, v in zip(cost.STREAM_FEATURES, x)}
    return out


def report_streams(data: dict, coeffs: dict, stream_coeffs: dict) -> float:
    """Per streamed run: the measured extra over its layers in the layer-wise plan, the
    model's, and the error of the whole run's estimate (as stream_overhead prices it: the
    layer-wise measured count plus the modelled extra)."""
    print(f"\n{'streamed run':<36} {'CPU':<11} {'run':>12} {'extra':>11} {'model':>11} "
          f"{'run error':>9}")
    worst = 0.0
    for row in data["runs"]:
        run = _stream_run(row)
        *features, scratch = _stream_design(row, coeffs)
        table = stream_coeffs.get(_isa(row), {})
        model = scratch + sum(table.get(k, 0.0) * v for k, v in zip(cost.STREAM_FEATURES, features))
        whole = _whole_measured(row, data["layerwise"])
        err = (whole + model) / row["instructions"] - 1
        worst = max(worst, abs(err))
        label = f"{row['name']} #{run.ops[0].index}-#{run.ops[-1].index} x{row['strip_rows']}" + (
            " im2col" if row["fast"] else "")
        print(f"{label:<36} {row['cpu']:<11} {row['instructions']:>12,} "
              f"{row['instructions'] - whole:>+11,} {int(model):>+11,} {err:>+9.1%}")
    return worst


def write_stream_table(table: dict[str, dict[str, float]]) -> None:
    lines = ["STREAM: dict[str, dict[str, float]] = {"]
    lines += [f"    \"{isa}\": {{" + ", ".join(f"\"{k}\": {v!r}" for k, v in row.items()) + "},"
              for isa, row in table.items()]
    lines.append("}")
    _rewrite_fitted("FITTED STREAM", "FITTED STREAM", lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", action="store_true",
                        help=f"profile the mcunet configs (and the benchmark models on M3) "
                             f"first, writing {FIT_JSON.relative_to(ROOT)}")
    parser.add_argument("--cpus", default=",".join(FIT_CPUS), help="with --measure")
    parser.add_argument("--firmware-dir", type=Path,
                        help="with --measure: build against another firmware tree (as "
                             "kernel_benchmark.py --firmware-dir)")
    parser.add_argument("--kernels-json", type=Path, default=KERNELS_JSON,
                        help="the kernel benchmark's results")
    parser.add_argument("--fit-json", type=Path, default=FIT_JSON)
    parser.add_argument("--no-write", action="store_true",
                        help="report the fit without rewriting tinyconv/cost.py")
    parser.add_argument("--measure-streams", action="store_true",
                        help=f"profile streamed runs first, writing "
                             f"{STREAMS_JSON.relative_to(ROOT)}")
    parser.add_argument("--measure-m0plus", action="store_true",
                        help=f"profile the mcunet configs and the kernel benchmark's models "
                             f"on Cortex-M0+ first, writing {M0PLUS_JSON.relative_to(ROOT)}")
    parser.add_argument("--measure-int16", action="store_true",
                        help=f"profile the 16x8 twins on {', '.join(INT16_CPUS)} first, "
                             f"writing {INT16_JSON.relative_to(ROOT)}")
    parser.add_argument("--held-out", action="store_true",
                        help="also fit without each model in turn and show its error then")
    args = parser.parse_args()
    if args.measure:
        rows = measure([c for c in args.cpus.split(",") if c], args.firmware_dir)
        args.fit_json.write_text(json.dumps({"runs": rows}, indent=1) + "\n")
    if args.measure_m0plus:
        rows = measure(["cortex-m0plus"], args.firmware_dir)
        M0PLUS_JSON.write_text(json.dumps({"runs": rows}, indent=1) + "\n")
    if args.measure_int16:
        rows = measure_int16(INT16_CPUS, args.firmware_dir)
        INT16_JSON.write_text(json.dumps({"runs": rows}, indent=1) + "\n")
    runs = [r for r in json.loads(args.kernels_json.read_text())["runs"] if "error" not in r]
    runs += json.loads(args.fit_json.read_text())["runs"]
    for path in (M0PLUS_JSON, INT16_JSON):
        if path.exists():
            runs += json.loads(path.read_text())["runs"]
    by_isa: dict[str, list[dict]] = {}
    for run in runs:
        by_isa.setdefault(_table(run), []).append(run)
    coeffs = {isa: fit(by_isa[isa]) for isa in TABLES if isa in by_isa}
    worst = report(runs, coeffs, held_out(runs) if args.held_out else {})
    print(f"\nworst error (M4/M7/M55): {worst:.1%}  (tolerance {cost.TOLERANCE:.0%})")
    for isa, table in coeffs.items():
        print(f"\n{isa}:")
        for cls, row in table.items():
            print(f"  {cls:<17} " + "  ".join(f"{k} {v:g}" for k, v in row.items()))
    code = fit_code(runs)
    streams = json.loads(STREAMS_JSON.read_text()) if STREAMS_JSON.exists() else {}
    if args.measure_streams:
        streams = measure_streams(STREAM_CPUS, streams)
        STREAMS_JSON.write_text(json.dumps(streams, indent=1) + "\n")
    stream_table = fit_streams(streams, coeffs) if streams else {}
    if streams:
        worst_stream = report_streams(streams, coeffs, stream_table)
        print(f"\nworst streamed-run error: {worst_stream:.1%}")
        for isa, row in stream_table.items():
            print(f"  stream {isa}: " + "  ".join(f"{k} {v:g}" for k, v in row.items()))
    if not args.no_write:
        write_table(coeffs)
        if code:
            write_code_table(code)
        if stream_table:
            write_stream_table(stream_table)
        print(f"\nwrote {COST_PY.relative_to(ROOT)}")
    if worst > cost.TOLERANCE:
        sys.exit(1)


if __name__ == "__main__":
    main()
