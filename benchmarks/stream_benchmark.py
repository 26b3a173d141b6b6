"""Streamed-execution benchmark (issue 11): the layer-wise arena, the smallest plan's arena
(`--memory min`: a line-buffered streamed run of the high-resolution layers where that is
smaller) and TFLite Micro's activation area, with the instructions per inference of each
plan, on Cortex-M4, M7 and M55 (QEMU, SIMD kernels).

Every number is a byte count or an exact instruction count measured in this run (QEMU TCG
plugin), beside the latency model's estimate of what streaming adds; every run's outputs
are compared byte for byte with LiteRT's reference kernels, and `verify` itself fails when
the firmware's arena differs from the planned one. Models have random weights (zoo
families via tests/support/zoo_models.py): arenas and instruction counts of int8 kernels
depend on shapes, not on weight values. Also runs the default plan (`--memory fast`, the
board's RAM as budget), which must add no instruction where the layer-wise plan fits, and
the budgeted defaults of `--budgets` (VWW at `verify --sram 48kB` on Cortex-M7).

    python benchmarks/stream_benchmark.py [--models vww,mobilenetv2] [--cpus cortex-m7]
                                          [--budgets vww:cortex-m7:49152] [-n 2] [--out DIR]
Writes benchmarks/results/stream.md and stream.json (--out elsewhere); exits 1 when one of
the issue's targets fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT))

from tinyconv import deploy, reference, targets, tflm  # noqa: E402
from tinyconv.defaults import RUNTIME_RAM_BYTES  # noqa: E402
from tinyconv.errors import TinyconvError  # noqa: E402
from tinyconv.ir.tflite_import import import_tflite  # noqa: E402
from tinyconv.verify import VerifyReport, verify_deployment  # noqa: E402

CPUS = ["cortex-m4", "cortex-m7", "cortex-m55"]
PLANS = ("layer", "min", "fast")  # --memory of each run; fast without --sram: the board's RAM
# The targets: MobileNetV2-0.35@96 and MobileNetV2-1.0@224 arenas against TFLM's.
TARGET_RATIOS = {"mobilenetv2": 0.5, "mobilenetv2_224": 0.25}
VWW_SRAM = 48 * 1024


def _zoo(family, shape, classes, width=1.0, **params):
    import zoo_models
    return zoo_models.converted_spec(family,
                                     zoo_models.Spec(family, shape, classes, width, params))


MODELS = {
    "vww": ("MobileNetV1-0.25, 96x96x3, 2 classes (VWW-shaped)",
            lambda: _zoo("mobilenetv1", (96, 96, 3), 2, 0.25)),
    "mobilenetv2": ("MobileNetV2-0.35, 96x96x3, 2 classes",
                    lambda: _zoo("mobilenetv2", (96, 96, 3), 2, 0.35)),
    "mobilenetv2_224": ("MobileNetV2-1.0, 224x224x3, 1000 classes",
                        lambda: _zoo("mobilenetv2", (224, 224, 3), 1000, 1.0)),
    "mcunet": ("MCUNet-style MobileNetV2 at the zoo's defaults: 96x96x3, 2 classes, width 1.0, "
               "3x3 kernels, expansion 1 then 6, no head",
               lambda: _zoo("mcunet", (96, 96, 3), 2, 1.0)),
    "resnet8": ("ResNet-8, 32x32x3, 10 classes", lambda: _zoo("resnet8", (32, 32, 3), 10)),
    "dscnn": ("DS-CNN keyword spotter, 49x10x1, 12 classes",
              lambda: _zoo("dscnn", (49, 10, 1), 12)),
}
BUDGETS = f"vww:cortex-m7:{VWW_SRAM}"


# --- run -------------------------------------------------------------------------------------
def _run(blob: bytes, name: str, cpu: str, samples, memory: str,
         sram: int | None = None) -> tuple[VerifyReport, deploy.Deployment]:
    graph = import_tflite(blob, source=name)
    d = deploy.prepare(graph, targets.board_for(cpu, None), sram=sram, memory=memory)
    return verify_deployment(d, blob, samples), d


def _strategy(d: deploy.Deployment) -> str:
    run = d.plan.stream
    if run is None:
        return "layer-wise"
    s = run.schedule
    return (f"#{run.ops[0].index}-#{run.ops[-1].index} to {'x'.join(map(str, run.y.shape[1:]))}"
            f", {s.strips} strips of {s.strip_rows} input row{'s' if s.strip_rows > 1 else ''}"
            f"{', im2col' if run.fast else ''}")


def _plan_numbers(report: VerifyReport, d: deploy.Deployment) -> dict:
    run = d.plan.stream
    return dict(kind=d.plan.kind, strategy=_strategy(d), arena=report.arena_bytes,
                line_buffer_bytes=run.schedule.lines_bytes if run else 0,
                stream_scratch_bytes=run.kernel_scratch_bytes if run else 0,
                estimated_extra=d.plan.extra_instructions,
                instructions=report.instructions_per_inference,
                stack_reserved=report.stack_reserved_bytes, stack=report.stack_bytes,
                planned_ram=report.planned_ram_bytes, ram=report.ram_bytes,
                mismatched=report.mismatched_bytes, compared=report.outputs_compared,
                plan_strategy=report.plan_strategy)


def run_model(name: str, cpus: list[str], n: int) -> list[dict]:
    blob = MODELS[name][1]()
    tflm_head = tflm.tflm_arena(blob).head_bytes
    samples = reference.random_inputs(blob, n, 0)
    rows = []
    for cpu in cpus:
        start = time.time()
        plans = {}
        try:
            for memory in PLANS:
                plans[memory] = _plan_numbers(*_run(blob, name, cpu, samples, memory))
        except TinyconvError as e:
            print(f"{name:<16} {cpu:<11} FAILED: {e}", flush=True)
            rows.append(dict(model=name, cpu=cpu, error=str(e)))
            continue
        layer, low, fast = plans["layer"], plans["min"], plans["fast"]
        extra = low["instructions"] - layer["instructions"]
        row = dict(model=name, cpu=cpu, tflm_arena=tflm_head, layer_arena=layer["arena"],
                   min_arena=low["arena"], min_tflm=round(low["arena"] / tflm_head, 3),
                   min_layer=round(low["arena"] / layer["arena"], 3),
                   insns_layer=layer["instructions"], insns_min=low["instructions"],
                   measured_extra=extra,
                   overhead_pct=round(100 * extra / layer["instructions"], 2),
                   estimated_extra=low["estimated_extra"], strategy=low["strategy"],
                   line_buffer_bytes=low["line_buffer_bytes"],
                   fast_kind=fast["kind"], insns_fast=fast["instructions"],
                   mismatched=sum(p["mismatched"] for p in plans.values()),
                   compared=sum(p["compared"] for p in plans.values()),
                   seconds=round(time.time() - start, 1), plans=plans)
        rows.append(row)
        print(f"{name:<16} {cpu:<11} arena {row['layer_arena']:>9,} -> {row['min_arena']:>9,}"
              f" (TFLM {tflm_head:,}, {row['min_tflm']:.2f}x)  instr {row['insns_layer']:,} ->"
              f" {row['insns_min']:,} (+{row['overhead_pct']}%, est. +"
              f"{row['estimated_extra']:,})  fast {fast['kind']} {fast['instructions']:,}  "
              f"mismatched {row['mismatched']}  ({row['seconds']} s)", flush=True)
    return rows


def run_budget(spec: str, rows: list[dict], n: int) -> dict:
    """`model:cpu:sram`: the default plan (--memory fast) within `sram` bytes of SRAM."""
    name, cpu, sram = spec.split(":")
    sram = int(sram)
    blob = MODELS[name][1]()
    samples = reference.random_inputs(blob, n, 0)
    start = time.time()
    try:
        report, d = _run(blob, name, cpu, samples, "fast", sram)
    except TinyconvError as e:
        print(f"{name:<16} {cpu:<11} --sram {sram}: FAILED: {e}", flush=True)
        return dict(model=name, cpu=cpu, sram=sram, error=str(e))
    layer = next((r for r in rows if r["model"] == name and r["cpu"] == cpu
                  and "error" not in r), None)
    if layer is None:  # not in the main table: measure the layer-wise plan here
        layer_report, _ = _run(blob, name, cpu, samples, "layer")
        insns_layer, layer_arena = (layer_report.instructions_per_inference,
                                    layer_report.arena_bytes)
    else:
        insns_layer, layer_arena = layer["insns_layer"], layer["layer_arena"]
    row = dict(model=name, cpu=cpu, sram=sram, strategy=_strategy(d), kind=d.plan.kind,
               layer_arena=layer_arena, arena=report.arena_bytes,
               stack_reserved=report.stack_reserved_bytes,
               stack_bound=report.stack_bound_bytes, runtime=RUNTIME_RAM_BYTES,
               planned_ram=report.planned_ram_bytes, static_ram=report.static_ram_bytes,
               stack=report.stack_bytes, ram=report.ram_bytes,
               insns=report.instructions_per_inference, insns_layer=insns_layer,
               overhead_pct=round(100 * (report.instructions_per_inference - insns_layer)
                                  / insns_layer, 2),
               estimated_extra=d.plan.extra_instructions,
               mismatched=report.mismatched_bytes, compared=report.outputs_compared,
               seconds=round(time.time() - start, 1))
    print(f"{name:<16} {cpu:<11} --sram {sram}: {row['strategy']}, arena {row['arena']:,} + "
          f"stack {row['stack_reserved']:,} + runtime {RUNTIME_RAM_BYTES} = planned "
          f"{row['planned_ram']:,}; measured RAM {row['ram']:,} (stack {row['stack']:,}); "
          f"instr {row['insns']:,} (+{row['overhead_pct']}%)  mismatched {row['mismatched']}"
          f"  ({row['seconds']} s)", flush=True)
    return row


# --- targets ---------------------------------------------------------------------------------
def targets_met(rows: list[dict], budgets: list[dict]) -> list[tuple[str, bool | None, str]]:
    """(target, passed or None where this run did not measure it, evidence)."""
    ok = [r for r in rows if "error" not in r]
    out: list[tuple[str, bool | None, str]] = []
    vww = next((b for b in budgets if b["model"] == "vww" and b["cpu"] == "cortex-m7"
                and b["sram"] == VWW_SRAM), None)
    label = "VWW (MobileNetV1-0.25@96) runs bit-exact on Cortex-M7 with `verify --sram 48kB`"
    if vww is None:
        out.append((label, None, "not run"))
    elif "error" in vww:
        out.append((label, False, vww["error"]))
    else:
        out.append((label, vww["planned_ram"] <= VWW_SRAM and vww["ram"] <= VWW_SRAM
                    and vww["mismatched"] == 0,
                    f"planned {vww['planned_ram']:,} B, measured {vww['ram']:,} B of "
                    f"{VWW_SRAM:,}; {vww['mismatched']} mismatched bytes"))
    for name, ratio in TARGET_RATIOS.items():
        mine = [r for r in ok if r["model"] == name]
        label = f"{MODELS[name][0].split(',')[0]}@{MODELS[name][0].split(', ')[1]}: min arena " \
                f"<= {ratio}x TFLM, bit-exact on M4/M7/M55"
        cpus = {r["cpu"] for r in mine}
        if not mine:
            out.append((label, None, "not run"))
            continue
        worst = max(r["min_tflm"] for r in mine)
        exact = all(r["mismatched"] == 0 for r in mine)
        errors = [r for r in rows if r["model"] == name and "error" in r]
        out.append((label, worst <= ratio and exact and not errors and set(CPUS) <= cpus,
                    f"{worst:.3f}x on {', '.join(sorted(cpus))}; "
                    f"{sum(r['mismatched'] for r in mine)} mismatched bytes"
                    + (f"; {len(errors)} failed runs" if errors else "")))
    exact = all(r["mismatched"] == 0 for r in ok) and len(ok) == len(rows)
    out.append(("every plan bit-exact on every model and CPU run", exact,
                f"{sum(r['mismatched'] for r in ok)} mismatched of "
                f"{sum(r['compared'] for r in ok):,} bytes compared, "
                f"{len(rows) - len(ok)} failed runs"))
    fits = [r for r in ok if r["plans"]["layer"]["planned_ram"]
            <= targets.board_for(r["cpu"], None).ram_bytes]
    same = [r for r in fits if r["fast_kind"] == "layer-wise"
            and r["insns_fast"] == r["insns_layer"]]
    out.append(("the default plan (--memory fast, the board's RAM) adds no instruction "
                "where the layer-wise plan fits", bool(fits) and len(same) == len(fits),
                f"{len(same)} of {len(fits)} model x CPU runs: layer-wise, same instructions"))
    return out


# --- report ----------------------------------------------------------------------------------
def markdown(rows: list[dict], budgets: list[dict], met, command: str, seconds: float) -> str:
    ok = [r for r in rows if "error" not in r]
    out = ["# Streamed execution benchmark", "",
           "Arenas in bytes; instructions per inference counted exactly in QEMU (TCG plugin); "
           "every plan's outputs compared byte for byte with LiteRT's reference kernels "
           "(`verify` also fails when the firmware's arena differs from the plan). "
           "Layer-wise: `--memory layer`; min: `--memory min` (the smallest plan, a "
           "line-buffered streamed run from the input where that is smaller); TFLM: the "
           "tflite-micro runtime's activation area (head) for the same model; estimated "
           "extra: the latency model's estimate of what the min plan's streaming adds to the "
           "layer-wise plan (`Plan.extra_instructions`, tinyconv/cost.py `stream_overhead`); "
           "overhead: measured extra / layer-wise. SIMD kernels (DSP on M4/M7, "
           "Helium on M55), random-weight models.", "",
           f"Regenerate: `{command}` ({seconds / 60:.1f} min on 2 cores).", "",
           "## Targets (issue 11)", "", "| target | result | evidence |", "|---|---|---|"]
    for label, passed, evidence in met:
        verdict = "not run" if passed is None else ("**pass**" if passed else "**FAIL**")
        out.append(f"| {label} | {verdict} | {evidence} |")
    out += ["", "## Models", "", "| model | description | TFLM activation area |",
            "|---|---|---:|"]
    seen = {}
    for r in ok:
        seen.setdefault(r["model"], r["tflm_arena"])
    out += [f"| {m} | {MODELS[m][0]} | {t:,} |" for m, t in seen.items()]
    out += ["", "## Arena and instructions per plan", "",
            "| model | CPU | layer-wise arena | min arena | TFLM | min/TFLM | min/layer-wise "
            "| min plan | line buffers | instr. layer-wise | instr. min | overhead | measured "
            "extra | estimated extra | default plan (instr.) | mismatched |",
            "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---:|"]
    for r in rows:
        if "error" in r:
            out.append(f"| {r['model']} | {r['cpu']} | FAILED: {r['error']} |")
            continue
        fast = ("= layer-wise" if r["fast_kind"] == "layer-wise"
                and r["insns_fast"] == r["insns_layer"]
                else f"{r['fast_kind']} ({r['insns_fast']:,})")
        out.append(f"| {r['model']} | {r['cpu']} | {r['layer_arena']:,} | {r['min_arena']:,} | "
                   f"{r['tflm_arena']:,} | {r['min_tflm']:.2f} | {r['min_layer']:.2f} | "
                   f"{r['strategy']} | {r['line_buffer_bytes']:,} | {r['insns_layer']:,} | "
                   f"{r['insns_min']:,} | {r['overhead_pct']:+.2f} % | "
                   f"{r['measured_extra']:+,} | {r['estimated_extra']:+,} | {fast} | "
                   f"{r['mismatched']} |")
    out += ["", "## Budgeted default plan (`verify --sram`, `--memory fast`)", "",
            "Planned RAM = arena + reserved stack (the compiler's bound for this model's code) "
            "+ runtime statics; the firmware is linked with the same RAM length. Measured RAM "
            "= .data + .bss + the measured stack high-water mark.", "",
            "| model | CPU | SRAM | plan | arena | stack reserved | runtime | planned RAM "
            "| measured RAM (stack) | instr. | vs layer-wise | estimated extra | mismatched |",
            "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for b in budgets:
        if "error" in b:
            out.append(f"| {b['model']} | {b['cpu']} | {b['sram']:,} | FAILED: {b['error']} |")
            continue
        out.append(f"| {b['model']} | {b['cpu']} | {b['sram']:,} | {b['strategy']} | "
                   f"{b['arena']:,} | {b['stack_reserved']:,} | {b['runtime']:,} | "
                   f"{b['planned_ram']:,} | {b['ram']:,} ({b['stack']:,}) | {b['insns']:,} | "
                   f"{b['overhead_pct']:+.2f} % | {b['estimated_extra']:+,} | "
                   f"{b['mismatched']} |")
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--cpus", default=",".join(CPUS))
    parser.add_argument("--budgets", default=BUDGETS,
                        help="comma-separated model:cpu:sram_bytes runs of the default plan "
                             "within that SRAM ('' for none)")
    parser.add_argument("-n", type=int, default=2, help="inputs per run (all compared)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    models, cpus = args.models.split(","), args.cpus.split(",")
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(MODELS)}")

    start = time.time()
    rows = [row for name in models for row in run_model(name, cpus, args.n)]
    budgets = [run_budget(spec, rows, args.n) for spec in args.budgets.split(",") if spec]
    seconds = time.time() - start
    met = targets_met(rows, budgets)
    argv, shown = sys.argv[1:], []
    while argv:  # the command line without --out (where the results went)
        a = argv.pop(0)
        if a == "--out":
            argv = argv[1:]
        elif not a.startswith("--out="):
            shown.append(a)
    command = " ".join(["python benchmarks/stream_benchmark.py", *shown])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "stream.json").write_text(json.dumps(dict(
        command=command, seconds=round(seconds, 1), samples=args.n, runs=rows,
        budgets=budgets, targets=[dict(target=t, passed=p, evidence=e) for t, p, e in met]),
        indent=2) + "\n")
    text = markdown(rows, budgets, met, command, seconds)
    (args.out / "stream.md").write_text(text)
    print(text)
    if any(passed is False for _, passed, _ in met):
        sys.exit(1)


if __name__ == "__main__":
    main()
