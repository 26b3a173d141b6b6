"""`tinyconv search --ray`: candidate evaluations as tasks on a (local, real) Ray instance.

Same candidates.jsonl as a local search; an interrupt stops the search and the Ray instance
it started at once; `--resume --ray` never re-evaluates a logged candidate; a wrong address
is one line. The MACs proxy on `digits` keeps it cheap (no training, no TensorFlow).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from cli_process import group_processes, interrupt_group, run_cli
from tinyconv.search.budget import Budget
from tinyconv.search.run import SearchBudget, SearchOptions, run_search
from tinyconv.targets import get_board

try:
    import ray
except ImportError:  # the `ray` extra is missing: a skip here, a failure under CI=true
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        raise
    pytest.skip("needs Ray: pip install 'tinyconv[ray]'", allow_module_level=True)

BOARD = get_board("qemu-m7")
# Digits are 8x8 upscaled: tiny searches; 64 kB leaves plenty of configurations.
SEARCH = ["search", "--sram", "64kB", "--dataset", "digits", "--widths", "0.5",
          "--space-samples", "2", "--proxy", "macs", "--no-final"]


def _opts(n: int, **kw) -> SearchOptions:
    return SearchOptions(budget=Budget.parse("64kB", "4MB"), search_budget=SearchBudget(n),
                         dataset="digits", widths=(0.5,), space_samples=2, population=4,
                         parents=2,
                         proxy_kind="macs", train_final=False, **kw)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(monkeypatch, capsys, *args) -> tuple[int, str]:
    """The real `tinyconv` entry point, in this process: (exit code, stderr)."""
    from tinyconv.cli import main
    monkeypatch.setattr(sys, "argv", ["tinyconv", *map(str, args)])
    with pytest.raises(SystemExit) as e:
        main()
    return e.value.code, capsys.readouterr().err


def test_wrong_address_or_missing_ray_is_one_line(tmp_path, monkeypatch, capsys):
    port = _closed_port()
    code, err = _cli(monkeypatch, capsys, *SEARCH, "--ray", f"127.0.0.1:{port}",
                     "-o", tmp_path / "a")
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"tinyconv: error: --ray 127.0.0.1:{port}: no Ray cluster answers")
    code, err = _cli(monkeypatch, capsys, *SEARCH, "--ray", "headnode", "-o", tmp_path / "b")
    assert code == 2 and err.count("\n") == 1 and "HOST:PORT" in err, err
    monkeypatch.setitem(sys.modules, "ray", None)  # as without the extra: import fails
    code, err = _cli(monkeypatch, capsys, *SEARCH, "--ray", "-o", tmp_path / "c")
    assert code == 2 and err.count("\n") == 1, err
    assert "pip install 'tinyconv[ray]'" in err
    assert not any((tmp_path / d).exists() and any((tmp_path / d).iterdir()) for d in "abc")


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray instance for the in-process searches (the backend uses the instance
    this process is connected to, and leaves it running)."""
    import logging
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             logging_level=logging.ERROR)
    yield
    ray.shutdown()


def test_ray_search_writes_the_same_log_as_a_local_one(tmp_path, local_ray):
    lines: list[str] = []
    local = run_search(_opts(10), tmp_path / "local", BOARD, echo=lambda s: None)
    on_ray = run_search(_opts(10, workers=None, ray_address="local"), tmp_path / "ray", BOARD,
                        echo=lines.append)
    assert any(l.startswith("  evaluations on Ray:") and "2 task(s) at once" in l for l in lines)
    assert on_ray.evaluations == local.evaluations == 10
    a, b = _lines(tmp_path / "local" / "candidates.jsonl"), _lines(tmp_path / "ray" / "candidates.jsonl")
    assert [sorted(x) for x in a] == [sorted(x) for x in b]   # the same fields
    # Two tasks at once finish in either order: the same candidates in each generation,
    # with the same numbers; the index is the order of completion.
    same = lambda rows: sorted(json.dumps({**r, "index": None}, sort_keys=True) for r in rows)
    assert same(a) == same(b)
    assert [r["generation"] for r in a] == [r["generation"] for r in b]
    assert sorted(r["index"] for r in b) == list(range(10))
    # One task at a time: the very same file.
    run_search(_opts(10, workers=1, ray_address="local"), tmp_path / "ray1", BOARD,
               echo=lambda s: None)
    assert (tmp_path / "ray1" / "candidates.jsonl").read_text() == \
        (tmp_path / "local" / "candidates.jsonl").read_text()
    assert ray.is_initialized()  # not ours to stop


def test_ray_search_interrupted_then_resumed_without_reevaluating(tmp_path):
    out = tmp_path / "s"
    log = out / "candidates.jsonl"
    n = 30  # a wide window: the interrupt lands mid-evolution even on a loaded machine
    args = [*SEARCH, "--budget", str(n), "--population", "4", "--ray", "-o", out]

    def logged() -> bool:  # during the evolution, once candidates are logged
        return log.exists() and log.read_text().count("\n") >= 3
    stop, seconds = interrupt_group(args, logged)
    assert stop.returncode == 130 and seconds < 15, (stop.returncode, seconds, stop.stderr)
    assert "candidate(s) kept in" in stop.stderr.strip().splitlines()[-1]
    kept = _lines(log)            # every line whole (a cut line would not parse)
    assert 3 <= len(kept) < n and len({r["key"] for r in kept}) == len(kept)

    done = run_cli(*args, "--resume", timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"{n} candidates ({n - len(kept)} evaluated now, {len(kept)} from the log)" in done.stdout
    rows = _lines(log)
    assert rows[:len(kept)] == kept and len({r["key"] for r in rows}) == n
    # The progress lines (printed per evaluation) name none of the logged candidates.
    evaluated = {l.split()[3].rstrip(":") for l in done.stdout.splitlines()
                 if l.startswith("  [") and "] gen " in l}
    assert len(evaluated) == n - len(kept) and not evaluated & {r["key"] for r in kept}
    assert "evaluations on Ray: a local Ray instance" in done.stdout


def test_ray_search_interrupted_while_ray_starts(tmp_path):
    """A Ctrl-C while the local Ray instance starts: out at once, none of its processes
    left, and nothing logged yet."""
    out = tmp_path / "s"
    pid: list[int] = []

    def ray_starting() -> bool:  # Ray's first service is up
        return bool(pid) and any(p.endswith("(gcs_server)") for p in group_processes(pid[0]))
    stop, seconds = interrupt_group([*SEARCH, "--budget", "4", "--ray", "-o", out], ray_starting,
                               started=pid.append)
    assert stop.returncode == 130 and seconds < 15, (stop.returncode, seconds, stop.stderr)
    assert stop.stderr.strip().splitlines()[-1].startswith("tinyconv: interrupted")
    assert not (out / "candidates.jsonl").exists()


def test_ray_search_trains_the_supernet_and_the_winner_on_ray(tmp_path):
    """With --proxy supernet, the supernet training and the winner's training are one Ray
    task each (their lines relayed), the evaluations tasks as before; the folders are those
    of a local search."""
    out = tmp_path / "s"
    r = run_cli("search", "--sram", "48kB", "--flash", "256kB", "--dataset", "digits",
                "--space", "fusednet", "--widths", "0.25", "--budget", "3", "--population", "2",
                "--space-samples", "2", "--proxy", "supernet", "--supernet-epochs", "1",
                "--limit-train", "128", "--epochs", "1", "--no-qat", "--ray", "-o", out,
                timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    for job in ("the supernet training", "the winner's training"):
        assert f"{job} on Ray: a local Ray instance" in r.stdout
    assert "supernet epoch 1/1" in r.stdout and "evaluations on Ray" in r.stdout
    assert (out / "supernet" / "state.json").exists()
    assert json.loads((out / "final" / "metrics.json").read_text())["model"] == "fusednet"
    assert (out / "model_int8.tflite").exists()


@pytest.mark.slow
def test_ray_search_on_a_running_cluster_address(tmp_path):
    """`--ray HOST:PORT`: a cluster started apart (`ray start --head`), left running."""
    port = _closed_port()
    head = subprocess.Popen([sys.executable, "-m", "ray.scripts.scripts", "start", "--head",
                             f"--port={port}", "--num-cpus=2", "--include-dashboard=false",
                             "--disable-usage-stats", "--block"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True,
                            # A test cluster without Ray's token authentication (with it,
                            # a driver connecting to an address needs RAY_AUTH_MODE=token).
                            env=dict(os.environ, RAY_USAGE_STATS_ENABLED="0",
                                     RAY_AUTH_MODE="disabled"))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert head.poll() is None and time.monotonic() < deadline, "no Ray head"
                time.sleep(0.2)
        args = [*SEARCH, "--budget", "8", "--population", "4", "--ray", f"127.0.0.1:{port}",
                "--workers", "2"]
        on_cluster = run_cli(*args, "-o", tmp_path / "ray", timeout=180)
        assert on_cluster.returncode == 0, on_cluster.stderr[-2000:]
        assert (f"evaluations on Ray: the Ray cluster at 127.0.0.1:{port} (1 node, 2 CPUs), "
                "up to 2 task(s) at once, 1 CPU(s) each") in on_cluster.stdout
        local = run_cli(*SEARCH, "--budget", "8", "--population", "4", "-o", tmp_path / "local")
        assert local.returncode == 0, local.stderr[-2000:]
        keys = lambda d: sorted(r["key"] for r in _lines(tmp_path / d / "candidates.jsonl"))
        assert keys("ray") == keys("local") and len(keys("ray")) == 8
        assert head.poll() is None  # the cluster is not the search's to stop
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        for _ in range(40):
            if not group_processes(head.pid):
                break
            time.sleep(0.25)
        else:
            os.killpg(head.pid, signal.SIGKILL)
        # `ray start` names its cluster here for `ray.init()` / `auto`; `ray stop` would
        # remove it, a kill leaves it.
        current = Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster"
        if current.exists() and current.read_text().strip().endswith(f":{port}"):
            current.unlink()
