"""The one place that picks the Keras flavour: legacy Keras 2 (`tf_keras`).

tfmot QAT only works with legacy Keras, and importing tfmot flips
`TF_USE_LEGACY_KERAS` on by itself, silently switching `tf.keras` under any
model built before. So we set the variable before TensorFlow is first
imported and build every model with `tf_keras`. Import this module lazily
(only where a model is built or converted): importing TensorFlow takes seconds
and the CLI must start fast.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
# TensorFlow's C++ INFO/WARNING chatter (CUDA probing, oneDNN notices) drowns real output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402
from tf_keras import layers  # noqa: E402

__all__ = ["keras", "layers", "tf"]
