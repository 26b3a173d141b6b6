"""`tinyconv search`: budgets, space optimisation, evolution with its log and resume."""

from __future__ import annotations

import json
import random
import subprocess
import time
from pathlib import Path

import pytest

from cli_process import interrupt_when, run_cli
from tinyconv.errors import TinyconvError
from tinyconv.search.budget import Budget, check_feasible, fitting_sample
from tinyconv.search.evolution import Evolution, EvolutionSettings
from tinyconv.search.log import CandidateLog
from tinyconv.search.proxy import ProxySettings, evaluate, macs_proxy
from tinyconv.search.result import pareto_front, pareto_front3
from tinyconv.search.run import SearchBudget, SearchOptions, run_search
from tinyconv.search.space_opt import optimise_space
from tinyconv.space import SearchSpace
from tinyconv.targets import get_board

BOARD = get_board("qemu-m7")
# As `--resolutions 48,64`: up-scaled 28 px images, where SRAM budgets of 64-320 kB bind (at
# the default 32 px for 28 px images only flash does).
SPACE = SearchSpace(resolutions=(48, 64))
TINY_PROXY = ProxySettings(train_images=128, val_images=128, epochs=1, batch_size=32)


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return run_cli(*args, timeout=timeout)


@pytest.mark.parametrize("text", ["320kB", "320KiB", "327680", "0.3125MB"])
def test_budget_units(text):
    assert Budget.parse(text, "1MB").sram == 327680
    assert Budget.parse("64kB", "0.5MB").flash == 512 * 1024


def test_budget_counts_and_search_budget():
    b = Budget.parse("64kB", "1MB", "20M", "1.5G")
    assert (b.max_macs, b.max_instructions) == (20_000_000, 1_500_000_000)
    with pytest.raises(TinyconvError, match="max-macs"):
        Budget.parse("64kB", "1MB", "lots")
    assert SearchBudget.parse("30") == SearchBudget(candidates=30)
    assert SearchBudget.parse("20m") == SearchBudget(minutes=20)
    assert SearchBudget.parse("1.5h").minutes == 90
    for bad in ("2.5", "0", "soon"):
        with pytest.raises(TinyconvError, match="budget"):
            SearchBudget.parse(bad)


def test_no_config_fits_reports_smallest_footprint():
    # The default space of 28 px images (and of digits' 8 px ones): 32 px only.
    space = SearchSpace.for_input(28)
    assert space == SearchSpace.for_input(8) and space.resolutions == (32,)
    # The smallest footprint is the smallest config's smallest plan (streamed: memory min).
    smallest = space.smallest().cost(BOARD, 1, 10, sram=8 * 1024, memory="min")
    assert smallest.streamed
    with pytest.raises(TinyconvError, match=f"SRAM {smallest.peak_sram:,} B"):
        check_feasible(space, Budget.parse("8kB", "1MB"), BOARD, 1, 10)
    with pytest.raises(TinyconvError, match="flash"):
        check_feasible(space, Budget.parse("1MB", "20kB"), BOARD, 1, 10)
    exact = Budget(smallest.peak_sram, smallest.flash)
    assert check_feasible(space, exact, BOARD, 1, 10) == exact.cost(space.smallest(), BOARD, 1, 10)
    # Layer-wise plans only: more SRAM for the same config.
    layerwise = space.smallest().cost(BOARD, 1, 10)
    assert layerwise.peak_sram > smallest.peak_sram
    with pytest.raises(TinyconvError, match=f"SRAM {layerwise.peak_sram:,} B"):
        check_feasible(space, Budget(smallest.peak_sram, 1 << 20, memory="layer"), BOARD, 1, 10)
    # Through the CLI: one line, exit 2, at once (no TensorFlow, no training). digits has
    # the same search space as a 28 px set and ships with scikit-learn.
    r = _cli("search", "--sram", "8kB", "--flash", "1MB", "--dataset", "digits",
             "-o", "/nonexistent/x")
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert r.stderr.startswith("tinyconv: error: no configuration fits")
    assert f"SRAM {smallest.peak_sram:,} B" in r.stderr


def test_cli_rejects_bad_budget_text():
    r = _cli("search", "--sram", "lots", "--flash", "1MB")
    assert r.returncode == 2 and "cannot read size 'lots'" in r.stderr


def test_constraint_aware_sampling():
    budget = Budget.parse("64kB", "256kB", "5M")
    rng = random.Random(0)
    configs = [fitting_sample(SPACE, budget, BOARD, 1, 10, rng) for _ in range(10)]
    assert all(c is not None for c in configs)
    costs = [budget.cost(c, BOARD, 1, 10) for c in configs]
    assert all(x.peak_sram <= 65536 and x.flash <= 262144 and x.macs <= 5_000_000 for x in costs)
    # Plain samples break that budget often: the filter does something.
    plain = [SPACE.sample(rng).cost(BOARD, 1, 10) for _ in range(30)]
    assert any(not budget.fits(x) for x in plain)


def test_space_optimisation_table():
    small = optimise_space(SPACE, Budget.parse("64kB", "1MB"), BOARD, 1, 10, samples=8)
    large = optimise_space(SPACE, Budget.parse("320kB", "1MB"), BOARD, 1, 10, samples=8)
    assert len(small.table) == len(SPACE.widths) * len(SPACE.resolutions)
    chosen = {(r.width, r.resolution): r for r in small.table}[(small.width, small.resolution)]
    assert chosen.fitting > 0 and chosen.score == max(r.score for r in small.table)
    # A larger budget lets more computation fit: a bigger space is chosen.
    assert (large.width, large.resolution) != (small.width, small.resolution)
    assert max(r.mean_macs for r in large.table if r.fitting) > chosen.mean_macs
    text = small.format_table()
    assert "<- chosen" in text and text.count("\n") == len(small.table)


def _evolve(tmp: Path, sram: str, n: int, evaluator=macs_proxy, workers: int = 1,
            proxy: ProxySettings = TINY_PROXY, seed: int = 0) -> Evolution:
    budget = Budget.parse(sram, "1MB")
    choice = optimise_space(SPACE, budget, BOARD, 1, 10, samples=8)
    evo = Evolution(SPACE.restrict(choice.width, choice.resolution), budget, BOARD, 1, 10,
                    EvolutionSettings(population=3, parents=2, max_candidates=n, workers=workers,
                                      seed=seed),
                    proxy, CandidateLog(tmp / "candidates.jsonl"), echo=lambda s: None,
                    evaluator=evaluator)
    evo.run()
    return evo


def test_budgets_give_different_fitting_winners(tmp_path):
    winners = {}
    for sram in ("64kB", "128kB"):
        evo = _evolve(tmp_path / sram, sram, 9)
        best = max(evo.done.values(), key=lambda c: c.accuracy)
        assert all(c.peak_sram <= Budget.parse(sram, "1MB").sram for c in evo.done.values())
        winners[sram] = best
    assert winners["64kB"].arch != winners["128kB"].arch
    assert winners["128kB"].macs > winners["64kB"].macs


def test_evolution_is_deterministic_and_resumes_from_log(tmp_path):
    a = _evolve(tmp_path / "a", "128kB", 7)
    b = _evolve(tmp_path / "b", "128kB", 7)
    assert [c.key for c in a.done.values()] == [c.key for c in b.done.values()]
    # Interrupted after 4, resumed to 7: the 4 logged ones are reused, not re-evaluated.
    c4 = _evolve(tmp_path / "c", "128kB", 4)
    assert c4.state.evaluations == 4
    c7 = _evolve(tmp_path / "c", "128kB", 7)
    assert (c7.state.evaluations, c7.state.reused) == (3, 4)
    assert [c.key for c in c7.done.values()] == [c.key for c in a.done.values()]
    lines = (tmp_path / "c" / "candidates.jsonl").read_text().splitlines()
    assert len(lines) == 7 and len({json.loads(x)["key"] for x in lines}) == 7


def test_evolution_across_widths_and_resolutions(tmp_path):
    """With several widths and resolutions (the supernet's space) the evolution samples,
    mutates and crosses them too; every candidate is in the space and fits; a one-pair space
    never leaves its pair."""
    from tinyconv.search.evolution import crossover, mutate

    budget = Budget.parse("128kB", "1MB")
    space = SearchSpace(widths=(0.3, 0.5), resolutions=(48, 64))

    def evolve(folder):
        evo = Evolution(space, budget, BOARD, 1, 10, EvolutionSettings(population=4, parents=2, max_candidates=12),
                        TINY_PROXY, CandidateLog(folder / "candidates.jsonl"), echo=lambda s: None,
                        evaluator=macs_proxy)
        evo.run()
        return list(evo.done.values())

    cands = evolve(tmp_path / "a")
    assert len(cands) == 12 and all(space.contains(c.arch) and c.peak_sram <= budget.sram for c in cands)
    assert len({(c.arch.width, c.arch.resolution) for c in cands}) > 1
    assert len({(c.arch.width, c.arch.resolution) for c in cands if c.generation > 0}) > 1
    assert [c.key for c in evolve(tmp_path / "b")] == [c.key for c in cands]
    rng = random.Random(0)
    a, b = space.sample(rng, 0.3, 48), space.sample(rng, 0.5, 64)
    moved = [mutate(a, space, rng, 0.5) for _ in range(40)]
    assert {(m.width, m.resolution) for m in moved} == {(w, r) for w in space.widths for r in space.resolutions}
    mixed = {(c.width, c.resolution) for c in (crossover(a, b, rng) for _ in range(40))}
    assert mixed == {(0.3, 48), (0.3, 64), (0.5, 48), (0.5, 64)}
    one = space.restrict(0.3, 48)
    assert {(mutate(a, one, rng, 1.0).width, crossover(a, a, rng).resolution) for _ in range(20)} == {(0.3, 48)}


def test_resumed_search_adds_up_the_evolution_time(tmp_path):
    """search.json keeps the evolution's wall time, so a resumed search reports the total."""
    opts = SearchOptions(budget=Budget.parse("96kB", "1MB"), search_budget=SearchBudget(2),
                         dataset="digits", space_samples=4, population=2, parents=2,
                         proxy=TINY_PROXY, train_final=False, proxy_kind="macs")
    out = tmp_path / "s"
    first = run_search(opts, out, BOARD, echo=lambda s: None)
    saved = json.loads((out / "search.json").read_text())["evolution_seconds"]
    assert saved == round(first.search_seconds, 1)
    more = SearchOptions(**{**opts.__dict__, "search_budget": SearchBudget(3)})
    second = run_search(more, out, BOARD, resume=True, echo=lambda s: None)
    assert (second.evaluations, second.reused) == (1, 2)
    assert second.search_seconds >= saved
    assert json.loads((out / "search.json").read_text())["evolution_seconds"] == \
        round(second.search_seconds, 1)
    # A resume that evaluates nothing (the log holds every candidate) adds no time.
    third = run_search(more, out, BOARD, resume=True, echo=lambda s: None)
    assert (third.evaluations, third.reused) == (0, 3)
    assert third.search_seconds == round(second.search_seconds, 1)  # as search.json keeps it


def test_truncated_last_line_is_dropped(tmp_path):
    evo = _evolve(tmp_path, "128kB", 3)
    log = tmp_path / "candidates.jsonl"
    text = log.read_text()
    log.write_text(text[: len(text) - 20])  # killed mid-write
    again = _evolve(tmp_path, "128kB", 3)
    assert (again.state.reused, again.state.evaluations) == (2, 1)
    assert len(log.read_text().splitlines()) == 3
    assert evo.done.keys() == again.done.keys()


def test_pareto_front():
    evo_cands = []
    from tinyconv.search.log import Candidate
    cfg = SPACE.smallest()
    for i, (sram, acc) in enumerate([(10, 0.5), (20, 0.4), (30, 0.7), (40, 0.6), (50, 0.8)]):
        evo_cands.append(Candidate(str(i), i, 0, cfg, acc, sram, 0, 0, 0, 0.0))
    assert [c.key for c in pareto_front(evo_cands)] == ["0", "2", "4"]
    # Over accuracy, SRAM and flash: a candidate the 2-D front drops stays when its flash is
    # the smallest; one matched on all three and beaten on one goes.
    three = [Candidate(k, i, 0, cfg, acc, sram, flash, 0, 0, 0.0) for i, (k, acc, sram, flash)
             in enumerate([("a", 0.5, 10, 90), ("b", 0.4, 20, 10), ("c", 0.7, 30, 50),
                           ("d", 0.7, 30, 60), ("e", 0.8, 50, 50)])]
    assert [c.key for c in pareto_front3(three)] == ["a", "b", "c", "e"]


@pytest.mark.slow
@pytest.mark.dataset("fashion_mnist")
def test_real_proxy_search_writes_log_and_resume_does_not_retrain(tmp_path):
    """The training proxy, through run_search: 1 candidate, then resume to 2."""
    opts = SearchOptions(budget=Budget.parse("96kB", "1MB"), search_budget=SearchBudget(1),
                         space_samples=4, population=2, parents=2, proxy=TINY_PROXY,
                         train_final=False)
    out = tmp_path / "s"
    first = run_search(opts, out, BOARD, echo=lambda s: None)
    assert first.evaluations == 1 and 0.0 <= first.candidates[0].accuracy <= 1.0
    assert len((out / "candidates.jsonl").read_text().splitlines()) == 1
    with pytest.raises(TinyconvError, match="--resume"):
        run_search(opts, out, BOARD, echo=lambda s: None)
    more = SearchOptions(**{**opts.__dict__, "search_budget": SearchBudget(2)})
    second = run_search(more, out, BOARD, resume=True, echo=lambda s: None)
    assert (second.evaluations, second.reused) == (1, 1)
    assert len((out / "candidates.jsonl").read_text().splitlines()) == 2
    other = SearchOptions(**{**opts.__dict__, "seed": 5})
    with pytest.raises(TinyconvError, match="seed"):
        run_search(other, out, BOARD, resume=True, echo=lambda s: None)


def test_workers_2_spawns_processes(tmp_path):
    """Spawned worker processes (no training: the MACs proxy) give the same candidates."""
    one = _evolve(tmp_path / "one", "96kB", 5)
    two = _evolve(tmp_path / "two", "96kB", 5, workers=2)
    assert two.state.evaluations == 5
    assert {c.key: c.accuracy for c in one.done.values()} == {c.key: c.accuracy for c in two.done.values()}


@pytest.mark.slow
@pytest.mark.dataset("fashion_mnist")
def test_workers_2_training(tmp_path):
    evo = _evolve(tmp_path, "96kB", 2, evaluator=evaluate, workers=2)
    assert evo.state.evaluations == 2
    assert all(0.0 <= c.accuracy <= 1.0 and c.seconds > 0 for c in evo.done.values())
    assert len((tmp_path / "candidates.jsonl").read_text().splitlines()) == 2


@pytest.mark.slow
@pytest.mark.arm
@pytest.mark.dataset("fashion_mnist")
def test_full_search_cli_exports_firmware_that_fits(tmp_path):
    """The whole command at a small budget, then the winner in QEMU (bit-exact, RAM/flash)."""
    from tinyconv.verify import verify
    out = tmp_path / "search"
    args = ["search", "--sram", "320kB", "--flash", "1MB", "--dataset", "fashion_mnist",
            "--budget", "4", "--population", "2", "--space-samples", "8",
            "--proxy-images", "500", "--epochs", "1", "--limit-train", "3000",
            "--export", "--target", "cortex-m7", "-o", str(out)]
    r = _cli(*args, timeout=1800)  # training on a busy 2-core machine
    assert r.returncode == 0, r.stderr[-2000:]
    for name in ("arch.json", "model_int8.tflite", "metrics.json", "accuracy_vs_sram.png",
                 "winner_memory.png", "candidates.jsonl", "firmware/Makefile"):
        assert (out / name).exists(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["peak_sram_bytes"] == metrics["predicted_peak_sram_bytes"] <= 320 * 1024
    assert metrics["int8_accuracy"] > 0.5
    rep = verify((out / "model_int8.tflite").read_bytes(), get_board("qemu-m7"), n=3,
                 sram=320 * 1024, flash=1024 * 1024, compare_tflm=False)
    assert rep.mismatched_bytes == 0
    assert rep.ram_bytes <= 320 * 1024 and rep.flash_bytes <= 1024 * 1024
    # Resuming the finished search evaluates and trains nothing again, same winner.
    trained = (out / "final" / "metrics.json").stat().st_mtime_ns
    r = _cli(*args, "--resume", timeout=1800)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "0 evaluated now, 4 from the log" in r.stdout
    assert (out / "final" / "metrics.json").stat().st_mtime_ns == trained
    assert json.loads((out / "metrics.json").read_text())["key"] == metrics["key"]


# ---- the whole command in CI: Ctrl-C, --resume, --export -> firmware bit-exact in QEMU ----------
# digits (scikit-learn, no ../shared) at a budget where every candidate is small; the MACs
# proxy skips the candidates' training, so the time goes to the winner's final training,
# which is where a user's Ctrl-C lands, and its int8 conversion. (3 epochs of 6 steps leave
# BatchNorm's moving statistics near their start, so accuracy is not asserted here; the
# slow test above runs the training proxy and checks accuracy.)
CI_SEARCH = ["search", "--sram", "48kB", "--flash", "256kB", "--dataset", "digits",
             "--budget", "2", "--population", "2", "--space-samples", "4", "--proxy", "macs",
             "--epochs", "3", "--no-qat", "--limit-train", "400", "--no-onnx", "--export",
             "--target", "cortex-m4"]


@pytest.mark.arm
def test_search_ctrl_c_resume_and_export_run_bit_exact_in_qemu(tmp_path):
    """One CI search: interrupted after the winner's first finished epoch, resumed, and the
    firmware project it exported built with its own Makefile and run in QEMU on real test
    images, every output byte equal to LiteRT's reference kernels'. (One test, not two on a
    shared fixture: pytest -n 2 could run the search once per worker.)"""
    import numpy as np

    from tinyconv.data import load_dataset
    from tinyconv.reference import litert_outputs
    from tinyconv.train.quantize import quantize_input

    out = tmp_path / "s"
    state = out / "final" / "checkpoints" / "state.json"
    started = time.monotonic()
    stop = interrupt_when([*CI_SEARCH, "-o", out], state.exists)
    interrupted_after = time.monotonic() - started
    # One Ctrl-C: a prompt exit 130 with one line, no traceback, nothing half-written.
    assert stop.returncode == 130, stop.stderr[-3000:]
    assert "Traceback" not in stop.stderr and stop.exit_seconds < 30
    assert stop.stderr.strip().splitlines()[-1].startswith("tinyconv: interrupted")
    log = (out / "candidates.jsonl").read_text()
    logged = [json.loads(line) for line in log.splitlines()]
    assert len(logged) == 2 and len({c["key"] for c in logged}) == 2
    saved = json.loads(state.read_text())
    done = saved["epoch"]
    assert 1 <= done < 3 and len(saved["history"]["val_accuracy"]) == done
    assert (out / "final" / "checkpoints" / saved["checkpoint"]).is_dir()
    assert not (out / "metrics.json").exists()

    # --resume: no candidate evaluated again, the final training continues after `done`.
    started = time.monotonic()
    resumed = run_cli(*CI_SEARCH, "-o", out, "--resume")
    print(f"CI search: interrupted after {interrupted_after:.0f} s (exit in "
          f"{stop.exit_seconds:.1f} s), resumed run {time.monotonic() - started:.0f} s")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "0 evaluated now, 2 from the log" in resumed.stdout
    assert f"next: make -C {out / 'firmware'} run" in resumed.stdout  # the summary says where
    assert f"resuming after epoch {done}" in resumed.stdout
    assert (out / "candidates.jsonl").read_text() == log
    final = json.loads((out / "final" / "metrics.json").read_text())
    assert final["epochs_run"] == 3 and final["dataset_sizes"]["train"] == 360
    assert "onnx" not in final and not list((out / "final").glob("*.onnx"))  # --no-onnx
    history = json.loads((out / "final" / "history.json").read_text())["history"]
    for key in ("loss", "val_accuracy"):  # the finished epochs kept, not trained again
        assert history[key][:done] == saved["history"][key]
    assert history["loss"][-1] < history["loss"][0]  # and training went on from there
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["key"] in {c["key"] for c in logged}
    assert metrics["peak_sram_bytes"] <= 48 * 1024 and metrics["board"] == "qemu-m4"
    assert metrics["training"]["board"] == "qemu-m4"   # one board, the search's

    # The exported project, as a user builds and runs it.
    fw = out / "firmware"
    assert "qemu-m4" in (fw / "config.mk").read_text()
    blob = (out / "model_int8.tflite").read_bytes()
    resolution = json.loads((out / "arch.json").read_text())["resolution"]
    x = load_dataset("digits", input_shape=(resolution, resolution, 1), limit_test=12).x_test
    q = quantize_input(blob, x)
    (tmp_path / "in.bin").write_bytes(q.tobytes())
    run = subprocess.run(["make", "-C", str(fw), "run", f"INPUT={tmp_path / 'in.bin'}",
                          f"OUTPUT={tmp_path / 'out.bin'}", f"COUNT={len(q)}"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert f"invokes={len(q)} status=0" in run.stdout
    expected = np.stack([o[0].reshape(-1) for o in litert_outputs(blob, [[s[None]] for s in q])])
    ours = np.frombuffer((tmp_path / "out.bin").read_bytes(), np.int8).reshape(expected.shape)
    assert np.array_equal(ours, expected), f"{np.count_nonzero(ours != expected)} bytes differ"
