"""What a loaded dataset is: typed arrays plus the facts a trainer needs about them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import TinyconvError


@dataclass(frozen=True)
class Augmentation:
    """Which random image transforms suit a dataset (digits must not be mirrored, a
    spectrogram must not be brightened, photos can be both)."""

    flip: bool = False          # random left-right mirror
    shift_h: float = 0.0        # random shift up to this fraction of the height (pad + crop)
    shift_w: float = 0.0        # ... and of the width
    brightness: float = 0.0     # add a uniform offset in [-b, b] per image, then clip to [0, 1]

    @property
    def enabled(self) -> bool:
        return self.flip or self.shift_h > 0 or self.shift_w > 0 or self.brightness > 0


NO_AUGMENTATION = Augmentation()
PHOTO_AUGMENTATION = Augmentation(flip=True, shift_h=0.125, shift_w=0.125, brightness=0.1)
GLYPH_AUGMENTATION = Augmentation(flip=False, shift_h=0.1, shift_w=0.1, brightness=0.1)
# Time x coefficient maps (MFCC): shift in time only, up to 10 % (~100 ms of a 1 s clip),
# as keyword-spotting training shifts the audio; never across coefficients, never brighter.
SPEECH_AUGMENTATION = Augmentation(shift_h=0.1)


@dataclass(frozen=True)
class DatasetInfo:
    """A built-in dataset as `tinyconv zoo` and the docs describe it (nothing is loaded)."""

    name: str
    description: str
    input_shape: tuple[int, int, int]   # native H, W, C of the examples
    class_names: tuple[str, ...]
    train_size: int                     # examples in the official train split (0: eval only)
    test_size: int
    eval_only: bool
    augmentation: Augmentation
    where: str                          # where the files are looked for / come from

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


@dataclass(frozen=True, eq=False)  # eq on arrays is ambiguous; identity is enough
class Dataset:
    """x_*: float32 NHWC in [0, 1] at `input_shape`; y_*: int32 class indices."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    class_names: tuple[str, ...]
    input_shape: tuple[int, int, int]
    eval_only: bool = False
    augmentation: Augmentation = NO_AUGMENTATION

    def require_train(self) -> None:
        """Raise the one-line error a trainer shows when this dataset cannot be trained on."""
        if self.eval_only or len(self.x_train) == 0:
            why = ("it is an evaluation-only set" if self.eval_only
                   else "its training split is empty (check limit_train / validation_fraction)")
            raise TinyconvError(f"dataset {self.name!r} cannot be trained on: {why} "
                                f"({len(self.x_test)} test examples); train on another dataset "
                                "and evaluate on this one")

    def calibration(self, n: int = 200) -> np.ndarray:
        """Up to n examples for int8 calibration: training data, or test data for eval-only
        sets (the only data they have)."""
        pool = self.x_train if len(self.x_train) else self.x_test
        return pool[:n]

    def summary(self) -> str:
        h, w, c = self.input_shape
        return (f"{self.name}: {h}x{w}x{c}, {self.num_classes} classes, "
                f"{len(self.x_train)} train / {len(self.x_val)} val / {len(self.x_test)} test")
