"""The built-in datasets by name: what they are (DATASETS) and how to load them."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import TinyconvError
from .builtin import DIGIT_CLASSES, FASHION_AUGMENTATION, FASHION_CLASSES, digits, fashion_mnist, mnist
from .cifar import CLASSES as CIFAR_CLASSES
from .cifar import cifar10
from .dataset import GLYPH_AUGMENTATION, PHOTO_AUGMENTATION, SPEECH_AUGMENTATION, DatasetInfo
from .fsdd import CONFIG as FSDD_FEATURES
from .fsdd import fsdd
from .source import Source
from .vww import CLASSES as VWW_CLASSES
from .vww import vww

DEFAULT_DATASET = "fashion_mnist"
_SEARCH = "$TINYCONV_DATA, shared/datasets, ~/.keras/datasets, /usr/share/datasets"

DATASETS: dict[str, DatasetInfo] = {info.name: info for info in (
    DatasetInfo("fashion_mnist", "Fashion-MNIST: 28x28 gray clothing photos (the default)",
                (28, 28, 1), FASHION_CLASSES, 60000, 10000, False, FASHION_AUGMENTATION,
                f"fashion-mnist/ IDX files in {_SEARCH}; apt-get install dataset-fashion-mnist; "
                "else a Keras download"),
    DatasetInfo("mnist", "MNIST: 28x28 gray handwritten digits", (28, 28, 1), DIGIT_CLASSES,
                60000, 10000, False, GLYPH_AUGMENTATION,
                f"mnist/ IDX files or mnist.npz in {_SEARCH}; else a Keras download"),
    DatasetInfo("cifar10", "CIFAR-10: 32x32 RGB photos, 10 classes (offline copy is JPEG q75: "
                "compare only with models evaluated on it)", (32, 32, 3), CIFAR_CLASSES, 50000,
                10000, False, PHOTO_AUGMENTATION,
                f"cifar10/cifar10_jpg.zip or cifar-10-batches-py/ in {_SEARCH}; else a Keras "
                "download"),
    DatasetInfo("vww", "Visual Wake Words (MLPerf Tiny vww01 test set): 96x96 RGB, person or "
                "not; evaluation only", (96, 96, 3), VWW_CLASSES, 0, 1000, True,
                PHOTO_AUGMENTATION, f"vww01-test1000/ in {_SEARCH}"),
    DatasetInfo("fsdd", "Free Spoken Digit Dataset: 8 kHz speech as 49x10 MFCC maps "
                "(keyword spotting)", (FSDD_FEATURES.n_frames, FSDD_FEATURES.n_mfcc, 1),
                DIGIT_CLASSES, 2700, 300, False, SPEECH_AUGMENTATION,
                f"fsdd/recordings/ in {_SEARCH}"),
    DatasetInfo("digits", "scikit-learn's 8x8 gray digits (1,797; for fast tests)", (8, 8, 1),
                DIGIT_CLASSES, 1438, 359, False, GLYPH_AUGMENTATION,
                "ships with scikit-learn"),
)}

LOADERS: dict[str, Callable[[], Source]] = {
    "fashion_mnist": fashion_mnist, "mnist": mnist, "cifar10": cifar10, "vww": vww,
    "fsdd": fsdd, "digits": digits,
}

ALIASES = {"fashion-mnist": "fashion_mnist", "fashionmnist": "fashion_mnist",
           "cifar-10": "cifar10", "cifar_10": "cifar10", "visual_wake_words": "vww",
           "vww01": "vww", "free_spoken_digits": "fsdd", "spoken_digits": "fsdd"}


def canonical_name(name: str) -> str | None:
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    return key if key in DATASETS else None


def unknown_dataset(name: str) -> TinyconvError:
    return TinyconvError(f"unknown dataset {name!r}: use one of {', '.join(DATASETS)}, a folder "
                         "of images with one sub-folder per class, or a .npz file")
