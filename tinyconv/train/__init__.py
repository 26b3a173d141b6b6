"""Training: zoo model -> fit (checkpoints, resume, early stop) -> QAT -> int8 -> ONNX -> metrics.

Importing this package does not import TensorFlow; the functions do, when called.
Stable entry points (the NAS uses them): `fit`, `qat_finetune`, `export_int8`,
`int8_accuracy`, `int8_outputs`; the whole pipeline is `train(TrainConfig, run_dir)`.
"""

from .config import TrainConfig, TrainResult
from .loop import History, fit
from .quantize import QatUnsupported, export_int8, int8_accuracy, int8_outputs, qat_finetune
from .run import train

__all__ = ["TrainConfig", "TrainResult", "History", "fit", "qat_finetune", "export_int8",
           "int8_accuracy", "int8_outputs", "QatUnsupported", "train"]
