"""`tinyconv search` as a user meets it (issue 13, item 5): Ctrl-C at any moment, progress
output, honest numbers, one board, mistakes answered in one line, a configurable space."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from cli_process import interrupt_when, run_cli
from tinyconv.errors import TinyconvError
from tinyconv.search.budget import Budget
from tinyconv.search.proxy import ProxySettings
from tinyconv.search.result import FinalSettings
from tinyconv.search.run import SearchBudget, SearchOptions, option_differences, run_search
from tinyconv.targets import get_board
from tinyconv.train.config import accuracy_summary

M4 = get_board("qemu-m4")
TINY_PROXY = ProxySettings(dataset="digits", train_images=128, val_images=128, epochs=1,
                           batch_size=32)
# digits (scikit-learn: on every checkout) at a budget where every candidate is small.
MACS = SearchOptions(budget=Budget.parse("48kB", "256kB"), search_budget=SearchBudget(4),
                     dataset="digits", board=M4.name, space_samples=4, population=2, parents=2,
                     proxy=TINY_PROXY, train_final=False, proxy_kind="macs")


def _run(opts: SearchOptions, out: Path, **kw):
    lines: list[str] = []
    outcome = run_search(opts, out, M4, echo=lines.append, progress=False, **kw)
    return outcome, lines


def _log(out: Path) -> list[dict]:
    """candidates.jsonl, every line a whole JSON object (fails on a cut line)."""
    return [json.loads(line) for line in (out / "candidates.jsonl").read_text().splitlines()]


# ---- a. one Ctrl-C stops the search at once, at any moment -----------------------------------

# A real search with the training proxy: TensorFlow starts in the evolution, and each
# candidate trains for a few seconds.
TRAIN_SEARCH = ["search", "--sram", "48kB", "--flash", "256kB", "--dataset", "digits",
                "--budget", "3", "--population", "2", "--space-samples", "4",
                "--proxy-images", "128", "--no-final", "--target", "cortex-m4"]


def _stopped_at_once(stop, out: Path) -> list[dict]:
    assert stop.returncode == 130, stop.stderr[-3000:]
    assert stop.exit_seconds < 5, f"exited {stop.exit_seconds:.1f} s after SIGINT"
    assert "Traceback" not in stop.stderr and "Exception ignored" not in stop.stderr
    last = stop.stderr.strip().splitlines()[-1]
    assert last.startswith("tinyconv: interrupted;"), stop.stderr[-3000:]
    assert stop.stderr.strip().count("\n") == 0, stop.stderr[-3000:]   # one line, nothing else
    logged = _log(out) if (out / "candidates.jsonl").exists() else []
    assert f"{len(logged)} candidate(s) kept" in last
    return logged


def test_ctrl_c_during_startup_and_training_then_resume(tmp_path):
    """SIGINT during TensorFlow's start-up, then (resumed) during a candidate's training:
    each time a prompt exit 130 with one line and a valid log; a last --resume finishes
    without evaluating a logged candidate again."""
    out = tmp_path / "s"
    log = out / "candidates.jsonl"
    # search.json is written just before the evolution, whose first act is to load TF.
    stop = interrupt_when([*TRAIN_SEARCH, "-o", out], (out / "search.json").exists)
    assert _stopped_at_once(stop, out) == []
    assert "[1/3]" not in stop.stdout

    seen: list[float] = []

    def training_second_candidate() -> bool:
        if not seen and log.exists() and log.read_text().count("\n") >= 1:
            seen.append(time.monotonic())
        return bool(seen) and time.monotonic() - seen[0] > 1.0

    stop = interrupt_when([*TRAIN_SEARCH, "-o", out, "--resume"], training_second_candidate)
    first = _stopped_at_once(stop, out)
    assert len(first) == 1, first
    assert "[1/3]" in stop.stdout and "[2/3]" not in stop.stdout

    done = run_cli(*TRAIN_SEARCH, "-o", out, "--resume")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "3 candidates (2 evaluated now, 1 from the log)" in done.stdout
    logged = _log(out)
    assert logged[0] == first[0] and len({c["key"] for c in logged}) == 3
    assert json.loads((out / "search.json").read_text())["evolution_seconds"] > 0


# ---- b. progress: one line per candidate with count, best and ETA -----------------------------

@pytest.fixture(scope="module")
def macs_search(tmp_path_factory):
    """One MACs-proxy search (no training) of 4 candidates, with a clock for milliseconds."""
    out = tmp_path_factory.mktemp("macs") / "s"
    outcome, lines = _run(SearchOptions(**{**MACS.__dict__, "top": 3, "clock_mhz": 100.0}), out)
    return out, outcome, lines


def test_progress_line_per_candidate_and_proxy_labels(macs_search):
    _, outcome, lines = macs_search
    progress = [line for line in lines if line.lstrip().startswith("[")]
    assert [p.split("]")[0].strip() for p in progress] == ["[1/4", "[2/4", "[3/4", "[4/4"]
    best = 0.0
    for line, cand in zip(progress, outcome.candidates):
        best = max(best, cand.accuracy)
        assert f"MACs score {cand.accuracy:.4f}" in line and f"best {best:.4f}" in line
        assert "| ETA " in line
    # c. the MACs proxy is never called an accuracy.
    assert not any(" acc " in line for line in lines)
    assert any(line.startswith(f"winner {outcome.winner.key}: MACs score") for line in lines)


# ---- g. the leaderboard, any candidate to train, the next command --------------------------------

def test_leaderboard_in_the_summary_and_files(macs_search):
    out, outcome, lines = macs_search
    ranked = sorted(outcome.candidates, key=lambda c: (-c.accuracy, c.peak_sram, c.key))
    assert outcome.winner == ranked[0]
    head = lines.index(f"top 3 of 4 candidates (ranked by MACs score, a proxy; final int8 "
                       f"accuracy where trained; {out / 'leaderboard.txt'}):")
    table = lines[head + 1]
    assert (out / "leaderboard.txt").read_text() == table + "\n"
    rows = table.splitlines()
    assert rows[0].split() == ["rank", "key", "MACs", "score", "final", "int8", "SRAM", "B",
                               "flash", "B", "MACs", "instr", "(est)", "ms", "@", "100", "MHz"]
    doc = json.loads((out / "leaderboard.json").read_text())
    assert doc["score_label"] == "MACs score" and doc["clock_mhz"] == 100.0
    assert [r["key"] for r in doc["rows"]] == [c.key for c in ranked[:3]]
    for n, (row, c, text) in enumerate(zip(doc["rows"], ranked, rows[1:]), 1):
        assert row["rank"] == n and row["proxy_score"] == c.accuracy
        assert (row["peak_sram"], row["flash"], row["instructions"]) == \
            (c.peak_sram, c.flash, c.instructions)
        assert row["final_int8_accuracy"] is None   # --no-final: nothing trained
        assert row["ms"] == pytest.approx(c.instructions / 100e3)
        assert row["arch"] == c.arch.to_dict()
        assert text.split() == [str(n), c.key, f"{c.accuracy:.4f}", "-", f"{c.peak_sram:,}",
                                f"{c.flash:,}", f"{c.macs:,}", f"{c.instructions:,}",
                                f"{c.instructions / 100e3:.2f}"]
    # The winner's arch.json, and the commands that train it or any other candidate.
    assert json.loads((out / "arch.json").read_text()) == outcome.winner.arch.to_dict()
    winner = out / "winner"
    assert f"next: tinyconv train --arch {out / 'arch.json'} --dataset digits --board qemu-m4 " \
           f"--epochs 5 --no-augment --qat -o {winner}, then tinyconv export " \
           f"{winner / 'model_int8.tflite'} --board qemu-m4 --sram 48kB --flash 256kB " \
           f"-o {winner / 'firmware'}" in lines
    assert any(line.startswith(f"any other candidate: tinyconv train --arch "
                               f"{out / 'candidates.jsonl'} --candidate {ranked[1].key} ")
               for line in lines)


def test_arch_from_a_file_or_the_log(macs_search, tmp_path):
    from tinyconv.search.log import load_arch

    out, outcome, _ = macs_search
    c = outcome.candidates[2]
    assert load_arch(out / "arch.json") == (outcome.winner.arch, str(out / "arch.json"))
    log = out / "candidates.jsonl"
    assert load_arch(log, c.key) == (c.arch, f"{log} candidate {c.key}")
    assert load_arch(out, c.key[:10].upper())[0] == c.arch   # the folder; a key's start
    for args, message in [
        ((log,), "holds 4 candidates: name one with --candidate KEY"),
        ((log, "zz"), "--candidate 'zz' matches no candidate"),
        ((log, ""), "matches 4 candidates"),
        ((out / "arch.json", c.key), "--candidate needs a search's candidates.jsonl"),
        ((tmp_path / "none.json",), "no such file"),
        ((tmp_path,), "the folder holds no candidates.jsonl"),
    ]:
        with pytest.raises(TinyconvError, match=re.escape(message)):
            load_arch(*args)
    bad = tmp_path / "bad.json"
    bad.write_text('{"width": 0.5}')
    with pytest.raises(TinyconvError, match=r"--arch .*bad.json: arch: not an architecture"):
        load_arch(bad)


@pytest.mark.parametrize("extra,message", [
    ([], "give --model (a zoo family, see `tinyconv zoo`) or --arch"),
    (["--arch", "{log}", "--model", "lenet5", "--width", "0.5"],
     "--arch sets the model, its width, resolution and parameters: drop --model, --width"),
    (["--arch", "{log}"], "--arch {log} holds 4 candidates: name one with --candidate KEY"),
    (["--candidate", "ab12"], "--candidate names a candidate of --arch's search log"),
])
def test_train_arch_mistakes_are_one_line(macs_search, tmp_path, extra, message):
    out = macs_search[0]
    args = [a.replace("{log}", str(out / "candidates.jsonl")) for a in extra]
    r = run_cli("train", "--dataset", "digits", *args, "-o", tmp_path / "run")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    message = message.replace("{log}", str(out / "candidates.jsonl"))
    assert r.stderr.startswith(f"tinyconv: error: {message}"), r.stderr
    assert not (tmp_path / "run").exists()


def test_plot_labels_the_proxy_and_the_final_accuracy(macs_search, tmp_path):
    from tinyconv.search.result import plot_candidates

    _, outcome, _ = macs_search
    drawn = plot_candidates(outcome.candidates, outcome.winner, 48 * 1024, tmp_path / "a.png",
                            score_label="MACs score")
    assert drawn["ylabel"] == "MACs score (proxy)" and drawn["final_ylabel"] is None
    assert all("final" not in label for label in drawn["legend"])
    drawn = plot_candidates(outcome.candidates, outcome.winner, 48 * 1024, tmp_path / "b.png",
                            score_label="MACs score", final_int8=0.8125, flash_budget=256 * 1024)
    assert drawn["final_ylabel"] == "final int8 accuracy (whole test split)"
    assert {"Pareto front (proxy, SRAM, flash)", "flash budget"} <= set(drawn["legend"])
    assert "winner: final int8" in drawn["legend"] and "0.8125" in drawn["title"]
    assert (tmp_path / "b.png").read_bytes()[:4] == b"\x89PNG"


# ---- c, d. the winner's numbers: same images, one board ----------------------------------------

def test_final_numbers_compare_like_with_like_on_one_board(tmp_path):
    """The winner's float and int8 accuracies on the same (whole) test split; metrics.json's
    board is the search's, at the top and in the training's metrics."""
    opts = SearchOptions(**{**MACS.__dict__, "search_budget": SearchBudget(2), "train_final": True,
                            "final": FinalSettings(epochs=1, qat=False, limit_train=300)})
    assert FinalSettings().int8_eval_limit is None   # the default: the whole split
    outcome, lines = _run(opts, tmp_path / "s")
    m = outcome.metrics
    assert m["board"] == m["training"]["board"] == "qemu-m4"
    t = m["training"]
    assert t["accuracy_images"] == t["dataset_sizes"]["test"] > 300   # digits' whole test split
    assert t["float_accuracy_on_int8_images"] == t["float_accuracy"]
    # The winner's ONNX beside its .tflite (FinalSettings' default, as `tinyconv train`'s).
    assert (tmp_path / "s" / "final" / "model.onnx").exists()
    assert (tmp_path / "s" / "final" / "model_int8.onnx").exists()
    assert t["onnx"]["checked_samples"] > 0 and t["onnx"]["float_max_abs_diff_vs_keras"] < 1e-4
    assert m["proxy_score_label"] == "MACs score" and "proxy_accuracy" not in m
    summary = [line for line in lines if line.startswith("winner trained:")]
    # A winner that fits only streamed (tinyconv/stream.py) says so, with its layer-wise arena.
    streamed = (f" ({m['plan_strategy'].split(';')[0]}; layer-wise arena "
                f"{m['layerwise_arena_bytes']:,} B)" if m["plan_kind"] == "streamed" else "")
    assert summary == [f"winner trained: {accuracy_summary(t)}; peak SRAM "
                       f"{m['peak_sram_bytes']:,} B{streamed}, constants "
                       f"{m['constant_bytes']:,} B; wrote {tmp_path / 's'}"]
    assert f"both on the same {t['accuracy_images']} test images" in summary[0]
    # The leaderboard shows the final int8 accuracy where one was trained (the winner).
    rows = json.loads((tmp_path / "s" / "leaderboard.json").read_text())["rows"]
    assert rows[0]["key"] == outcome.winner.key
    assert rows[0]["final_int8_accuracy"] == t["int8_accuracy"]
    assert rows[0]["final_float_accuracy"] == t["float_accuracy"]
    assert all(r["final_int8_accuracy"] is None for r in rows[1:])
    # export plans it for the budget searched, not for the board's whole RAM and flash.
    assert f"next: tinyconv export {tmp_path / 's' / 'model_int8.tflite'} --board qemu-m4 " \
           f"--sram 48kB --flash 256kB -o {tmp_path / 's' / 'firmware'}" in lines


def test_accuracy_summary_names_what_it_compares():
    qat = {"float_accuracy": 0.80, "float_accuracy_on_int8_images": 0.81, "qat": True,
           "qat_float_accuracy": 0.88, "int8_accuracy": 0.87, "accuracy_images": 2000}
    assert accuracy_summary(qat) == ("float 0.8100; after QAT float 0.8800, int8 0.8700; "
                                     "all on the same 2,000 test images")
    ptq = {"float_accuracy": 0.8, "int8_accuracy": 0.79, "qat": False, "accuracy_images": 10000}
    assert accuracy_summary(ptq) == ("float 0.8000, int8 0.7900 (post-training quantization); "
                                     "both on the same 10,000 test images")


# ---- e. mistakes: budget below the population, --resume of nothing or of other options ------

def test_budget_not_above_population_says_no_evolution(tmp_path):
    _, lines = _run(SearchOptions(**{**MACS.__dict__, "population": 8}), tmp_path / "a")
    notes = [line for line in lines if line.startswith("note:")]
    assert notes == ["note: a budget of 4 candidates is not more than the population (8): all "
                     "are random samples, no evolution (give --population 2 or a larger --budget)"]
    _, lines = _run(MACS, tmp_path / "b")   # 4 candidates, population 2: two generations
    assert not any(line.startswith("note:") for line in lines)
    assert any(" gen 1 " in line for line in lines)


def test_resume_of_nothing_is_refused(tmp_path):
    for folder, what in ((tmp_path / "missing", "does not exist"), (tmp_path, "is empty")):
        with pytest.raises(TinyconvError, match=f"nothing to resume: {folder} {what}"):
            _run(MACS, folder, resume=True)
    (tmp_path / "x.txt").write_text("mine")
    with pytest.raises(TinyconvError, match="holds no search.json"):
        _run(MACS, tmp_path, resume=True)
    with pytest.raises(TinyconvError, match="--export writes the trained winner's firmware: "
                       "drop --no-final"):
        _run(SearchOptions(**{**MACS.__dict__, "export": True}), tmp_path / "e")
    r = run_cli("search", "--sram", "48kB", "--dataset", "digits", "--resume",
                "-o", tmp_path / "nope")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("tinyconv: error: nothing to resume") and "Traceback" not in r.stderr
    assert not (tmp_path / "nope").exists()


def test_resume_with_other_options_names_each_option_and_both_values(tmp_path):
    out = tmp_path / "s"
    _run(MACS, out)
    other = SearchOptions(**{**MACS.__dict__, "seed": 3, "budget": Budget.parse("64kB", "256kB"),
                             "proxy": ProxySettings(**{**TINY_PROXY.to_dict(), "train_images": 256}),
                             "resolutions": (32, 48)})
    with pytest.raises(TinyconvError) as e:
        _run(other, out, resume=True)
    message = str(e.value)
    assert message.startswith(f"cannot resume {out} with other options than it was started with: ")
    for part in ("--sram 65536 (was 49152)", "--seed 3 (was 0)", "--proxy-images 256 (was 128)",
                 "--resolutions 32,48 (was default)"):
        assert part in message, message
    assert message.count("--seed") == 1   # proxy.seed and final.seed are the same option
    # A larger budget (or another leaderboard length or clock) is no other search: it continues.
    more, _ = _run(SearchOptions(**{**MACS.__dict__, "search_budget": SearchBudget(5), "top": 2,
                                    "clock_mhz": 80.0}), out, resume=True)
    assert (more.evaluations, more.reused) == (1, 4)
    assert option_differences({"final": {"epochs": 5}}, {"final": {"epochs": 3}}) == \
        ["--epochs 3 (was 5)"]
    assert option_differences({"final": {"qat_epochs": 1}, "backbone": "mcunet"},
                              {"final": {"qat_epochs": 2}, "backbone": "fusednet"}) == \
        ["--space fusednet (was mcunet)", "--qat-epochs 2 (was 1)"]
    # An option a saved search does not record (added to tinyconv since) is its default there.
    recorded = {"final": {"epochs": 5, "recipe": {}}}
    now = {"final": {"epochs": 5, "recipe": {"precision": "auto"}}}
    assert option_differences(recorded, now, defaults=now) == []
    assert option_differences(recorded, {"final": {"epochs": 5, "recipe": {"precision": "float32"}}},
                              defaults=now) == ["--precision float32 (was auto)"]


def test_resume_keeps_the_space_the_search_started_in(tmp_path):
    """A search resumed by a tinyconv whose default space has changed since (widths, say)
    continues in its own: the space is re-derived from the options, the saved one wins."""
    out = tmp_path / "s"
    first, _ = _run(MACS, out)
    meta = json.loads((out / "search.json").read_text())
    started = {**meta["space"], "widths": [*meta["space"]["widths"], 1.25]}  # an older default
    (out / "search.json").write_text(json.dumps({**meta, "space": started}))
    more, lines = _run(SearchOptions(**{**MACS.__dict__, "search_budget": SearchBudget(5)}), out,
                       resume=True)
    widths = ",".join(f"{w:g}" for w in started["widths"])
    assert f"resuming in the space this search started in (widths {widths}; resolutions 32); " \
        "this version's default differs" in lines, lines
    assert more.space.widths == first.space.widths + (1.25,)
    assert (1.25, 32) in [(r.width, r.resolution) for r in more.choice.table]
    assert json.loads((out / "search.json").read_text())["space"] == started
    assert (more.evaluations, more.reused) == (1, 4)
    _run(MACS, tmp_path / "t")   # the default unchanged: no word about the space
    _, lines = _run(MACS, tmp_path / "t", resume=True)
    assert not any(line.startswith("resuming in the space") for line in lines)


def test_search_takes_trains_recipe_for_the_final_training(tmp_path):
    """`search` has `train`'s recipe options (one definition, cli/options.py): they go into
    the winner's training, search.json, the printed `tinyconv train --arch` line, and a
    resume with another value names the option."""
    from tinyconv.cli.options import recipe_command_line
    from tinyconv.train.config import Recipe

    out = tmp_path / "s"
    args = ["search", "--sram", "48kB", "--flash", "256kB", "--dataset", "digits", "--proxy", "macs",
            "--budget", "2", "--population", "2", "--space-samples", "4", "--no-final",
            "--optimizer", "sgd", "--label-smoothing", "0.1", "--ema", "0.99", "--teacher", "resnet8:0.5"]
    r = run_cli(*args, "-o", out)
    assert r.returncode == 0, r.stderr[-2000:]
    recipe = json.loads((out / "search.json").read_text())["options"]["final"]["recipe"]
    assert (recipe["optimizer"], recipe["learning_rate"], recipe["label_smoothing"], recipe["ema_decay"],
            recipe["teacher"]) == ("sgd", 0.05, 0.1, 0.99, "resnet8:0.5")
    line = next(x for x in r.stdout.splitlines() if x.startswith("next: tinyconv train --arch"))
    assert ("--optimizer sgd --label-smoothing 0.1 --ema 0.99 --teacher resnet8:0.5 --no-augment --qat"
            in line), line
    assert "--lr" not in line and "--weight-decay" not in line   # sgd's own defaults
    assert recipe_command_line(Recipe()) == "--no-augment"
    assert recipe_command_line(Recipe(optimizer="adamw", learning_rate=0.01, augment=True)) == \
        "--optimizer adamw --lr 0.01 --augment"
    r = run_cli(*[a if a != "0.1" else "0.2" for a in args], "--resume", "-o", out)
    assert r.returncode == 2 and "--label-smoothing 0.2 (was 0.1)" in r.stderr, r.stderr
    # The winner's training is `train`'s with that recipe.
    from tinyconv.search.result import train_winner
    from tinyconv.space import ArchConfig
    arch = ArchConfig.from_dict(json.loads((out / "arch.json").read_text()))
    settings = FinalSettings(epochs=1, qat=False, limit_train=200, limit_test=50,
                             recipe=Recipe(optimizer="sgd", label_smoothing=0.1, ema_decay=0.9))
    metrics = train_winner(arch, "digits", settings, tmp_path / "final", resume=False, progress=False)
    config = json.loads((tmp_path / "final" / "config.json").read_text())
    assert (config["optimizer"], config["label_smoothing"], config["ema_decay"]) == ("sgd", 0.1, 0.9)
    assert metrics["recipe"]["label_smoothing"] == 0.1
    # The options the search prints train the same way: `tinyconv train --arch` with them
    # writes the same config.json as the winner's training.
    from tinyconv.cli.options import final_command_line
    line = final_command_line(settings)
    assert line == ("--epochs 1 --optimizer sgd --label-smoothing 0.1 --ema 0.9 --no-augment --no-qat "
                    "--limit-train 200 --limit-test 50"), line
    r = run_cli("train", "--arch", out / "arch.json", "--dataset", "digits", *line.split(),
                "-o", tmp_path / "again")
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads((tmp_path / "again" / "config.json").read_text()) == config
    assert final_command_line(FinalSettings(epochs=20, qat_epochs=2, batch_size=128, seed=3, onnx=False)) == \
        "--epochs 20 --no-augment --qat --qat-epochs 2 --batch-size 128 --seed 3 --no-onnx"


# ---- f. --widths and --resolutions ---------------------------------------------------------------

def test_default_resolutions_follow_the_images(macs_search):
    """No up-scaling by default: 8 px digits and 28 px Fashion-MNIST search 32 px (the
    network's smallest input), 32 px CIFAR-10 too; 96 px images 48 to 96."""
    assert macs_search[1].space.resolutions == (32,)
    assert all(c.arch.resolution == 32 for c in macs_search[1].candidates)
    for side, resolutions in ((8, (32,)), (28, (32,)), (32, (32,)), (96, (48, 64, 80, 96))):
        assert MACS.space_for(side).resolutions == resolutions
    assert SearchOptions(**{**MACS.__dict__, "resolutions": (48, 64)}).space_for(28) \
        .resolutions == (48, 64)


def test_widths_and_resolutions_choose_the_space(tmp_path):
    opts = SearchOptions(**{**MACS.__dict__, "widths": (0.2, 0.3), "resolutions": (32,)})
    outcome, lines = _run(opts, tmp_path / "s")
    assert [(r.width, r.resolution) for r in outcome.choice.table] == [(0.2, 32), (0.3, 32)]
    assert all(c.arch.resolution == 32 and c.arch.width in (0.2, 0.3)
               for c in outcome.candidates)
    saved = json.loads((tmp_path / "s" / "search.json").read_text())
    assert saved["space"]["resolutions"] == [32] and saved["options"]["widths"] == [0.2, 0.3]


@pytest.mark.parametrize("option,value,message", [
    ("--widths", "0.3,big", "cannot read --widths '0.3,big'"),
    ("--widths", "0,0.5", "--widths: 0 is not a width multiplier in (0, 4]"),
    ("--widths", ",", "--widths is empty"),
    ("--resolutions", "16,32", "--resolutions: 16 px is outside 32..1024"),
    ("--resolutions", "32.5", "cannot read --resolutions '32.5'"),
])
def test_bad_widths_or_resolutions_are_one_line(tmp_path, option, value, message):
    r = run_cli("search", "--sram", "48kB", "--dataset", "digits", option, value,
                "-o", tmp_path / "s")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith(f"tinyconv: error: {message}"), r.stderr
    assert not (tmp_path / "s").exists()


# ---- the whole path as a user takes it -------------------------------------------------------

USER_SEARCH = ["search", "--sram", "48kB", "--flash", "256kB", "--dataset", "digits",
               "--population", "2", "--space-samples", "4", "--proxy", "macs", "--no-qat",
               "--limit-train", "300", "--target", "cortex-m4"]


@pytest.mark.slow
def test_search_export_then_train_and_export_another_candidate(tmp_path):
    """search (redirected output) -> leaderboard, firmware and the next command; then
    `train --arch LOG --candidate KEY` and the `export` it names."""
    out = tmp_path / "s"
    r = run_cli(*USER_SEARCH, "--budget", "3", "--epochs", "1", "--export", "--top", "3",
                "--clock", "100", "-o", out)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.splitlines()
    assert [line.split("]")[0].strip() for line in lines if line.lstrip().startswith("[")] == \
        ["[1/3", "[2/3", "[3/3"]
    assert len([line for line in lines if line.strip().startswith("epoch 1/1: ")]) == 1
    assert "\r" not in r.stdout and "\x08" not in r.stdout and len(lines) < 40, r.stdout
    assert any(line.startswith("top 3 of 3 candidates") for line in lines)
    assert f"firmware project: {out / 'firmware'}; next: make -C {out / 'firmware'} run" in lines
    assert (out / "firmware" / "Makefile").exists()
    m = json.loads((out / "metrics.json").read_text())
    assert m["board"] == m["training"]["board"] == "qemu-m4"
    rows = json.loads((out / "leaderboard.json").read_text())["rows"]
    assert rows[0]["final_int8_accuracy"] == m["int8_accuracy"]

    # The printed line for any other candidate, as a user runs it: train, then export.
    other = rows[1]
    run = tmp_path / "run"
    line = next(x for x in lines if x.startswith("any other candidate: "))
    train_line, export_line = line.removeprefix("any other candidate: tinyconv ").replace(
        "RUN", str(run)).split(", then tinyconv ")
    assert f"--candidate {other['key']} " in train_line
    r = run_cli(*train_line.split())
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.startswith(f"training {out / 'candidates.jsonl'} candidate {other['key']}:")
    t = json.loads((run / "metrics.json").read_text())
    arch = other["arch"]
    assert (t["model"], t["width"], t["input_shape"][:2]) == \
        ("mcunet", arch["width"], [arch["resolution"]] * 2)
    assert t["params_config"]["depths"] == arch["depths"] and t["board"] == "qemu-m4"
    sizes = t["dataset_sizes"]
    assert t["epochs_run"] == 1 and sizes["train"] + sizes["val"] == 300 and not t["qat"]
    # train alone knows no budget: its next line exports for the board.
    assert r.stdout.splitlines()[-1] == (f"next: tinyconv export {run / 'model_int8.tflite'} "
                                         f"--board qemu-m4 -o {run / 'firmware'}")
    # The search's line exports it for the budget searched (48 kB SRAM, 256 kB flash).
    assert export_line == (f"export {run / 'model_int8.tflite'} --board qemu-m4 --sram 48kB "
                           f"--flash 256kB -o {run / 'firmware'}")
    r = run_cli(*export_line.split())
    assert r.returncode == 0, r.stderr[-3000:]
    assert "B of 48.0 KiB" in r.stdout and "B of 256.0 KiB" in r.stdout, r.stdout
    assert (run / "firmware" / "Makefile").exists()
