"""Benchmark of the onnxruntime-arithmetic kernels (`--match onnxruntime`,
firmware/kernels/onnxrt): instructions per MAC of a conv, depthwise, pointwise and fully
connected layer on Cortex-M4, M7 and M55 (QEMU, exact counts from `tinyconv profile`),
beside TFLM + CMSIS-NN's int8 figures on Cortex-M7 (../shared/ARCHITECTURE.md; the same
ones benchmarks/kernel_benchmark.py quotes). Every run's outputs are compared with
onnxruntime's (0 mismatched bytes expected).

    python benchmarks/onnxrt_kernels.py [--cpus qemu-m4,qemu-m7,qemu-m55]
                                        [--firmware-dir firmware]
                                        [--baseline-firmware OLD/firmware]

--baseline-firmware: also profile another firmware tree (e.g. `git archive` of an earlier
commit's firmware/) and print its counts as "before"; --firmware-dir: the tree measured
(default: the package's).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.kernel_benchmark import CMSIS_NN_M7  # noqa: E402
from tests.support.onnx_qlinear import U8, QLinearGraph  # noqa: E402
from tinyconv import targets  # noqa: E402
from tinyconv.profile import profile  # noqa: E402

CPUS = ["qemu-m4", "qemu-m7", "qemu-m55"]

# The layers (named by their MACs, all different), with the CMSIS-NN figure each is
# compared with (None: ARCHITECTURE.md measures no fully connected layer on its own).
LAYERS = [
    ("conv 3x3 s2, RGB 3->16, 32x32", 16 * 16 * 16 * 27, CMSIS_NN_M7["first RGB conv"]),
    ("depthwise 3x3, 32 ch, 16x16", 16 * 16 * 32 * 9, CMSIS_NN_M7["3x3 depthwise"]),
    ("pointwise 1x1, 32->64, 16x16", 16 * 16 * 64 * 32, CMSIS_NN_M7["1x1 conv"]),
    ("fully connected 256->64", 256 * 64, None),
]


def model() -> bytes:
    """The four layers of LAYERS (uint8 activations, int8 per-channel weights as
    quantize_static writes them)."""
    g = QLinearGraph(0, act=U8)
    g.conv(3, 16, (32, 32), (3, 3), stride=(2, 2))
    g.conv(32, 32, (16, 16), (3, 3), group=32)
    g.conv(32, 64, (16, 16), (1, 1))
    g.matmul(1, 256, 64, per_channel=True)
    return g.bytes()


def per_mac(data: bytes, cpu: str, firmware_dir: Path | None) -> list[float]:
    report = profile(data, targets.get_board(cpu), source="onnxrt_kernels.onnx",
                     firmware_dir=firmware_dir)
    if report.mismatched_bytes:
        raise SystemExit(f"{cpu}: {report.mismatched_bytes} bytes differ from onnxruntime")
    by_macs = {layer.macs: layer.instructions for layer in report.layers}
    return [by_macs[macs] / macs for _, macs, _ in LAYERS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpus", default=",".join(CPUS), help="QEMU boards")
    parser.add_argument("--firmware-dir", type=Path, default=None)
    parser.add_argument("--baseline-firmware", type=Path, default=None)
    args = parser.parse_args()
    data = model()
    print("| layer | cpu | before instr/MAC | instr/MAC | speed-up | CMSIS-NN M7 | "
          "vs CMSIS-NN |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for cpu in args.cpus.split(","):
        now = per_mac(data, cpu, args.firmware_dir)
        before = (per_mac(data, cpu, args.baseline_firmware) if args.baseline_firmware
                  else [None] * len(now))
        for (name, _, peer), b, n in zip(LAYERS, before, now):
            print(f"| {name} | {cpu} | {'-' if b is None else f'{b:.2f}'} | {n:.2f} | "
                  f"{'-' if b is None else f'{b / n:.1f}x'} | "
                  f"{'-' if peer is None else peer} | "
                  f"{'-' if peer is None else f'{n / peer:.2f}x'} |", flush=True)


if __name__ == "__main__":
    main()
