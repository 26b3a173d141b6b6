"""The search with streamed plans (issue 11): the exact memory model is the planner that
export uses, so at a budget no layer-wise plan meets, configurations that fit only with a
streamed stem are admitted, and the winner is exported and runs bit-exact in QEMU."""

from __future__ import annotations

import pytest

from tinyconv.errors import TinyconvError
from tinyconv.ir.tflite_import import import_tflite
from tinyconv.search.budget import Budget, check_feasible
from tinyconv.search.proxy import ProxySettings
from tinyconv.search.result import FinalSettings
from tinyconv.search.run import SearchBudget, SearchOptions, run_search
from tinyconv.space import SearchSpace
from tinyconv.targets import get_board
from tinyconv.verify import verify

M4 = get_board("qemu-m4")
SPACE = SearchSpace(resolutions=(48, 64))
SRAM = 24 * 1024  # below the smallest config's layer-wise need, above its streamed one


def test_budget_met_only_by_streamed_plans():
    smallest = SPACE.smallest()
    assert smallest.cost(M4, 1, 10).peak_sram > SRAM          # layer-wise: over
    streamed = Budget(SRAM, 1 << 20).cost(smallest, M4, 1, 10)
    assert streamed.streamed and streamed.peak_sram <= SRAM   # streamed: fits
    with pytest.raises(TinyconvError, match="no configuration fits"):
        check_feasible(SPACE, Budget(SRAM, 1 << 20, memory="layer"), M4, 1, 10)
    assert check_feasible(SPACE, Budget(SRAM, 1 << 20), M4, 1, 10).streamed


@pytest.mark.arm
def test_search_exports_a_config_that_fits_only_streamed(tmp_path):
    opts = SearchOptions(
        budget=Budget(SRAM, 256 * 1024), search_budget=SearchBudget(3), dataset="digits",
        board=M4.name, space_samples=4, population=2, parents=2, resolutions=(48, 64),
        proxy=ProxySettings(dataset="digits", train_images=128, val_images=128, epochs=1,
                            batch_size=32),
        proxy_kind="macs", final=FinalSettings(epochs=1, qat=False, limit_train=300),
        export=True)
    outcome = run_search(opts, tmp_path / "s", M4, echo=lambda line: None, progress=False)
    m = outcome.metrics
    assert m["plan_kind"] == "streamed", m["plan_strategy"]
    assert m["peak_sram_bytes"] <= SRAM < m["layerwise_arena_bytes"]
    assert outcome.winner.arch.cost(M4, 1, 10).peak_sram > SRAM   # layer-wise it would not fit
    model_c = (tmp_path / "s" / "firmware" / "model" / "model.c").read_text()
    assert "STREAMED" in model_c and "tc_slide_rows" in model_c
    tflite = (tmp_path / "s" / "model_int8.tflite").read_bytes()
    report = verify(tflite, M4, source="winner", n=3, sram=SRAM, flash=256 * 1024)
    assert report.mismatched_bytes == 0 and report.plan.plan_kind == "streamed"
    assert report.planned_ram_bytes <= SRAM and report.ram_bytes <= SRAM
    assert len(import_tflite(tflite).ops) == len(outcome.winner.arch.graph(1, 10).ops)
