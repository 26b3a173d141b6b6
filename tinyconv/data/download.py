"""The last resort: Keras' downloaders, with one clear line when the machine is offline.

TINYCONV_OFFLINE=1 turns the download off (the test suite sets it: a test must find its data
locally or skip, never fetch it).
"""

from __future__ import annotations

import os
import sys

import numpy as np

from ..errors import TinyconvError
from .locate import looked_in

_KERAS_NAMES = {"mnist": "mnist", "fashion_mnist": "fashion_mnist", "cifar10": "cifar10"}


def keras_download(name: str, folder: str) -> tuple[tuple[np.ndarray, np.ndarray],
                                                     tuple[np.ndarray, np.ndarray]]:
    """((x_train, y_train), (x_test, y_test)) as uint8, fetched into ~/.keras/datasets."""
    if os.environ.get("TINYCONV_OFFLINE", "").lower() in ("1", "true", "yes"):
        raise TinyconvError(f"dataset {name!r} not found locally (looked in {looked_in(folder)}) "
                            "and TINYCONV_OFFLINE is set; put the files in one of those folders "
                            "or set TINYCONV_DATA")
    print(f"tinyconv: dataset {name!r} not found locally (looked in {looked_in(folder)}); "
          "trying to download it with Keras", file=sys.stderr)
    from ..keras_compat import keras  # TensorFlow only on this rare path

    try:
        return getattr(keras.datasets, _KERAS_NAMES[name]).load_data()
    except Exception as e:  # urllib, SSL, HTTP, truncated archives: all mean "no data"
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise TinyconvError(
            f"dataset {name!r} not found locally (looked in {looked_in(folder)}) and the download "
            f"failed ({reason}); put the files in one of those folders or set TINYCONV_DATA"
        ) from None
