"""Kernel benchmark: instructions per inference and per MAC per op type, on Cortex-M4, M7
and M55 (QEMU), beside TFLite Micro + CMSIS-NN's figures (issue 10), with code size.

Every number is an exact instruction count from `tinyconv profile` (QEMU TCG plugin, the
per-layer counts adding up to the whole inference) or a byte count, measured in this run;
every run's outputs are compared with LiteRT's reference kernels (0 mismatched bytes
expected). Models have random weights (random BatchNorm statistics, tempered logits) and
are calibrated on fixed-seed uniform data: instruction counts of int8 kernels depend on
shapes, not on weight values.

    python benchmarks/kernel_benchmark.py [--models vww,dscnn] [--cpus cortex-m7]
                                          [--baseline OLD_kernels.json]
                                          [--firmware-dir OTHER/firmware --out DIR]
Writes benchmarks/results/kernels.md and kernels.json (--out elsewhere).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import inspect
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT))

from tinyconv import targets  # noqa: E402
from tinyconv.errors import TinyconvError  # noqa: E402
from tinyconv.profile import OP_CLASSES, profile  # noqa: E402

CPUS = ["cortex-m4", "cortex-m7", "cortex-m55"]

# TFLM + CMSIS-NN on the MLPerf Tiny VWW model, Cortex-M7 (../shared/ARCHITECTURE.md §4,
# issue 10): instructions per MAC per op type, and the goal (0.8x of them).
CMSIS_NN_M7 = {"1x1 conv": 2.32, "3x3 depthwise": 8.1, "first RGB conv": 6.3}
CMSIS_NN_VWW_M7 = 3.21
GOAL_FACTOR = 0.8


# --- models --------------------------------------------------------------------------------
def _zoo(family, shape, classes, width=1.0, **params):
    import zoo_models
    return zoo_models.converted_spec(family,
                                     zoo_models.Spec(family, shape, classes, width, params))


def _speech_keras():
    """micro_speech's tiny_conv: one depthwise conv with a 10x8 kernel (stride 2, x8) on a
    49x40 spectrogram, then a classifier."""
    from tinyconv.keras_compat import keras
    inputs = keras.Input((49, 40, 1))
    x = keras.layers.DepthwiseConv2D((10, 8), strides=2, depth_multiplier=8, padding="same",
                                     activation="relu")(inputs)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(4, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def _autoencoder_keras():
    """MLPerf Tiny's anomaly-detection FC autoencoder: 640-128-128-128-8-128-128-128-640."""
    from tinyconv.keras_compat import keras
    inputs = keras.Input((640,))
    x = inputs
    for units in (128, 128, 128, 8, 128, 128, 128):
        x = keras.layers.Dense(units, activation="relu")(x)
    outputs = keras.layers.Dense(640)(x)
    return keras.Model(inputs, outputs)


def _keras(name, builder) -> bytes:
    """Random-weight Keras model -> int8 .tflite (tinyconv.convert), cached on disk."""
    import numpy as np
    import zoo_models
    digest = hashlib.sha256(inspect.getsource(builder).encode())
    digest.update(importlib.metadata.version("tensorflow").encode())
    path = zoo_models.cache_dir() / f"bench-{name}-{digest.hexdigest()[:16]}.tflite"
    if not path.exists():
        from tinyconv.convert import to_int8_tflite
        from tinyconv.keras_compat import keras
        keras.utils.set_random_seed(zoo_models.SEED)
        model = builder()
        rng = np.random.default_rng(zoo_models.SEED)
        data = rng.uniform(-1, 1, (8, *model.input_shape[1:])).astype(np.float32)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(to_int8_tflite(model, data))
    return path.read_bytes()


MODELS = {
    "vww": ("MobileNetV1-0.25, 96x96x3, 2 classes (VWW-shaped)",
            lambda: _zoo("mobilenetv1", (96, 96, 3), 2, 0.25)),
    "dscnn": ("DS-CNN keyword spotter, 49x10x1, 12 classes",
              lambda: _zoo("dscnn", (49, 10, 1), 12)),
    "speech": ("speech: one 10x8 depthwise conv (x8, stride 2) on 49x40x1 + FC, 4 classes",
               lambda: _keras("speech", _speech_keras)),
    "resnet8": ("ResNet-8, 32x32x3, 10 classes", lambda: _zoo("resnet8", (32, 32, 3), 10)),
    "autoencoder": ("FC autoencoder 640-128-128-128-8-128-128-128-640",
                    lambda: _keras("autoencoder", _autoencoder_keras)),
    "mobilenetv2": ("MobileNetV2-0.35, 96x96x3, 2 classes",
                    lambda: _zoo("mobilenetv2", (96, 96, 3), 2, 0.35)),
    "mobilenetv3_small": ("MobileNetV3-small-0.5, 64x64x3, 10 classes (last 256)",
                          lambda: _zoo("mobilenetv3_small", (64, 64, 3), 10, 0.5,
                                       last_channels=256)),
}


# --- run -------------------------------------------------------------------------------------
def run(models: list[str], cpus: list[str], firmware_dir: Path | None = None) -> list[dict]:
    rows = []
    for name in models:
        blob = MODELS[name][1]()
        for cpu in cpus:
            start = time.time()
            try:
                r = profile(blob, targets.board_for(cpu, None), source=name,
                            firmware_dir=firmware_dir)
            except TinyconvError as e:
                print(f"{name:<18} {cpu:<11} FAILED: {e}", flush=True)
                rows.append({"name": name, "cpu": cpu, "error": str(e)})
                continue
            row = asdict(r)
            row.update(name=name, seconds=round(time.time() - start, 1))
            row["classes"] = {c["op_class"]: c for c in row.pop("op_classes")}
            row["functions"] = row["functions"][:10]
            for layer in row["layers"]:
                layer["functions"] = dict(list(layer["functions"].items())[:4])
            rows.append(row)
            print(f"{name:<18} {cpu:<11} {r.instructions:>12,} instr  "
                  f"{r.instructions_per_mac or 0:6.2f}/MAC  code {r.code_bytes:>7,} B  "
                  f"mismatched {r.mismatched_bytes}  ({row['seconds']} s)", flush=True)
    return rows


# --- report ----------------------------------------------------------------------------------
def _f(v, digits=2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _baseline_index(path: Path | None) -> dict[tuple[str, str], dict]:
    if path is None:
        return {}
    data = json.loads(Path(path).read_text())
    return {(row["name"], row["cpu"]): row for row in data["runs"]}


def markdown(rows: list[dict], baseline: dict, baseline_path: Path | None) -> str:
    failed = [row for row in rows if "error" in row]
    rows = [row for row in rows if "error" not in row]
    out = ["# Kernel benchmark", "",
           "Exact instructions per inference counted in QEMU (TCG plugin, `tinyconv profile`), "
           "random-weight int8 models (zoo families via tests/support/zoo_models.py; the "
           "speech model and the autoencoder built with Keras + tinyconv.convert), one "
           "random input each, outputs compared byte for byte with LiteRT's reference "
           "kernels. Regenerate: `python benchmarks/kernel_benchmark.py`.", ""]
    out += ["## Models", "", "| model | description | MACs |", "|---|---|---:|"]
    seen = {}
    for row in rows:
        seen.setdefault(row["name"], row["macs"])
    out += [f"| {n} | {MODELS[n][0]} | {m:,} |" for n, m in seen.items()]

    out += ["", "## Instructions per inference", ""]
    head = "| model | CPU | instructions | instr/MAC | code B | weights B | mismatched B |"
    sep = "|---|---|---:|---:|---:|---:|---:|"
    if baseline:
        head += " before | after/before | code before |"
        sep += "---:|---:|---:|"
        out.append(f"Before: `{baseline_path}`.")
        out.append("")
    out += [head, sep]
    for row in rows:
        line = (f"| {row['name']} | {row['cpu']} | {row['instructions']:,} | "
                f"{_f(row['instructions_per_mac'])} | {row['code_bytes']:,} | "
                f"{row['weights_bytes']:,} | {row['mismatched_bytes']} |")
        if baseline:
            old = baseline.get((row["name"], row["cpu"]))
            if old:
                line += (f" {old['instructions']:,} | "
                         f"{row['instructions'] / old['instructions']:.3f} | "
                         f"{old['code_bytes']:,} |")
            else:
                line += " - | - | - |"
        out.append(line)

    out += ["", "## Instructions per MAC per op type", "",
            "CMSIS-NN: TFLM + CMSIS-NN on the VWW model, Cortex-M7, counted the same way "
            f"(issue 10); goal: at most {GOAL_FACTOR}x of it.", ""]
    for cpu in dict.fromkeys(row["cpu"] for row in rows):
        out += [f"### {cpu}", "",
                "| model | " + " | ".join(OP_CLASSES) + " | whole model |",
                "|---|" + "---:|" * (len(OP_CLASSES) + 1)]
        if cpu == "cortex-m7":
            cmsis = [_f(CMSIS_NN_M7.get(c)) if c in CMSIS_NN_M7 else "" for c in OP_CLASSES]
            out.append("| *CMSIS-NN (VWW)* | " + " | ".join(cmsis) +
                       f" | {_f(CMSIS_NN_VWW_M7)} |")
            goal = [_f(GOAL_FACTOR * CMSIS_NN_M7[c]) if c in CMSIS_NN_M7 else ""
                    for c in OP_CLASSES]
            out.append("| *goal (0.8x)* | " + " | ".join(goal) +
                       f" | {_f(GOAL_FACTOR * CMSIS_NN_VWW_M7)} |")
        for row in rows:
            if row["cpu"] != cpu:
                continue
            cells = []
            for c in OP_CLASSES:
                cls = row["classes"].get(c)
                if cls is None:
                    cells.append("")
                elif cls["instructions_per_mac"] is None:
                    cells.append(f"({cls['share']:.0%})")
                else:
                    cells.append(f"{cls['instructions_per_mac']:.2f} ({cls['share']:.0%})")
            out.append(f"| {row['name']} | " + " | ".join(cells) +
                       f" | {_f(row['instructions_per_mac'])} |")
        out.append("")
    out += ["Cells: instructions per MAC (share of the model's instructions); 'other ops' "
            "have no MACs.", "",
            "## Where the time goes (largest functions)", "",
            "| model | CPU | functions (share of instructions) |", "|---|---|---|"]
    for row in rows:
        top = ", ".join(f"`{f['name']}` {f['share']:.0%}" for f in row["functions"][:5])
        out.append(f"| {row['name']} | {row['cpu']} | {top} |")
    if failed:
        out += ["", "## Failed runs", ""]
        out += [f"- {row['name']} on {row['cpu']}: {row['error']}" for row in failed]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS),
                        help=f"comma-separated, of: {', '.join(MODELS)}")
    parser.add_argument("--cpus", default=",".join(CPUS))
    parser.add_argument("--baseline", type=Path,
                        help="an earlier kernels.json: show before/after per model and CPU")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--firmware-dir", type=Path,
                        help="build against another firmware tree, e.g. a 'before' run: "
                             "git archive HEAD firmware | tar -x -C /tmp/before")
    args = parser.parse_args()
    models = [m for m in args.models.split(",") if m]
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        parser.error(f"unknown models {', '.join(unknown)}; known: {', '.join(MODELS)}")
    cpus = [c for c in args.cpus.split(",") if c]
    baseline = _baseline_index(args.baseline)  # read first: --out may overwrite it
    rows = run(models, cpus, args.firmware_dir)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "kernels.json").write_text(json.dumps(
        {"cmsis_nn_m7": CMSIS_NN_M7, "cmsis_nn_vww_m7": CMSIS_NN_VWW_M7, "runs": rows},
        indent=1) + "\n")
    (args.out / "kernels.md").write_text(markdown(rows, baseline, args.baseline))
    bad = [f"{r['name']}/{r['cpu']}" for r in rows if "error" in r or r["mismatched_bytes"]]
    if bad:
        print(f"failed or mismatched: {', '.join(bad)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
