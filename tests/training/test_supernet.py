"""The weight-sharing supernet (`tinyconv search --proxy supernet`, tinyconv/search/supernet.py):
training and its resume, the extracted Keras sub-network against the supernet's own forward
pass, BN re-estimation and the evaluator, and the search end to end, all on digits at a
tiny size (one supernet trained per module: a few steps of 4 sub-networks)."""

from __future__ import annotations

import json
import random
import shutil

import numpy as np
import pytest

from cli_process import run_cli
from tinyconv.errors import TinyconvError
from tinyconv.keras_compat import tf
from tinyconv.search.supernet import (META_FILE, RERANK_FILE, Supernet, SupernetProxySettings,
                                      SupernetSettings, check_reusable, load_data, load_supernet,
                                      read_state, resize, save_subnet_weights, supernet_proxy,
                                      supernet_space, train_supernet)
from tinyconv.space import ArchConfig, SearchSpace

SPACE = SearchSpace(widths=(0.2, 0.3), resolutions=(32,))
# 64 images: 57 train (2 steps of 32) + 7 validation; 2 epochs.
SETTINGS = SupernetSettings(epochs=2, limit_train=64, batch_size=32, augment=False)


class Stop(Exception):
    pass


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("supernet") / "sn"
    lines = []
    net = train_supernet("digits", SPACE, 1, 10, folder, SETTINGS, echo=lines.append)
    return folder, net, lines


def _variables(net):
    return {k: v.numpy() for k, v in net.variables.items()}


def test_training_checkpoints_every_epoch_and_resumes(trained, tmp_path):
    folder, net, lines = trained
    state = read_state(folder)
    assert state["epoch"] == 2 and (folder / state["checkpoint"]).is_dir()
    assert [h["epoch"] for h in state["history"]] == [1, 2]
    assert all(np.isfinite(h["loss"]) and h["step_seconds"] > 0 for h in state["history"])
    assert not list(folder.glob("epoch-0001")) and not list(folder.glob(".tmp-*"))
    meta = json.loads((folder / META_FILE).read_text())
    assert meta["dataset"] == "digits" and meta["space"] == SPACE.to_dict()
    assert any("supernet epoch 2/2" in line for line in lines)
    trained_weights = _variables(net)
    # Training moved the weights away from their initial values.
    fresh = _variables(Supernet(SPACE, 1, 10, seed=SETTINGS.seed))
    assert any(not np.allclose(fresh[k], trained_weights[k]) for k in fresh)

    # An interruption after epoch 1 (the echo after its checkpoint raises), then --resume:
    # the same weights as the uninterrupted run.
    other = tmp_path / "sn"

    def stop_after_first(line):
        if "epoch 1/2" in line:
            raise Stop

    with pytest.raises(Stop):
        train_supernet("digits", SPACE, 1, 10, other, SETTINGS, echo=stop_after_first)
    assert read_state(other)["epoch"] == 1
    with pytest.raises(TinyconvError, match="not empty"):
        train_supernet("digits", SPACE, 1, 10, other, SETTINGS, echo=lambda _: None)
    resumed_lines = []
    resumed = train_supernet("digits", SPACE, 1, 10, other, SETTINGS, resume=True,
                             echo=resumed_lines.append)
    assert resumed_lines[0] == "supernet: resuming after epoch 1"
    assert read_state(other)["epoch"] == 2
    again = _variables(resumed)
    for k, v in trained_weights.items():
        np.testing.assert_allclose(again[k], v, atol=1e-5, err_msg=k)
    # What a later process loads is what training left.
    loaded = _variables(load_supernet(other))
    assert all(np.array_equal(loaded[k], again[k]) for k in again)
    # The last epoch's checkpoint holds the weights alone (epoch 1's held Adam's two moments
    # beside them), and resuming the finished supernet loads it as it is: no epoch runs.
    names = {name for name, _ in tf.train.list_variables(str(other / "epoch-0002" / "ckpt"))}
    assert any(n.startswith("supernet/") for n in names)
    assert not any(n.startswith("optimizer/") for n in names), sorted(names)[:5]
    finished_lines = []
    finished = train_supernet("digits", SPACE, 1, 10, other, SETTINGS, resume=True,
                              echo=finished_lines.append)
    assert finished_lines == [] and finished.epoch == 2
    assert all(np.array_equal(_variables(finished)[k], again[k]) for k in again)
    # A resume with other settings says what differs.
    with pytest.raises(TinyconvError, match="settings"):
        train_supernet("digits", SPACE, 1, 10, other,
                       SupernetSettings(epochs=3, limit_train=64, batch_size=32, augment=False), resume=True)


def _archs():
    rng = random.Random(3)
    return [SPACE.largest(), SPACE.smallest(), SPACE.sample(rng, width=0.2),
            SPACE.sample(rng, width=0.3)]


def test_extracted_keras_model_computes_the_supernet_forward(trained, tmp_path):
    """The correctness anchor: the zoo's Keras model with the inherited weights and
    re-estimated statistics gives the supernet's outputs, for several sub-networks (elastic
    width, depth, kernel and expansion); the graph form of the forward pass (the training
    step's) gives the eager one's."""
    from tinyconv.keras_compat import tf

    _, net, _ = trained
    ds = load_data("digits", SPACE, 1, SETTINGS)
    x = ds.x_train[:64]
    graph_run = tf.function(lambda x, code: net.run(x, code), autograph=False)
    for cfg in _archs():
        stats = net.calibrate(cfg, x)
        ours = tf.nn.softmax(net.predict(cfg, x[:16], stats)).numpy()
        model = net.subnet_keras(cfg, stats)
        keras_out = model.predict(x[:16], verbose=0)
        np.testing.assert_allclose(keras_out, ours, atol=1e-4, err_msg=cfg.key)
        # Training-mode forward (batch statistics), eager and as a graph of any layout.
        eager = net.run(tf.constant(x[:16]), net.layout(cfg)).numpy()
        graph = graph_run(tf.constant(x[:16]), tf.constant(net.layout(cfg), tf.int32)).numpy()
        np.testing.assert_allclose(graph, eager, atol=2e-4, err_msg=cfg.key)
    # The weights file the winner's final training starts from holds the same model.
    settings = SupernetProxySettings(str(trained[0]), calib_images=64, val_images=7)
    cfg = _archs()[2]
    path = save_subnet_weights(cfg, settings, tmp_path / "w.weights.h5")
    model = cfg.build_keras(1, 10)
    model.load_weights(str(path))
    stats = net.calibrate(cfg, resize(ds.x_train[:64], 32))
    np.testing.assert_allclose(model.predict(x[:8], verbose=0),
                               tf.nn.softmax(net.predict(cfg, x[:8], stats)).numpy(), atol=1e-4)


# The fused backbone's supernet (kxk conv blocks, no depthwise): elastic kernel 3/5 (the
# centre crop of the 5x5), expansion 1-3, width, depth and resolution 16/24. The plain
# backbone's (one kxk conv per block, a max pool opening each strided stage, no residual):
# elastic kernel, width, depth and resolution (a 20 px input pools 20 -> 10 -> 5 -> 3).
# The basic-block backbone's (two kxk convs, identity or projection shortcut, ReLU6 after the
# add): elastic kernel, middle expansion 1-2, width, depth and resolution.
FUSED = SearchSpace.for_backbone("fusednet", widths=(0.25, 0.5), resolutions=(16, 24),
                                 kernels=(3, 5))
PLAIN = SearchSpace.for_backbone("plainnet", widths=(0.25, 0.5), resolutions=(16, 20),
                                 kernels=(3, 5))
BASIC = SearchSpace.for_backbone("resnet", widths=(0.5, 1.0), resolutions=(12, 16),
                                 kernels=(3, 5), expansions=(1, 2))
SMALL_SETTINGS = SupernetSettings(epochs=1, limit_train=64, batch_size=32, augment=False)


@pytest.mark.parametrize("space", [FUSED, PLAIN, BASIC], ids=["fusednet", "plainnet", "resnet"])
def test_supernet_sub_networks_are_the_zoo_models(space, tmp_path):
    from tinyconv.keras_compat import tf

    net = train_supernet("digits", space, 1, 10, tmp_path / "sn", SMALL_SETTINGS,
                         echo=lambda _: None)
    assert "block0_0_dw" not in net.variables
    if space is FUSED:
        assert net.variables["block1_0_expand_conv"].shape == (5, 5, 8, 24)  # 16*0.5 in, *3
    elif space is BASIC:   # 16 in, 32 * 2 in the middle, 32 out; the stride projects
        assert net.variables["block1_0_project_conv"].shape == (5, 5, 64, 32)
        assert net.variables["block1_0_shortcut_conv"].shape == (1, 1, 16, 32)
        assert "block0_0_shortcut_conv" not in net.variables  # stem as wide as stage 0
    else:
        assert net.variables["block1_0_conv"].shape == (5, 5, 16, 32)  # 32*0.5 in, 64*0.5
        assert "block1_0_project_conv" not in net.variables
    ds = load_data("digits", space, 1, SMALL_SETTINGS)
    rng = random.Random(5)
    small, big = min(space.resolutions), max(space.resolutions)
    archs = [space.largest(), space.smallest(), space.sample(rng, min(space.widths), big),
             space.sample(rng, max(space.widths), small)]
    assert {a.resolution for a in archs} == {small, big}
    assert {5, 3} <= {k for a in archs for k in a.kernels}
    graph_run = tf.function(lambda x, code: net.run(x, code), autograph=False)
    for cfg in archs:
        x = resize(ds.x_train[:64], cfg.resolution)
        stats = net.calibrate(cfg, x)
        model = net.subnet_keras(cfg, stats)
        assert model.name.startswith(space.backbone)
        assert not any("depthwise" in type(layer).__name__.lower() for layer in model.layers)
        kinds = {type(layer).__name__ for layer in model.layers}
        assert ("MaxPooling2D" in kinds) == (space is PLAIN)  # and no residual in plain nets
        assert ("Add" in kinds) == (space is BASIC) or space is FUSED
        np.testing.assert_allclose(model.predict(x[:16], verbose=0),
                                   tf.nn.softmax(net.predict(cfg, x[:16], stats)).numpy(),
                                   atol=1e-4, err_msg=cfg.key)
        eager = net.run(tf.constant(x[:16]), net.layout(cfg)).numpy()
        graph = graph_run(tf.constant(x[:16]), tf.constant(net.layout(cfg), tf.int32)).numpy()
        np.testing.assert_allclose(graph, eager, atol=2e-4, err_msg=cfg.key)
    # A supernet of one backbone never scores the other's networks.
    with pytest.raises(TinyconvError, match=f"backbone {space.backbone} .this search: mcunet"):
        check_reusable(tmp_path / "sn", "digits", SPACE, 1, 10)
    with pytest.raises(TinyconvError, match="outside the supernet's space"):
        net.check(SPACE.largest())


def test_bn_reestimation_and_evaluation(trained):
    _, net, _ = trained
    ds = load_data("digits", SPACE, 1, SETTINGS)
    big, small = SPACE.largest(), SPACE.smallest()
    stats_big = net.calibrate(big, ds.x_train[:64])
    stats_small = net.calibrate(small, ds.x_train[:64])
    # Per-architecture statistics: sized by the sub-network's channels, and different for
    # the layers both share (their inputs differ), not BN's initial 0 / 1.
    mean_b, var_b = (np.asarray(t) for t in stats_big["stem_bn"])
    mean_s, var_s = (np.asarray(t) for t in stats_small["stem_bn"])
    assert mean_b.shape == (16,) and mean_s.shape == (8,)
    assert not np.allclose(var_b, 1.0) and np.all(var_b >= 0)
    shared = "block1_0_project_bn"
    assert not np.allclose(np.asarray(stats_big[shared][1])[:8],
                           np.asarray(stats_small[shared][1])[:8])
    assert "block3_3_project_bn" in stats_big and "block3_3_project_bn" not in stats_small
    # The evaluator: a validation accuracy in [0, 1], the same on a second call (cached).
    settings = SupernetProxySettings(str(trained[0]), calib_images=64, val_images=7)
    first = supernet_proxy(big.to_dict(), 1, settings)
    assert first.key == big.key and 0.0 <= first.accuracy <= 1.0 and first.seconds > 0
    assert supernet_proxy(big.to_dict(), 1, settings).accuracy == first.accuracy
    outside = ArchConfig(0.5, 32, big.depths, big.kernels, big.expansions)
    with pytest.raises(TinyconvError, match="outside the supernet's space"):
        supernet_proxy(outside.to_dict(), 1, settings)


def test_reuse_checks_dataset_and_space(trained):
    folder = trained[0]
    assert check_reusable(folder, "digits", SPACE.restrict(0.3, 32), 1, 10)["epoch"] == 2
    with pytest.raises(TinyconvError, match="dataset digits .this search: fashion_mnist"):
        check_reusable(folder, "fashion_mnist", SPACE, 1, 10)
    with pytest.raises(TinyconvError, match="no widths 0.5"):
        check_reusable(folder, "digits", SPACE.restrict(0.5, 32), 1, 10)
    with pytest.raises(TinyconvError, match="no supernet"):
        check_reusable(folder.parent / "missing", "digits", SPACE, 1, 10)


def test_supernet_space_stays_within_the_chosen_pair():
    from tinyconv.search.space_opt import PairStats, SpaceChoice

    def row(w, r, fit):
        return PairStats(w, r, 4, fit, 1.0, 1.0, 1, 1.0)
    choice = SpaceChoice(0.5, 48, (row(0.3, 32, 4), row(0.3, 48, 0), row(0.5, 48, 4),
                                   row(0.7, 48, 2), row(0.5, 64, 1)))
    space = supernet_space(SearchSpace(), choice)
    assert space.widths == (0.3, 0.5) and space.resolutions == (32, 48)
    assert space.contains(SearchSpace().sample(random.Random(0), 0.5, 48))


# The search through the CLI: --proxy supernet, no final training (tested above through
# save_subnet_weights; the slow test below runs it), candidates in the usual log.
SEARCH = ["search", "--sram", "48kB", "--flash", "256kB", "--dataset", "digits",
          "--widths", "0.2,0.3", "--budget", "4", "--population", "2", "--space-samples", "4",
          "--proxy", "supernet", "--supernet-epochs", "1", "--limit-train", "128", "--no-final"]


def test_search_with_the_supernet_proxy(tmp_path):
    out = tmp_path / "s"
    r = run_cli(*SEARCH, "-o", str(out), timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "supernet epoch 1/1" in r.stdout and "supernet acc" in r.stdout
    lines = [json.loads(line) for line in (out / "candidates.jsonl").read_text().splitlines()]
    assert len(lines) == 4 and len({c["key"] for c in lines}) == 4
    for c in lines:
        assert set(c) >= {"key", "index", "generation", "arch", "accuracy", "peak_sram", "flash",
                          "macs", "instructions", "seconds"}
        assert 0.0 <= c["accuracy"] <= 1.0 and c["peak_sram"] <= 48 * 1024
        assert ArchConfig.from_dict(c["arch"]).key == c["key"]
    meta = json.loads((out / "search.json").read_text())
    assert meta["options"]["proxy_kind"] == "supernet"
    assert meta["options"]["supernet"]["epochs"] == 1
    assert read_state(out / "supernet")["epoch"] == 1
    # The best (all 4: --rerank is 10) re-scored on the whole validation split: the winner
    # and the leaderboard's order are by that score.
    rescored = json.loads((out / RERANK_FILE).read_text())
    assert set(rescored["scores"]) == {c["key"] for c in lines}
    assert "whole val" in r.stdout and "re-ranking the best 4" in r.stdout
    rows = json.loads((out / "leaderboard.json").read_text())["rows"]
    ranked = [row["rerank_score"] for row in rows]
    assert ranked == sorted(rescored["scores"].values(), reverse=True)
    assert ranked == [rescored["scores"][row["key"]] for row in rows]
    assert json.loads((out / "arch.json").read_text()) == rows[0]["arch"]
    # No final training here: the hint trains the winner as the search would have, from its
    # supernet weights (written beside arch.json); they load into the winner and no other.
    init = out / "winner_init.weights.h5"
    assert f"tinyconv train --arch {out / 'arch.json'} --init-weights {init} " in r.stdout
    common = ["--dataset", "digits", "--epochs", "1", "--limit-train", "64", "--no-onnx"]
    r = run_cli("train", "--arch", str(out / "arch.json"), "--init-weights", str(init), *common,
                "-o", str(tmp_path / "winner"), timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((tmp_path / "winner" / "config.json").read_text())["init_weights"] == str(init)
    other = next(c for c in lines if c["key"] != rows[0]["key"])  # another layer's shape differs
    r = run_cli("train", "--arch", str(out), "--candidate", other["key"], "--init-weights", str(init),
                *common, "-o", str(tmp_path / "other"))
    assert r.returncode == 2 and f"--init-weights {init}: not weights of this" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "other").exists()
    r = run_cli("train", "--arch", str(out / "arch.json"), "--init-weights", str(tmp_path / "none.h5"),
                *common, "-o", str(tmp_path / "other"))
    assert r.returncode == 2 and "none.h5: no such file" in r.stderr and not (tmp_path / "other").exists()
    # A resume scores no candidate again, also of a search folder moved elsewhere: a score
    # edited in rerank.json decides the winner.
    rescored["scores"][rows[-1]["key"]] = 2.0
    (out / RERANK_FILE).write_text(json.dumps(rescored))
    shutil.move(out, tmp_path / "moved")
    out = tmp_path / "moved"
    r = run_cli(*SEARCH, "--resume", "-o", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((out / "leaderboard.json").read_text())["rows"][0]["key"] == rows[-1]["key"]
    assert json.loads((out / "arch.json").read_text()) == rows[-1]["arch"]
    # A resume with another --supernet-epochs is refused, naming the option.
    r = run_cli(*SEARCH, "--supernet-epochs", "2", "--resume", "-o", str(out))
    assert r.returncode == 2 and "--supernet-epochs 2 (was 1)" in r.stderr
    r = run_cli(*SEARCH, "--winner-init", "scratch", "--resume", "-o", str(out))
    assert r.returncode == 2 and "--winner-init scratch (was supernet)" in r.stderr
    # Another search reusing this supernet; one outside its space gets one line.
    r = run_cli(*SEARCH, "--supernet", str(out / "supernet"), "--budget", "2", "--rerank", "0",
                "-o", str(tmp_path / "again"))
    assert r.returncode == 0, r.stderr[-3000:]
    assert "supernet: reusing" in r.stdout and "supernet epoch" not in r.stdout
    # --rerank 0: the evolution's score alone picks the winner.
    assert not (tmp_path / "again" / RERANK_FILE).exists()
    rows = json.loads((tmp_path / "again" / "leaderboard.json").read_text())["rows"]
    assert rows[0]["rerank_score"] is None and rows[0]["proxy_score"] >= rows[1]["proxy_score"]
    r = run_cli(*[a if a != "0.2,0.3" else "0.5" for a in SEARCH], "--supernet",
                str(out / "supernet"), "-o", str(tmp_path / "wider"))
    assert r.returncode == 2 and "does not match this search: no widths 0.5" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    # ... and writes nothing: the same -o then takes a search that trains its own supernet.
    assert not (tmp_path / "wider").exists()
    r = run_cli("search", "--sram", "48kB", "--dataset", "digits", "--supernet", str(out),
                "-o", str(tmp_path / "other"))
    assert r.returncode == 2 and "add --proxy supernet" in r.stderr
    r = run_cli("search", "--sram", "48kB", "--dataset", "digits", "--rerank", "3",
                "-o", str(tmp_path / "other"))
    assert r.returncode == 2 and "--rerank re-scores with the supernet" in r.stderr
    r = run_cli("search", "--sram", "48kB", "--dataset", "digits", "--winner-init", "scratch",
                "-o", str(tmp_path / "other"))
    assert r.returncode == 2 and "--winner-init chooses" in r.stderr
    assert not (tmp_path / "other").exists()


def test_search_over_the_fused_backbone(tmp_path):
    """`--space fusednet`: the supernet, the candidates and the winner's arch.json are of
    the fused backbone; a resume with the other backbone is refused, naming --space."""
    out = tmp_path / "s"
    args = [*SEARCH, "--space", "fusednet", "--widths", "0.25,0.5", "-o", str(out)]
    r = run_cli(*args, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = [json.loads(line) for line in (out / "candidates.jsonl").read_text().splitlines()]
    assert len(lines) == 4
    assert all(ArchConfig.from_dict(c["arch"]).backbone == "fusednet" for c in lines)
    assert json.loads((out / "supernet" / META_FILE).read_text())["space"]["backbone"] == "fusednet"
    assert json.loads((out / "arch.json").read_text())["backbone"] == "fusednet"
    assert json.loads((out / "search.json").read_text())["options"]["backbone"] == "fusednet"
    r = run_cli(*[a for a in args if a not in ("--space", "fusednet")], "--resume")
    assert r.returncode == 2 and "--space mcunet (was fusednet)" in r.stderr, r.stderr
    r = run_cli(*args[:-2], "--resolutions", "4", "-o", str(tmp_path / "tiny"))
    assert r.returncode == 2 and "outside 8..1024 (the fusednet network" in r.stderr


@pytest.mark.slow
def test_search_with_the_supernet_trains_the_winner_from_inherited_weights(tmp_path):
    """By default the winner's final training starts from its supernet weights;
    --winner-init scratch from random ones."""
    out = tmp_path / "s"
    args = [a for a in SEARCH if a != "--no-final"]
    r = run_cli(*args, "--epochs", "1", "--no-qat", "-o", str(out), timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "starting from the supernet's weights" in r.stdout
    assert (out / "winner_init.weights.h5").exists()
    config = json.loads((out / "final" / "config.json").read_text())
    assert config["init_weights"].endswith("winner_init.weights.h5")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["proxy_score_label"] == "supernet acc"
    # --winner-init scratch: the same search's winner trained from random weights.
    again = tmp_path / "scratch"
    r = run_cli(*args, "--epochs", "1", "--no-qat", "--supernet", str(out / "supernet"),
                "--winner-init", "scratch", "-o", str(again), timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "from scratch (--winner-init scratch)" in r.stdout
    assert "starting from the supernet's weights" not in r.stdout
    assert not (again / "winner_init.weights.h5").exists()
    assert json.loads((again / "final" / "config.json").read_text())["init_weights"] is None


@pytest.mark.slow
def test_ctrl_c_during_supernet_training_then_resume(tmp_path):
    from cli_process import interrupt_when

    out = tmp_path / "s"
    args = [*SEARCH, "--supernet-epochs", "2", "--limit-train", "300", "-o", str(out)]
    stop = interrupt_when(args, (out / "supernet" / "state.json").exists)
    assert stop.returncode == 130 and stop.exit_seconds < 30, stop.stderr[-3000:]
    assert "Traceback" not in stop.stderr
    assert read_state(out / "supernet")["epoch"] in (1, 2)
    r = run_cli(*args, "--resume")
    assert r.returncode == 0, r.stderr[-3000:]
    assert read_state(out / "supernet")["epoch"] == 2
    assert len((out / "candidates.jsonl").read_text().splitlines()) == 4
