"""Deployment benchmark: planned arena vs TFLite Micro's, RAM, flash, and instructions per
inference with the reference vs the SIMD kernels, on Cortex-M4, M7 and M55 (QEMU).

Not a timed test: every number is a byte count or an exact instruction count measured in
this run, and the ratios compare numbers from the same run.

    python benchmarks/deploy_benchmark.py [--models mobilenetv2,resnet8] [--cpus cortex-m7]
Writes benchmarks/results/deploy.md and deploy.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "support"))

from tinyconv import targets, tflm  # noqa: E402
from tinyconv.verify import verify  # noqa: E402

EXAMPLE = ROOT / "models" / "fashion_mnist_cnn" / "model.tflite"
ZOO = ["mobilenetv2", "resnet8", "dscnn", "mobilenetv3_small", "squeezenet", "shufflenet"]


def model_bytes(name: str) -> bytes:
    if name == "fashion_mnist_cnn":
        return EXAMPLE.read_bytes()
    import zoo_models
    return zoo_models.converted(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(["fashion_mnist_cnn"] + ZOO))
    parser.add_argument("--cpus", default="cortex-m4,cortex-m7,cortex-m55")
    parser.add_argument("-n", type=int, default=3, help="inputs per run (all compared)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()

    rows = []
    for name in args.models.split(","):
        blob = model_bytes(name)
        tflm_head = tflm.tflm_arena(blob).head_bytes
        for cpu in args.cpus.split(","):
            board = targets.board_for(cpu, None)
            runs = {k: verify(blob, board, source=name, n=args.n, kernels=k) for k in ("ref", "opt")}
            opt, ref = runs["opt"], runs["ref"]
            row = dict(model=name, cpu=cpu, tflm_arena=tflm_head, arena=opt.arena_bytes,
                       arena_ratio=round(opt.arena_bytes / tflm_head, 3),
                       lower_bound=opt.layer_lower_bound_bytes, stack=opt.stack_bytes,
                       ram=opt.ram_bytes, flash=opt.flash_bytes,
                       insns_ref=ref.instructions_per_inference,
                       insns_opt=opt.instructions_per_inference,
                       speedup=round(ref.instructions_per_inference
                                     / opt.instructions_per_inference, 2),
                       mismatched=opt.mismatched_bytes + ref.mismatched_bytes)
            rows.append(row)
            print(row, flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "deploy.json").write_text(json.dumps(rows, indent=2) + "\n")
    header = ("| model | CPU | TFLM arena | our arena | ratio | layer bound | stack | RAM | flash "
              "| instr. ref | instr. SIMD | ref/SIMD | mismatched |")
    lines = [header, "|" + "---|" * 13]
    for r in rows:
        lines.append(f"| {r['model']} | {r['cpu']} | {r['tflm_arena']:,} | {r['arena']:,} | "
                     f"{r['arena_ratio']:.2f} | {r['lower_bound']:,} | {r['stack']:,} | "
                     f"{r['ram']:,} | {r['flash']:,} | {r['insns_ref']:,} | {r['insns_opt']:,} | "
                     f"{r['speedup']:.2f}x | {r['mismatched']} |")
    (args.out / "deploy.md").write_text(
        "# Deployment benchmark\n\nArena, RAM (.data+.bss+measured stack) and flash in bytes; "
        "instructions per inference counted in QEMU by tinyconv's TCG plugin; TFLM arena = "
        "the tflite-micro runtime's planned activation area (head) for the same model.\n\n"
        + "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
