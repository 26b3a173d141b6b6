"""`tinyconv train --ray`: the training as one task on a (local, real) Ray instance.

The task trains into the run directory the driver names and relays its lines as they come;
the result is the local run's; a Ctrl-C stops the task and the instance at once, the
checkpoints kept for `--resume` (with or without --ray); a TinyconvError in the task is one
line. LeNet-5 on `digits` keeps it to seconds per epoch.
"""

from __future__ import annotations

import json
import os

import pytest

from cli_process import group_processes, interrupt_group, run_cli

try:
    import ray  # noqa: F401
except ImportError:  # the `ray` extra is missing: a skip here, a failure under CI=true
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        raise
    pytest.skip("needs Ray: pip install 'tinyconv[ray]'", allow_module_level=True)

TRAIN = ["train", "--model", "lenet5", "--dataset", "digits", "--resolution", "16",
         "--epochs", "2", "--no-onnx", "--int8-eval-limit", "100"]


def _metrics(folder) -> dict:
    return json.loads((folder / "metrics.json").read_text())


def test_training_on_ray_is_the_local_training(tmp_path):
    local = run_cli(*TRAIN, "-o", tmp_path / "local", timeout=600)
    assert local.returncode == 0, local.stderr[-2000:]
    on_ray = run_cli(*TRAIN, "--ray", "-o", tmp_path / "ray", timeout=600)
    assert on_ray.returncode == 0, on_ray.stderr[-2000:]
    assert "the training on Ray: a local Ray instance (1 node, " in on_ray.stdout
    # The task's lines came back: per epoch, then the summary of the run it wrote.
    assert "epoch 2/2" in on_ray.stdout and f"wrote {tmp_path / 'ray'}" in on_ray.stdout
    a, b = _metrics(tmp_path / "local"), _metrics(tmp_path / "ray")
    assert (a["float_accuracy"], a["int8_accuracy"]) == (b["float_accuracy"], b["int8_accuracy"])
    assert (tmp_path / "ray" / "model_int8.tflite").read_bytes() == \
        (tmp_path / "local" / "model_int8.tflite").read_bytes()


def test_training_on_ray_interrupted_then_resumed(tmp_path):
    out = tmp_path / "r"
    args = [*TRAIN, "--epochs", "6", "--ray", "-o", out]
    pid: list[int] = []

    def one_epoch_saved() -> bool:  # the task has checkpointed an epoch, and goes on
        state = out / "checkpoints" / "state.json"
        return state.exists() and json.loads(state.read_text())["epoch"] >= 1
    stop, seconds = interrupt_group(args, one_epoch_saved, started=pid.append)
    assert stop.returncode == 130 and seconds < 15, (stop.returncode, seconds, stop.stderr)
    assert "resume with --resume" in stop.stderr.strip().splitlines()[-1]
    assert not group_processes(pid[0])
    assert not (out / "metrics.json").exists()
    done = run_cli(*args, "--resume", timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "resuming" in done.stdout.lower()
    assert _metrics(out)["epochs_run"] == 6


def test_an_error_in_the_task_is_one_line(tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    r = run_cli(*TRAIN, "--ray", "-o", out, timeout=300)
    assert r.returncode == 2, r.stderr[-2000:]
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert str(out) in r.stderr and (out / "notes.txt").read_text() == "mine\n"
