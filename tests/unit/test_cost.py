"""The latency model's tables (tinyconv/cost.py) for int16 layers and for Armv6-M.

Measured (benchmarks/fit_latency.py, QEMU instruction counts): 16x8 models take about 2x
their int8 twins' instructions on the DSP kernels (M4/M7) and fewer on the portable ones
(M3); the portable kernels built for Armv6-M take 1.5-2x the M3's. The model must say so:
its int16 coefficients and its Armv6-M table are used, and it is held to the Cortex-M0+
and 16x8 counts it was fitted on.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from tinyconv import cost, deploy, report
from tinyconv.ir.graph import DType, Graph
from tinyconv.ir.ops import Isa
from tinyconv.planner import plan_memory
from tinyconv.space import ArchConfig
from tinyconv.targets import get_board

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
# benchmarks/fit_latency.py's "mcunet-fixed" (every kernel size and expansion, 1 channel),
# measured as int8 and as its 16x8 twin on every table's CPU.
CONFIG = ArchConfig(0.35, 48, (1, 2, 1, 2, 1, 2, 1), (3, 5, 7, 3, 5, 7, 3, 3, 5, 7),
                    (3, 4, 6, 3, 4, 6, 3, 3, 4, 6))
CHANNELS = 1
TABLE_CPUS = {"dsp": ("cortex-m4", "cortex-m7"), "mve": ("cortex-m55",), "ref": ("cortex-m3",),
              cost.ARMV6M: ("cortex-m0plus",)}


def _int16_twin(graph: Graph) -> Graph:
    """The same graph with int16 activations (16x8): every non-constant int8 tensor int16."""
    swapped = {t.index: dataclasses.replace(t, dtype=DType.INT16)
               for t in graph.tensors if not t.is_constant and t.dtype is DType.INT8}

    def swap(t):
        return None if t is None else swapped.get(t.index, t)

    ops = [dataclasses.replace(op, inputs=[swap(t) for t in op.inputs],
                               outputs=[swap(t) for t in op.outputs]) for op in graph.ops]
    return Graph(graph.name, [swap(t) for t in graph.tensors], ops,
                 [swap(t) for t in graph.inputs], [swap(t) for t in graph.outputs])


def _ratio(isa: Isa, cpu: str | None = None) -> float:
    graph = CONFIG.graph(CHANNELS, 10)
    twin = _int16_twin(graph)
    assert any(t.dtype is DType.INT16 for op in twin.ops for t in op.outputs)
    return (cost.instructions(twin, isa, plan_memory(twin, isa), cpu=cpu)
            / cost.instructions(graph, isa, plan_memory(graph, isa), cpu=cpu))


def _measured_ratios(table: str) -> dict[str, float]:
    """Measured instructions of each 16x8 model over its int8 twin's, on `table`'s CPUs."""
    runs = [r for name in ("kernels.json", "latency_fit.json", "latency_fit_m0plus.json",
                           "latency_fit_int16.json")
            for r in json.loads((RESULTS / name).read_text())["runs"] if "error" not in r]
    counts = {(r["name"], r["cpu"]): r["instructions"] for r in runs}
    return {name[:-len("-16x8")]: n / counts[name[:-len("-16x8")], cpu]
            for (name, cpu), n in counts.items()
            if name.endswith("-16x8") and cpu in TABLE_CPUS[table]
            and (name[:-len("-16x8")], cpu) in counts}


@pytest.mark.parametrize("isa, cpu, table", [(Isa.DSP, None, "dsp"), (Isa.MVE, None, "mve"),
                                             (Isa.REF, None, "ref"),
                                             (Isa.REF, "cortex-m0plus", cost.ARMV6M)])
def test_int16_twin_is_priced_as_measured(isa, cpu, table):
    """A 16x8 network is priced apart from its int8 twin (the old model priced both alike),
    in the ratio measured for this very network (1.5-2x on the DSP and Helium kernels, under
    1x on the M3's portable ones, whose int16 loops are leaner than the int8 ones)."""
    measured = _measured_ratios(table)
    assert len(measured) >= 6  # every 16x8 twin has its int8 twin measured on that CPU
    ratio = _ratio(isa, cpu)
    assert abs(ratio / measured["mcunet-fixed"] - 1) < 0.15, (ratio, measured)
    if table in ("dsp", "mve"):
        assert ratio > 1.4, ratio
    if table == "ref":
        assert ratio < 1.0, ratio


def test_armv6m_has_its_own_table_which_deployments_use():
    """The Cortex-M0+ build is priced with the Armv6-M table (1.5-2x the M3's), wherever
    the estimate is read: the plan deploy.prepare makes, `tinyconv inspect`'s rows and
    summary, verify/profile's plan summary."""
    assert cost.table_key(Isa.REF, "cortex-m0plus") == cost.ARMV6M
    assert cost.table_key(Isa.REF, "cortex-m3") == "ref"
    assert cost.table_key(Isa.DSP, "cortex-m7") == "dsp"
    graph = CONFIG.graph(3, 10)
    big = dict(sram=1 << 40, flash=1 << 40, stack_bytes=8192)  # no stack bound to compute
    m0 = deploy.prepare(graph, get_board("qemu-m0plus"), **big).plan
    m3 = deploy.prepare(graph, get_board("qemu-m3"), **big).plan
    assert (m0.isa, m0.cpu, m3.isa, m3.cpu) == (Isa.REF, "cortex-m0plus", Isa.REF, "cortex-m3")
    on_m0 = cost.instructions(graph, Isa.REF, m0)
    on_m3 = cost.instructions(graph, Isa.REF, m3)
    assert 1.5 <= on_m0 / on_m3 <= 2.2, (on_m0, on_m3)
    assert report.plan_summary(graph, m0).instructions_estimate == on_m0
    assert sum(row.instructions_estimate for row in report.layer_rows(graph, m0)) == on_m0
    assert on_m3 == cost.instructions(graph, Isa.REF, m3, cpu="")  # the ISA's own table


def test_model_matches_the_measured_m0plus_configs():
    """The Armv6-M table against the mcunet configs it was fitted on
    (benchmarks/results/latency_fit_m0plus.json), held to twice cost.TOLERANCE as the M3's
    portable kernels are; the old M3 table missed them by 35-52 %."""
    runs = [r for r in json.loads((RESULTS / "latency_fit_m0plus.json").read_text())["runs"]
            if "arch" in r]
    assert len(runs) >= 8 and {r["cpu"] for r in runs} == {"cortex-m0plus"}
    for run in runs:
        graph = ArchConfig.from_dict(run["arch"]).graph(run["channels"], run["classes"])
        est = cost.estimate(graph, Isa.REF, plan_memory(graph, Isa.REF), cpu=run["cpu"])
        err = est.instructions / run["instructions"] - 1
        assert abs(err) < 2 * cost.TOLERANCE, (run["name"], est.instructions,
                                               run["instructions"])
