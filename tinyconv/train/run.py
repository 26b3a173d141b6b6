"""`train(config, run_dir)`: data -> zoo model -> fit -> (QAT) -> int8 -> ONNX -> metrics.json.

The run directory is never deleted: checkpoints survive any failure, and the final files
are each written to a temporary name and renamed, so a file that exists is complete.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..data.augment import eval_batches
from ..defaults import DEFAULT_BOARD
from ..errors import TinyconvError
from ..files import write_atomic, write_json_atomic
from .config import TrainConfig, TrainResult, accuracy_summary
from .loop import fit

CONFIG_FILE = "config.json"
TEACHER_DIR = "teacher"          # --teacher FAMILY's own run, inside the student's
CHECKPOINTS_DIR = "checkpoints"  # the float fit's per-epoch checkpoints
QAT_DIR = "qat"                  # QAT's, inside CHECKPOINTS_DIR


def prepare_run_dir(config: TrainConfig, run_dir: Path, resume: bool) -> None:
    """Refuse to mix runs: a fresh run needs an empty directory, a resume the same config.

    Only checks: the directory is created once the data has loaded, so a bad dataset
    leaves nothing behind."""
    if run_dir.exists() and not run_dir.is_dir():
        raise TinyconvError(f"output {run_dir} exists and is not a directory")
    saved = run_dir / CONFIG_FILE
    if resume:
        if not saved.exists():
            raise TinyconvError(f"nothing to resume in {run_dir}: no {CONFIG_FILE} (start it without --resume)")
        try:
            previous = TrainConfig.from_json(json.loads(saved.read_text()))
        except (OSError, ValueError, TypeError) as e:
            raise TinyconvError(f"cannot resume: {saved} is unreadable ({e})") from None
        changed = previous.same_run_as(config)
        if changed:
            raise TinyconvError(f"cannot resume {run_dir}: {', '.join(changed)} differ from the "
                                f"interrupted run (use a new -o)")
    elif run_dir.exists() and any(run_dir.iterdir()):
        raise TinyconvError(f"output {run_dir} is not empty: pass --resume to continue that run, "
                            f"or choose a new directory")


def _start_run_dir(config: TrainConfig, run_dir: Path) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(run_dir / CONFIG_FILE, config.to_json())


def _load_init_weights(model, config: TrainConfig) -> None:
    """The weights the training starts from (`--init-weights`), one line if they are not
    this model's (another architecture, or not a Keras weights file)."""
    path = Path(config.init_weights)
    try:
        model.load_weights(str(path))
    except (ValueError, OSError, KeyError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
        raise TinyconvError(f"--init-weights {path}: not weights of this {config.model} (width "
                            f"{config.width:g}): {first}") from None


def _save_keras(model, path: Path) -> None:
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".save-") as tmp:
        target = Path(tmp) / path.name
        # HDF5 without the optimizer: tf_keras' .keras format always stores the compile
        # state, and our LR schedule is not a registered class. Load with compile=False.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="You are saving your model as an HDF5 file")
            model.save(str(target), include_optimizer=False, save_format="h5")
        os.replace(target, path)


def deployment_cost(tflite: bytes, board_name: str = DEFAULT_BOARD) -> dict[str, Any]:
    """MACs, flash and planned SRAM of the int8 model, from the same IR/planner as `export`."""
    from ..ir.tflite_import import import_tflite

    return graph_cost(import_tflite(tflite, "model_int8.tflite"), board_name)


def graph_cost(graph, board_name: str = DEFAULT_BOARD) -> dict[str, Any]:
    """MACs, arena, planned peak SRAM and weight flash of a graph IR (from a .tflite, or from
    a Keras model through ir.builder, whose plan equals the converted model's)."""
    from .. import deploy
    from ..targets import get_board

    cost: dict[str, Any] = {"macs": int(graph.total_macs())}
    try:
        board = get_board(board_name)
        # No budget here: the report states the need, `tinyconv export` enforces a budget.
        # The layer-wise plan (export's, where the SRAM allows it) and the smallest one
        # (`export --memory min`, streaming the high-resolution layers where that is smaller);
        # the stack is the estimated bound, which export's compiled one does not exceed.
        d = deploy.prepare(graph, board, sram=1 << 40, flash=1 << 40)
        smallest = deploy.prepare(graph, board, sram=1 << 40, flash=1 << 40, memory="min")
        cost.update(board=board_name, arena_bytes=d.plan.arena_bytes,
                    planned_peak_sram_bytes=d.planned_ram_bytes, flash_weights_bytes=d.source.weights_bytes,
                    smallest_arena_bytes=smallest.plan.arena_bytes,
                    smallest_planned_peak_sram_bytes=smallest.planned_ram_bytes,
                    smallest_plan_strategy=smallest.plan.strategy)
    except TinyconvError as e:
        cost["deploy_note"] = f"not deployable by tinyconv: {e}"
    return cost


def _build(config: TrainConfig, dataset):
    """`config`'s zoo model for `dataset`, its weights drawn from `config.seed`."""
    from .. import zoo
    from ..keras_compat import keras

    keras.utils.set_random_seed(config.seed)
    return zoo.build(config.model, tuple(int(d) for d in dataset.input_shape), dataset.num_classes,
                     config.width, **config.params)


def _fit_float(model, config: TrainConfig, dataset, run_dir: Path, *, resume: bool, progress: bool,
               recipe) -> tuple[Any, float]:
    """fit with per-epoch checkpoints in run_dir, then history.json, model.h5 and the float
    test accuracy: the part of a run the student and a --teacher FAMILY share."""
    hist = fit(model, dataset, epochs=config.epochs, batch_size=config.batch_size, seed=config.seed,
               checkpoint_dir=run_dir / CHECKPOINTS_DIR, resume=resume, progress=progress,
               patience=config.patience, recipe=recipe)
    write_json_atomic(run_dir / "history.json", hist.to_json())
    float_acc = float(model.evaluate(eval_batches(dataset.x_test, dataset.y_test), verbose=0)[1])
    _save_keras(model, run_dir / "model.h5")
    return hist, float_acc


def train_teacher(config: TrainConfig, family: tuple[str, float], dataset, teacher_dir: Path,
                  progress: bool) -> dict[str, Any]:
    """`--teacher FAMILY[:WIDTH]`: train that zoo model first, with the student's data and
    recipe (float only: the teacher never runs on the MCU), into `teacher_dir`, checkpointed
    per epoch; a run interrupted there resumes there, a finished teacher is reused. Returns
    what the student's metrics.json says of it."""
    name, width = family
    teacher_config = replace(config, model=name, width=width, params={}, teacher=None, teacher_epochs=None,
                             epochs=config.teacher_epochs or config.epochs, qat=False, onnx=False,
                             init_weights=None, patience=None)
    summary_file = teacher_dir / "metrics.json"
    if not summary_file.exists():
        resume = (teacher_dir / CONFIG_FILE).exists()
        prepare_run_dir(teacher_config, teacher_dir, resume)
        _start_run_dir(teacher_config, teacher_dir)
        if progress:
            print(f"teacher: {name} width {width:g}, {teacher_config.epochs} epochs, first -> {teacher_dir}",
                  flush=True)
        teacher = _build(teacher_config, dataset)
        hist, accuracy = _fit_float(teacher, teacher_config, dataset, teacher_dir, resume=resume,
                                    progress=progress, recipe=teacher_config)
        write_json_atomic(summary_file, {
            "model": name, "width": width, "epochs_run": hist.epochs_run, "parameters": int(teacher.count_params()),
            "float_accuracy": round(accuracy, 4), "seconds_per_epoch": round(hist.seconds_per_epoch, 2),
            "precision": hist.precision})
        if progress:
            print(f"teacher: float {accuracy:.4f} on {len(dataset.x_test):,} test images", flush=True)
    return {**json.loads(summary_file.read_text()), "run_dir": TEACHER_DIR}


def train(config: TrainConfig, run_dir: Path, *, resume: bool = False, progress: bool = True) -> TrainResult:
    """Run the whole pipeline into `run_dir` (see the module doc); returns what it measured."""
    from .. import zoo
    from .data import check_dataset_name, load

    config.check()
    entry = zoo.family(config.model)
    if config.resolution is not None:
        entry.check_resolution((config.resolution, config.resolution))
    unknown = set(config.params) - {p.name for p in entry.params}
    if unknown:
        raise TinyconvError(f"{config.model} takes no parameter {', '.join(sorted(unknown))}; it takes: "
                            f"{', '.join(p.name for p in entry.params) or 'none'}")
    check_dataset_name(config.dataset)
    run_dir = Path(run_dir)
    prepare_run_dir(config, run_dir, resume)

    dataset = load(config.dataset, resolution=config.resolution,
                   validation_fraction=config.validation_fraction, seed=config.seed,
                   limit_train=config.limit_train, limit_test=config.limit_test)
    shape = tuple(int(d) for d in dataset.input_shape)
    model = _build(config, dataset)
    if config.init_weights:  # --init-weights: e.g. the search's supernet weights of this architecture
        _load_init_weights(model, config)
    from .recipe import load_teacher, zoo_teacher
    teacher_family = zoo_teacher(config.teacher)
    if config.teacher_epochs is not None and teacher_family is None:
        raise TinyconvError("--teacher-epochs is for a teacher trained first (--teacher FAMILY[:WIDTH]); "
                            f"{config.teacher or 'no teacher'} is not one")
    if config.teacher and teacher_family is None:
        # a teacher that does not fit the data is an error before any directory
        load_teacher(config.teacher, shape, int(dataset.num_classes))
    _start_run_dir(config, run_dir)  # only now: bad data or model parameters leave no directory

    recipe, teacher_metrics = config, None
    if teacher_family is not None:  # --teacher FAMILY[:WIDTH]: trained first, in run_dir/teacher
        teacher_dir = run_dir / TEACHER_DIR
        teacher_metrics = train_teacher(config, teacher_family, dataset, teacher_dir, progress)
        recipe = replace(config, teacher=str(teacher_dir))
    hist, float_acc = _fit_float(model, config, dataset, run_dir, resume=resume, progress=progress,
                                 recipe=recipe)

    # Quantization: QAT where tfmot can, else post-training quantization (said in metrics).
    to_convert, qat_used, qat_note, qat_float_acc, qat_seconds = model, False, "", None, None
    if config.qat:
        from .quantize import QatUnsupported, qat_finetune
        try:
            # From the weights fit left: the best epoch's (the EMA's), BN re-estimated if asked.
            to_convert, qat_hist = qat_finetune(
                model, dataset, config.qat_epochs, batch_size=config.batch_size,
                learning_rate=config.qat_learning_rate, seed=config.seed, progress=progress,
                recipe=recipe, checkpoint_dir=run_dir / CHECKPOINTS_DIR / QAT_DIR, resume=resume)
            qat_used = True
            qat_seconds = qat_hist.seconds_per_epoch
            qat_note = f"tfmot QAT, {config.qat_epochs} epoch(s) at lr {config.qat_learning_rate}"
        except QatUnsupported as e:
            qat_note = f"QAT not possible, used post-training quantization instead: {e}"
            if progress:
                print(qat_note, flush=True)
    else:
        qat_note = "post-training quantization (no --qat)"

    from .quantize import choose_int8, export_int8, int8_accuracy
    started = time.perf_counter()
    tflite = export_int8(to_convert, dataset, samples=config.calibration_samples, seed=config.seed)
    convert_seconds = time.perf_counter() - started
    # With QAT, the float model is also quantized post-training: the int8 model kept is the
    # one that scores higher on the validation split (QAT can cost accuracy where
    # post-training quantization already loses next to nothing), and one run reports the
    # int8 accuracy both ways on the test images (what QAT buys on this model and data).
    ptq_tflite, choice = None, None
    if qat_used:
        ptq_tflite = export_int8(model, dataset, samples=config.calibration_samples, seed=config.seed)
        choice = choose_int8(tflite, ptq_tflite, dataset)
        if choice["kept"] == "ptq":
            said = (f"QAT's int8 model scored {choice['qat']:.4f} on {choice['validation_images']:,} "
                    f"validation images, post-training quantization's {choice['ptq']:.4f}: the "
                    "post-training one kept")
            qat_note += f"; {said}"
            if progress:
                print(f"int8: {said}", flush=True)
    kept_ptq = choice is not None and choice["kept"] == "ptq"
    kept = ptq_tflite if kept_ptq else tflite
    write_atomic(run_dir / "model_int8.tflite", kept)
    # Every accuracy compared below is measured on the same images: the whole test split
    # unless --int8-eval-limit asks for its first N (float_accuracy stays the whole split).
    n_eval = len(dataset.x_test) if config.int8_eval_limit is None else min(config.int8_eval_limit,
                                                                           len(dataset.x_test))
    x_eval, y_eval = dataset.x_test[:n_eval], dataset.y_test[:n_eval]
    started = time.perf_counter()
    converted_acc = int8_accuracy(tflite, x_eval, y_eval)   # QAT's int8 model, or the only one
    int8_eval_seconds = time.perf_counter() - started
    float_acc_same = float_acc if n_eval == len(dataset.x_test) else float(
        model.evaluate(eval_batches(x_eval, y_eval), verbose=0)[1])
    if qat_used:  # the float model QAT produced, the one converted to int8
        qat_float_acc = float(to_convert.evaluate(eval_batches(x_eval, y_eval), verbose=0)[1])
    ptq_acc = None if ptq_tflite is None else int8_accuracy(ptq_tflite, x_eval, y_eval)
    int8_acc = ptq_acc if kept_ptq else converted_acc

    metrics: dict[str, Any] = {
        "model": config.model, "width": config.width, "params_config": config.params,
        "input_shape": list(shape), "num_classes": int(dataset.num_classes),
        "dataset": config.dataset,
        "dataset_sizes": {"train": len(dataset.x_train), "val": len(dataset.x_val), "test": len(dataset.x_test)},
        "epochs_run": hist.epochs_run, "epochs_requested": config.epochs,
        "stopped_early": hist.stopped_early, "best_epoch": hist.best_epoch,
        "recipe": config.recipe_json(), "batch_size": config.batch_size,
        "teacher": teacher_metrics,
        "bn_reestimate": hist.bn_reestimate or None,
        "seconds_per_epoch": round(hist.seconds_per_epoch, 2), "precision": hist.precision,
        "float_accuracy": round(float_acc, 4),
        "int8_accuracy": round(int8_acc, 4),
        "accuracy_images": n_eval,   # int8, float_accuracy_on_int8_images, QAT and PTQ ones
        "float_accuracy_on_int8_images": round(float_acc_same, 4),
        # Same images for both: the drop is int8 vs float on the int8-evaluated subset.
        "int8_drop_points": round(100 * (float_acc_same - int8_acc), 2),
        "int8_evaluated_on": f"{n_eval} test images, LiteRT BUILTIN_REF (reference kernels)",
        "qat": qat_used, "quantization_note": qat_note,
        # which int8 model model_int8.tflite is, and the validation scores that chose it
        "int8_kept": choice["kept"] if choice is not None else "ptq",   # without QAT: the only one
        "int8_choice": choice,
        "qat_int8_accuracy": round(converted_acc, 4) if qat_used else None,
        "ptq_int8_accuracy": None if ptq_acc is None else round(ptq_acc, 4),
        "ptq_int8_drop_points": None if ptq_acc is None else round(100 * (float_acc_same - ptq_acc), 2),
        "qat_float_accuracy": None if qat_float_acc is None else round(qat_float_acc, 4),
        "qat_epochs": config.qat_epochs if qat_used else 0,
        "qat_seconds_per_epoch": None if qat_seconds is None else round(qat_seconds, 2),
        "int8_conversion_seconds": round(convert_seconds, 2),
        "int8_eval_seconds": round(int8_eval_seconds, 2),
        "parameters": int(model.count_params()),
        "tflite_bytes": len(kept),
        **deployment_cost(kept, config.board),
    }

    if config.onnx:
        from .. import onnx_export
        from .quantize import representative
        try:
            check = onnx_export.export(model, run_dir / "model.onnx", run_dir / "model_int8.onnx",
                                       representative(dataset, min(config.calibration_samples, 100), config.seed),
                                       dataset.x_test[:32])
            metrics["onnx"] = {"opset": onnx_export.OPSET, "checked_samples": check.samples,
                               "float_max_abs_diff_vs_keras": check.float_max_abs_diff,
                               "int8_top1_agreement_vs_keras": check.int8_top1_agreement}
        except TinyconvError as e:
            metrics["onnx"] = {"error": str(e)}
    write_json_atomic(run_dir / "metrics.json", metrics)
    if progress:
        print(f"{accuracy_summary(metrics)}; {hist.seconds_per_epoch:.1f} s/epoch ({hist.precision}) -> {run_dir}",
              flush=True)
    return TrainResult(run_dir, hist.epochs_run, hist.resumed_from_epoch, hist.stopped_early, float_acc,
                       int8_acc, qat_used, qat_note, hist.seconds_per_epoch, len(kept), metrics,
                       hist.history)
