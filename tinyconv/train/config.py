"""What a training run is asked to do (`TrainConfig`) and what it produced (`TrainResult`).

Plain dataclasses, no TensorFlow: the CLI builds a config before any heavy import, and
`config.json` in the run directory lets `--resume` check it continues the same run.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..defaults import (DEFAULT_BOARD, DEFAULT_DATASET, TRAIN_BATCH_SIZE, TRAIN_BN_REESTIMATE, TRAIN_CUTOUT,
                        TRAIN_DISTILL_ALPHA, TRAIN_DISTILL_TEMPERATURE, TRAIN_EMA_DECAY,
                        TRAIN_LABEL_SMOOTHING, TRAIN_LEARNING_RATE, TRAIN_MIXUP, TRAIN_MOMENTUM,
                        TRAIN_OPTIMIZER, TRAIN_OPTIMIZERS, TRAIN_PRECISION, TRAIN_PRECISIONS,
                        TRAIN_SCHEDULE, TRAIN_SCHEDULES,
                        TRAIN_WARMUP_EPOCHS, TRAIN_WEIGHT_DECAY)
from ..errors import TinyconvError


@dataclass
class Recipe:
    """How the float model is trained (`tinyconv.train.fit` takes one; TrainConfig is one).

    `learning_rate` / `weight_decay` None take the optimizer's default (defaults.py);
    `__post_init__` resolves them, so config.json records the values used."""

    optimizer: str = TRAIN_OPTIMIZER      # adam | adamw | sgd (Nesterov momentum)
    learning_rate: float | None = None    # peak of the schedule
    weight_decay: float | None = None     # decoupled; never on BN gamma/beta or biases
    momentum: float = TRAIN_MOMENTUM      # sgd only
    schedule: str = TRAIN_SCHEDULE        # cosine (linear warmup, cosine to 0) | onecycle
    warmup_epochs: float = TRAIN_WARMUP_EPOCHS
    augment: bool = False                 # random shift (pad + crop), flip, brightness: the dataset's policy
    cutout: float = TRAIN_CUTOUT          # zeroed square side / image side; 0 = off
    mixup: float = TRAIN_MIXUP            # Beta(alpha, alpha); 0 = off
    label_smoothing: float = TRAIN_LABEL_SMOOTHING
    ema_decay: float = TRAIN_EMA_DECAY    # EMA of the weights: evaluated and saved; 0 = off
    bn_reestimate: int = TRAIN_BN_REESTIMATE  # batches re-estimating BN stats at the end; 0 = off
    teacher: str | None = None            # Keras .h5, a tinyconv run dir, or FAMILY[:WIDTH] trained first
    teacher_epochs: int | None = None     # a FAMILY teacher's epochs (None: the student's)
    distill_alpha: float = TRAIN_DISTILL_ALPHA
    distill_temperature: float = TRAIN_DISTILL_TEMPERATURE
    precision: str = TRAIN_PRECISION      # auto | float32 | bfloat16 compute (train/precision.py)

    def __post_init__(self) -> None:
        if self.optimizer not in TRAIN_OPTIMIZERS:
            raise TinyconvError(f"unknown optimizer {self.optimizer!r}; known: {', '.join(TRAIN_OPTIMIZERS)}")
        if self.learning_rate is None:
            self.learning_rate = TRAIN_LEARNING_RATE[self.optimizer]
        if self.weight_decay is None:
            self.weight_decay = TRAIN_WEIGHT_DECAY[self.optimizer]

    def check_recipe(self) -> None:
        if not self.learning_rate > 0:
            raise TinyconvError(f"learning rate must be positive, got {self.learning_rate}")
        if self.precision not in TRAIN_PRECISIONS:
            raise TinyconvError(f"unknown precision {self.precision!r}; known: {', '.join(TRAIN_PRECISIONS)}")
        if self.schedule not in TRAIN_SCHEDULES:
            raise TinyconvError(f"unknown schedule {self.schedule!r}; known: {', '.join(TRAIN_SCHEDULES)}")
        checks = (("weight decay", self.weight_decay, 0, 1, True), ("momentum", self.momentum, 0, 1, False),
                  ("label smoothing", self.label_smoothing, 0, 1, False), ("cutout", self.cutout, 0, 1, True),
                  ("EMA decay", self.ema_decay, 0, 1, False), ("distill alpha", self.distill_alpha, 0, 1, True))
        for name, value, low, high, closed in checks:
            if not (low <= value <= high if closed else low <= value < high):
                raise TinyconvError(f"{name} must be in [{low}, {high}{']' if closed else ')'}, got {value}")
        if self.mixup < 0:
            raise TinyconvError(f"mixup alpha must be >= 0, got {self.mixup}")
        if self.warmup_epochs < 0:
            raise TinyconvError(f"warmup epochs must be >= 0, got {self.warmup_epochs}")
        if self.bn_reestimate < 0:
            raise TinyconvError(f"BN re-estimation batches must be >= 0, got {self.bn_reestimate}")
        if self.teacher_epochs is not None and self.teacher_epochs < 1:
            raise TinyconvError(f"teacher epochs must be at least 1, got {self.teacher_epochs}")
        if not self.distill_temperature > 0:
            raise TinyconvError(f"distillation temperature must be positive, got {self.distill_temperature}")

    def recipe_json(self) -> dict[str, Any]:
        """The recipe alone (metrics.json's "recipe")."""
        return {f.name: getattr(self, f.name) for f in fields(Recipe)}


@dataclass
class TrainConfig(Recipe):
    model: str = "mobilenetv2"            # zoo family name
    dataset: str = DEFAULT_DATASET
    width: float = 1.0
    resolution: int | None = None         # square input side; None keeps the dataset's own
    params: dict[str, Any] = field(default_factory=dict)  # family parameters
    epochs: int = 10
    batch_size: int = TRAIN_BATCH_SIZE
    qat: bool = False
    qat_epochs: int = 1
    qat_learning_rate: float = 1e-4       # QAT fine-tunes a trained net: a small, flat LR
    seed: int = 0
    patience: int | None = None           # early stopping on val accuracy; None = off
    limit_train: int | None = None
    limit_test: int | None = None
    validation_fraction: float = 0.1
    calibration_samples: int = 200        # representative data for int8 calibration
    int8_eval_limit: int | None = None    # test images scored in int8 (None = all)
    onnx: bool = True
    board: str = DEFAULT_BOARD            # where metrics.json's planned SRAM/flash are for
    init_weights: str | None = None       # Keras weights to start from (search --proxy supernet)

    def check(self) -> None:
        """One-line errors for values no run could use (before TensorFlow loads)."""
        if self.epochs < 1:
            raise TinyconvError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise TinyconvError(f"batch size must be at least 1, got {self.batch_size}")
        self.check_recipe()
        if not self.width > 0:
            raise TinyconvError(f"width must be positive, got {self.width}")
        if self.resolution is not None and self.resolution < 1:
            raise TinyconvError(f"resolution must be positive, got {self.resolution}")
        if self.qat and self.qat_epochs < 1:
            raise TinyconvError(f"--qat needs at least 1 QAT epoch, got {self.qat_epochs}")
        for name in ("limit_train", "limit_test", "int8_eval_limit", "patience"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise TinyconvError(f"{name.replace('_', '-')} must be at least 1, got {value}")
        if self.init_weights is not None and not Path(self.init_weights).is_file():
            raise TinyconvError(f"--init-weights {self.init_weights}: no such file")
        if not 0 < self.validation_fraction < 1:
            raise TinyconvError(f"validation fraction must be in (0, 1), got {self.validation_fraction}")

    def to_json(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self), default=list))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def same_run_as(self, other: "TrainConfig") -> list[str]:
        """Fields that change what the checkpoints mean (resuming across them is wrong)."""
        keys = ("model", "dataset", "width", "resolution", "params", "batch_size", "seed",
                "limit_train", "validation_fraction",
                # the recipe: what the saved optimizer/EMA state is and which batches come next
                "optimizer", "learning_rate", "weight_decay", "momentum", "schedule", "warmup_epochs",
                "augment", "cutout", "mixup", "label_smoothing", "ema_decay", "teacher",
                "teacher_epochs", "distill_alpha", "distill_temperature", "precision")
        a, b = self.to_json(), other.to_json()
        return [k for k in keys if a[k] != b[k]]


def accuracy_summary(metrics: dict[str, Any]) -> str:
    """One line of accuracies that compares like with like: all on the same test images,
    the int8 model beside the float model it was converted from (after QAT, if any)."""
    n = metrics.get("accuracy_images")
    fp = metrics.get("float_accuracy_on_int8_images", metrics["float_accuracy"])
    images = f"{n:,} test images" if n is not None else "the test images"
    if metrics.get("qat") and metrics.get("int8_kept") == "ptq":
        val = metrics["int8_choice"]
        return (f"float {fp:.4f}, int8 {metrics['int8_accuracy']:.4f} (post-training quantization, "
                f"kept over QAT's {metrics['qat_int8_accuracy']:.4f}: {val['ptq']:.4f} vs {val['qat']:.4f} "
                f"on validation); all on the same {images}")
    if metrics.get("qat"):
        qat_fp = metrics.get("qat_float_accuracy")
        after = "" if qat_fp is None else f"float {qat_fp:.4f}, "
        return (f"float {fp:.4f}; after QAT {after}int8 {metrics['int8_accuracy']:.4f}; "
                f"all on the same {images}")
    return (f"float {fp:.4f}, int8 {metrics['int8_accuracy']:.4f} (post-training quantization); "
            f"both on the same {images}")


def qat_int8_accuracy(metrics: dict[str, Any]) -> float | None:
    """The test accuracy of QAT's int8 model (None without QAT). Runs from before `train`
    kept the better of QAT's and the post-training model have no key for it: their
    int8_accuracy is QAT's."""
    if not metrics.get("qat"):
        return None
    return metrics.get("qat_int8_accuracy", metrics["int8_accuracy"])


def arch_fields(arch) -> dict[str, Any]:
    """The TrainConfig fields that train a search architecture (`tinyconv.space.ArchConfig`,
    from arch.json or the candidate log): its backbone's zoo family with its choices."""
    return {"model": arch.backbone, "width": float(arch.width), "resolution": int(arch.resolution),
            "params": arch.zoo_params()}


@dataclass
class TrainResult:
    run_dir: Path
    epochs_run: int                 # epochs finished in total (including resumed ones)
    resumed_from_epoch: int         # 0 for a fresh run
    stopped_early: bool
    float_accuracy: float
    int8_accuracy: float
    qat: bool
    qat_note: str
    seconds_per_epoch: float
    tflite_bytes: int
    metrics: dict[str, Any]         # exactly what metrics.json holds
    history: dict[str, list[float]]
