"""`tinyconv search` as a user meets it (issue 13, item 5): Ctrl-C at any moment, progress
output, honest numbers, one board, mistakes answered in one line, a configurable space."""

from __future__ import annotations

import json
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

def test_progress_line_per_candidate_and_proxy_labels(tmp_path):
    outcome, lines = _run(MACS, tmp_path / "s")
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
    assert m["proxy_score_label"] == "MACs score" and "proxy_accuracy" not in m
    summary = [line for line in lines if line.startswith("winner trained:")]
    # A winner that fits only streamed (tinyconv/stream.py) says so, with its layer-wise arena.
    streamed = (f" ({m['plan_strategy'].split(';')[0]}; layer-wise arena "
                f"{m['layerwise_arena_bytes']:,} B)" if m["plan_kind"] == "streamed" else "")
    assert summary == [f"winner trained: {accuracy_summary(t)}; peak SRAM "
                       f"{m['peak_sram_bytes']:,} B{streamed}, constants "
                       f"{m['constant_bytes']:,} B; wrote {tmp_path / 's'}"]
    assert f"both on the same {t['accuracy_images']} test images" in summary[0]


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
    # A larger budget is no other search: it continues.
    more, _ = _run(SearchOptions(**{**MACS.__dict__, "search_budget": SearchBudget(5)}), out,
                   resume=True)
    assert (more.evaluations, more.reused) == (1, 4)
    assert option_differences({"final": {"epochs": 5}}, {"final": {"epochs": 3}}) == \
        ["--epochs 3 (was 5)"]


# ---- f. --widths and --resolutions ---------------------------------------------------------------

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
