"""Datasets by name, found in a local data directory first (no network needed).

    from tinyconv.data import load_dataset
    ds = load_dataset("cifar10", input_shape=(96, 96, 3), limit_train=2000, seed=0)

Nothing here imports TensorFlow except `as_tf_dataset` (lazily) and the last-resort Keras
download.
"""

from .augment import as_tf_dataset, augment_batch, batches_per_epoch, epoch_batches
from .dataset import Augmentation, Dataset, DatasetInfo
from .load import load_dataset, resolve
from .registry import DATASETS, DEFAULT_DATASET

__all__ = ["DATASETS", "DEFAULT_DATASET", "Augmentation", "Dataset", "DatasetInfo",
           "as_tf_dataset", "augment_batch", "batches_per_epoch", "epoch_batches",
           "load_dataset", "resolve"]
