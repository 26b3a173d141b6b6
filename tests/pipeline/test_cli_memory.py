"""`--memory fast|min|layer` and `--sram` on the command line: the plan each command picks
(layer-wise or streamed, tinyconv/stream.py), the line naming it, the JSON fields, and
inspect's per-layer live bytes of both plans, on a model where streaming pays: a
MobileNetV1-0.25 at 48x48x3 (its first layers, at 24x24, set the layer-wise peak)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cli_process import run_cli

from tinyconv.ir.tflite_import import load_tflite

STREAM_KEYS = {"first_op", "last_op", "layers", "strips", "strip_rows", "line_buffer_bytes",
               "slid_bytes", "kernel_calls"}
PLAN_KEYS = {"plan_kind", "plan_strategy", "recompute_macs", "layerwise_arena_bytes",
             "stream_extra_instructions_estimate", "stream"}
PLAN_LINE = re.compile(r"plan: streamed, layers #(\d+)-#(\d+) in (\d+) strips of (\d+) input "
                       r"rows?: arena ([\d,]+) B \(layer-wise ([\d,]+) B\), recompute 0 MACs, "
                       r"est\. \+([\d,]+) instructions \(\+[\d.]+ %\)")


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    import zoo_models
    blob = zoo_models.converted_spec(
        "mobilenetv1", zoo_models.Spec("mobilenetv1", (48, 48, 3), 2, 0.25, {}))
    path = tmp_path_factory.mktemp("models") / "mobilenet48.tflite"
    path.write_bytes(blob)
    return path


def _inspect(model: Path, out: Path, *args: str) -> tuple[dict, str]:
    result = run_cli("inspect", model, "--target", "cortex-m7", "--json", out, *args)
    assert result.returncode == 0, result.stderr
    return json.loads(out.read_text()), result.stdout


@pytest.fixture(scope="module")
def plans(model, tmp_path_factory) -> dict[str, tuple[dict, str]]:
    """inspect --json (and its table) under --memory min and --memory layer."""
    folder = tmp_path_factory.mktemp("inspect")
    return {memory: _inspect(model, folder / f"{memory}.json", "--memory", memory)
            for memory in ("min", "layer")}


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def test_inspect_min_streams_the_first_layers_and_shows_both_plans(model, plans, tmp_path):
    data, table = plans["min"]
    assert PLAN_KEYS <= set(data)
    assert data["plan_kind"] == "streamed" and data["plan_strategy"].startswith("STREAMED")
    assert data["recompute_macs"] == 0
    assert data["arena_bytes"] < data["layerwise_arena_bytes"]
    assert data["layerwise_arena_bytes"] == plans["layer"][0]["arena_bytes"]
    assert data["stream_extra_instructions_estimate"] > 0
    s = data["stream"]
    assert STREAM_KEYS <= set(s)
    assert s["strips"] * s["strip_rows"] >= 48 and s["kernel_calls"] >= s["strips"]
    assert s["line_buffer_bytes"] > 0 and s["layers"] == s["last_op"] - s["first_op"] + 1 >= 2

    # A row per op of the original graph, in its order, with both plans' live bytes.
    graph = load_tflite(model)
    rows = data["layers"]
    assert [r["index"] for r in rows] == [op.index for op in graph.ops]
    assert all(r["live"] > 0 and r["live_layerwise"] > 0 for r in rows)
    run = [r for r in rows if r["streamed"]]
    assert [r["index"] for r in run] == list(range(s["first_op"], s["last_op"] + 1))
    # The run's layers share one step (input, output, line buffers, scratch live), below
    # the layer-wise peak those layers had; the peak of the chosen plan is its arena's.
    assert len({r["live"] for r in run}) == 1
    assert run[0]["live"] < max(r["live_layerwise"] for r in run)
    assert max(r["live"] for r in rows) == data["peak_live_bytes"] <= data["arena_bytes"]
    assert max(r["live_layerwise"] for r in rows) <= data["layerwise_arena_bytes"]
    # The run's layers are priced per strip; the loop's own work is the rest of the total.
    assert data["instructions_estimate"] == (sum(r["instructions_estimate"] for r in rows)
                                             + s["loop_instructions_estimate"])

    # The table: both live columns, the run's layers marked, both arenas, the plan line.
    assert "live l-w" in table and "~ streamed: rows in line buffers" in table
    for r in run:
        assert re.search(rf"^\s*{r['index']} {r['op']}~ ", table, re.MULTILINE), r
    assert f"arena {data['arena_bytes']:,} B" in table
    assert f"layer-wise {data['layerwise_arena_bytes']:,} B" in table
    line = PLAN_LINE.search(table)
    assert line, table
    assert [int(g) for g in line.groups()[:4]] == [s["first_op"], s["last_op"], s["strips"],
                                                   s["strip_rows"]]
    assert _number(line[5]) == data["arena_bytes"]
    assert _number(line[7]) == data["stream_extra_instructions_estimate"]
    assert f"streaming loop: {s['loop_instructions_estimate']:,} est. instructions" in table

    # --plot draws both series.
    png = tmp_path / "memory.png"
    _inspect(model, tmp_path / "again.json", "--memory", "min", "--plot", png)
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_inspect_layer_never_streams(plans):
    data, table = plans["layer"]
    assert data["plan_kind"] == "layer-wise" and data["stream"] is None
    assert data["arena_bytes"] == data["layerwise_arena_bytes"]
    assert data["stream_extra_instructions_estimate"] == 0
    assert all(r["live"] == r["live_layerwise"] and not r["streamed"] for r in data["layers"])
    assert f"plan: layer-wise, arena {data['arena_bytes']:,} B" in table
    assert "live l-w" not in table and "~ streamed" not in table


def test_export_min_writes_the_streamed_plan(model, plans, tmp_path):
    out = tmp_path / "fw"
    result = run_cli("export", model, "--target", "cortex-m7", "--memory", "min", "-o", out)
    assert result.returncode == 0, result.stderr
    plan = json.loads((out / "model" / "plan.json").read_text())
    assert plan["plan_kind"] == "streamed" and plan["memory"] == "min"
    assert plan["stream"] == plans["min"][0]["stream"]
    assert plan["arena_bytes"] == plans["min"][0]["arena_bytes"]
    assert PLAN_LINE.search(result.stdout), result.stdout
    assert "~ streamed" in (out / "model" / "plan.txt").read_text()


def test_sram_below_the_smallest_plan_is_one_line_exit_2(model, plans, tmp_path):
    budget = plans["min"][0]["planned_ram_bytes"] - 64
    result = run_cli("verify", model, "--target", "cortex-m7", "--sram", str(budget), "-n", "1")
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinyconv: error:"), result.stderr
    assert f"over the {budget} B" in lines[0]
    # inspect shows the smallest plan and says what does not fit, without failing.
    data, table = _inspect(model, tmp_path / "over.json", "--sram", str(budget))
    assert data["fits"] is False and data["plan_kind"] == "streamed"
    assert data["arena_bytes"] == plans["min"][0]["arena_bytes"]
    assert "does not fit: " in table and f"over the {budget} B" in table


@pytest.mark.parametrize("command", ["export", "verify", "profile", "inspect"])
def test_unknown_memory_choice_exits_2(model, command, tmp_path):
    output = ["-o", tmp_path / "o"] if command == "export" else []
    result = run_cli(command, model, "--memory", "bogus", *output)
    assert result.returncode == 2
    assert "Invalid value for '--memory'" in result.stderr
    assert "Traceback" not in result.stderr
    assert "--memory [fast|min|layer]" in run_cli(command, "--help").stdout


@pytest.mark.arm
def test_verify_min_is_bit_exact_and_reports_the_streamed_plan(model, plans, tmp_path):
    report = tmp_path / "v.json"
    result = run_cli("verify", model, "--target", "cortex-m7", "--memory", "min", "-n", "2",
                     "--no-tflm", "--json", report)
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(report.read_text())
    assert data["mismatched_bytes"] == 0 and data["outputs_compared"] > 0
    assert PLAN_KEYS <= set(data) and STREAM_KEYS <= set(data["stream"])
    assert data["plan_kind"] == "streamed" and data["recompute_macs"] == 0
    assert data["arena_bytes"] == plans["min"][0]["arena_bytes"] < data["layerwise_arena_bytes"]
    assert PLAN_LINE.search(result.stdout), result.stdout


@pytest.mark.arm
def test_sram_between_the_plans_picks_a_streamed_one_that_fits(model, plans, tmp_path):
    """Plain verify (--memory fast): the layer-wise plan does not fit the budget with its
    stack and runtime, the smallest one does; a streamed plan is chosen and fits."""
    low = plans["min"][0]["planned_ram_bytes"]
    high = plans["layer"][0]["planned_ram_bytes"]
    assert low < high
    budget = (low + high) // 2
    report = tmp_path / "v.json"
    result = run_cli("verify", model, "--target", "cortex-m7", "--sram", str(budget), "-n", "2",
                     "--no-tflm", "--json", report)
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(report.read_text())
    assert data["mismatched_bytes"] == 0
    assert data["plan_kind"] == "streamed"
    assert data["planned_ram_bytes"] <= budget and data["ram_bytes"] <= budget
    assert PLAN_LINE.search(result.stdout), result.stdout


@pytest.mark.arm
def test_profile_min_reports_the_streamed_plan(model, plans, tmp_path):
    report = tmp_path / "p.json"
    result = run_cli("profile", model, "--target", "cortex-m7", "--memory", "min",
                     "--json", report)
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(report.read_text())
    assert data["mismatched_bytes"] == 0
    assert data["plan_kind"] == "streamed" and data["stream"] == plans["min"][0]["stream"]
    assert PLAN_LINE.search(result.stdout), result.stdout
    loop = [x for x in data["layers"] if x["kind"] == "STREAMED"]
    assert len(loop) == 1 and loop[0]["kernel"]  # the kernels the loop calls


def test_trainings_report_gives_what_export_plans_layer_wise_and_smallest(model, tmp_path):
    """`tinyconv train`'s metrics.json (train.run.deployment_cost) states both plans of the
    int8 model: export's default (layer-wise where the SRAM allows) and `--memory min`.
    Arenas exact; SRAM with the estimated stack bound, which export's compiled bound holds."""
    from tinyconv.train.run import deployment_cost

    cost = deployment_cost(model.read_bytes(), "qemu-m7")
    exported = {}
    for memory in ("fast", "min"):
        result = run_cli("export", model, "--board", "qemu-m7", "--memory", memory,
                         "-o", tmp_path / memory)
        assert result.returncode == 0, result.stderr
        plan = json.loads((tmp_path / memory / "model" / "plan.json").read_text())
        planned = _number(re.search(r"planned RAM ([\d,]+) B of", result.stdout)[1])
        exported[memory] = plan["arena_bytes"], planned, plan["plan_kind"]
    assert cost["arena_bytes"] == exported["fast"][0] and exported["fast"][2] == "layer-wise"
    assert cost["smallest_arena_bytes"] == exported["min"][0] < exported["fast"][0]
    assert exported["min"][2] == "streamed" and cost["smallest_plan_strategy"].startswith("STREAMED")
    for key, memory in (("planned_peak_sram_bytes", "fast"), ("smallest_planned_peak_sram_bytes", "min")):
        assert 0 <= cost[key] - exported[memory][1] <= 256, (key, cost[key], exported[memory])
