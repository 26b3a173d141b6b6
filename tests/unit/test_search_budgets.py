"""benchmarks/search_budgets.py's results file: runs of some budgets, or of some methods,
add to what earlier runs measured there; nothing is lost or repeated.

The benchmark's trainings take hours, so its results are measured across sittings: one
budget per run, or one method added later (`--methods proxy`). The merge of a run's rows
with the file's is what decides what the published table shows.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import search_budgets  # noqa: E402

RESULT = {"flash": "1MB", "command": "python benchmarks/search_budgets.py --methods proxy",
          "final_training": {"epochs": 20, "qat_epochs": 2,
                             "recipe": {"optimizer": "sgd", "learning_rate": 0.05, "weight_decay": 5e-4,
                                        "label_smoothing": 0.1, "cutout": 0.25, "ema_decay": 0.999,
                                        "bn_reestimate": 50}}}


def row(method: str, accuracy: float) -> dict:
    return {"method": method, "name": f"{method} network", "int8_accuracy": accuracy, "int8_kept": "ptq",
            "qat_int8_accuracy": accuracy - 0.01, "ptq_int8_accuracy": accuracy, "float_accuracy": accuracy,
            "peak_sram_bytes": 1000, "measured_ram_bytes": 900, "arena_bytes": 800, "tflm_arena_bytes": 1600,
            "measured_flash_bytes": 5000, "macs": 10, "instructions_per_inference": 20,
            "search_wall_seconds": 60.0, "mismatched_bytes": 0}


def budget(sram: str, rows: list[dict], command: str | None = None, **notes) -> dict:
    b = {"sram": sram, "rows": rows, **notes,
         "search_beats_hand_scaled": search_budgets.search_beats_hand_scaled(rows)}
    return b if command is None else {**b, "command": command}


def test_budgets_measured_one_per_run_are_each_kept_once():
    """The loop of main(): after each budget of this run, the file holds every budget once
    (a run of two budgets once wrote an earlier run's budget once per budget it measured)."""
    earlier = [budget("320kB", [row("supernet", 0.87)], command="run 1")]
    measured: list[dict] = []
    for sram in ("128kB", "64kB"):
        measured.append(budget(sram, [row("supernet", 0.86)], command="run 2"))
        merged = search_budgets.merge_budgets(earlier, measured)
    assert [b["sram"] for b in merged] == ["64kB", "128kB", "320kB"]
    assert merged[2]["command"] == "run 1" and merged[0]["command"] == "run 2"


def test_a_run_of_one_method_adds_its_rows_to_the_budget():
    """`--methods proxy` at a budget measured before keeps the supernet and hand-scaled rows
    (and their notes), in the methods' order, each naming the command that measured it; the
    verdict covers both searches."""
    earlier = [budget("320kB", [row("supernet", 0.87), row("mobilenetv2", 0.52), row("resnet8", 0.86)],
                      command="run all", resnet8_grid=[{"width": 3.5, "fits": True}])]
    measured = [budget("320kB", [row("proxy", 0.855)], command="run proxy")]
    merged = search_budgets.merge_budgets(earlier, measured)
    assert len(merged) == 1
    b = merged[0]
    assert [r["method"] for r in b["rows"]] == ["supernet", "proxy", "mobilenetv2", "resnet8"]
    assert [r.get("command") for r in b["rows"]] == ["run all", None, "run all", "run all"]
    assert b["command"] == "run proxy" and b["resnet8_grid"] == [{"width": 3.5, "fits": True}]
    assert b["search_beats_hand_scaled"] == {"supernet": True, "proxy": False}
    text = search_budgets.render({**RESULT, "budgets": merged})
    assert "Measured by `run all` (rerun it to resume): the supernet, mobilenetv2, resnet8 rows." in text
    assert "Measured by `run proxy` (rerun it to resume): the proxy rows." in text
    assert text.count("| proxy network |") == 1 and text.count("| supernet network |") == 1


def test_a_method_measured_again_replaces_its_earlier_row():
    earlier = [budget("64kB", [row("supernet", 0.80), row("proxy", 0.70), row("resnet8", 0.75)],
                      command="run 1")]
    measured = [budget("64kB", [row("proxy", 0.78)], command="run 2")]
    b = search_budgets.merge_budgets(earlier, measured)[0]
    assert [(r["method"], r["int8_accuracy"]) for r in b["rows"]] == [
        ("supernet", 0.80), ("proxy", 0.78), ("resnet8", 0.75)]
    assert b["search_beats_hand_scaled"] == {"supernet": True, "proxy": True}
    text = search_budgets.render({**RESULT, "budgets": [b]})
    assert ": the supernet, resnet8 rows." in text and "`run 2` (rerun it to resume): the proxy rows." in text


def test_one_command_is_named_once():
    b = budget("128kB", [row("supernet", 0.87), row("resnet8", 0.86)], command="run 1")
    text = search_budgets.render({**RESULT, "budgets": [b]})
    assert "Measured by `run 1` (rerun it to resume)." in text and text.count("Measured by") == 1
