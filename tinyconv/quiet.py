"""Quiet TensorFlow: the one place that silences its log chatter (the CLI's default; -v undoes).

TensorFlow (2.21) prints through absl's C++ logging while its shared libraries load, before
`TF_CPP_MIN_LOG_LEVEL` is read: "WARNING: All log messages before absl::InitializeLog()",
the oneDNN notice, "Could not find cuda drivers", and later "failed call to cuInit". No
environment variable stops those, so while quiet, the first import of each TensorFlow
package runs with file descriptor 2 pointed at /dev/null, and TensorFlow's device probe (the
cuInit message) runs inside that window too. Python warnings from these packages are ignored,
and their Python logging (absl, tensorflow, onnxruntime's root-logger warnings) shows errors
only. `native_stderr()` hides native stderr around calls that print from C++ (the converter).

The CLI calls `configure(verbose)` before any command runs. It records the choice in
$TINYCONV_QUIET, which child processes inherit (the search's worker processes): importing
`tinyconv` there calls `install()` again. Nothing here disables a GPU or changes numerics.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import logging
import os
import sys
import warnings

ENV = "TINYCONV_QUIET"
# Packages whose import loads TensorFlow's native libraries.
PACKAGES = ("tensorflow", "tf_keras", "keras", "tensorflow_model_optimization", "tf2onnx")
_PYTHON_LOGGERS = ("absl", "tensorflow", "tf2onnx", "h5py")
_WARNING_MODULES = r"(tensorflow|tf_keras|keras|tensorflow_model_optimization|tf2onnx|onnx|absl|google\.protobuf|h5py)(\..*)?$"


def configure(verbose: bool) -> None:
    """Quiet unless `verbose`; with `verbose`, TensorFlow logs everything it would."""
    if verbose:
        os.environ[ENV] = "0"
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0")
        return
    os.environ[ENV] = "1"
    install()


def install() -> None:
    """Quiet from now on, in this process and (through the environment) its children."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore", module=_WARNING_MODULES)
    _quiet_python_loggers()
    if not any(isinstance(f, _QuietImporter) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietImporter())


@contextlib.contextmanager
def stderr_to_devnull():
    """Points file descriptor 2 at /dev/null (native code's stderr too), then restores it."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


@contextlib.contextmanager
def native_stderr():
    """While quiet, hides what native code prints to stderr inside the block (the TFLite
    converter's "fully_quantize: 0, inference_type: 6, ..."); otherwise does nothing."""
    if os.environ.get(ENV) == "1":
        with stderr_to_devnull():
            yield
    else:
        yield


class _ThirdPartyRootRecords(logging.Filter):
    """Drops warnings these packages log through the root logger (`logging.warning(...)`, as
    onnxruntime's quantizer does: "Please consider to run pre-processing ...")."""

    _DIRS = tuple(f"{os.sep}{name}{os.sep}" for name in (*PACKAGES, "onnxruntime", "onnx"))

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or not any(d in record.pathname
                                                          for d in self._DIRS)


def _quiet_python_loggers() -> None:
    for name in _PYTHON_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    root = logging.getLogger()
    if not any(isinstance(f, _ThirdPartyRootRecords) for f in root.filters):
        root.addFilter(_ThirdPartyRootRecords())


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        with stderr_to_devnull():
            self._loader.exec_module(module)
            if module.__name__ == "tensorflow":
                with contextlib.suppress(Exception):  # probing devices is best effort
                    module.config.list_physical_devices()
        _quiet_python_loggers()  # importing absl/TensorFlow may have reset their levels
        if module.__name__ == "tensorflow":
            with contextlib.suppress(Exception):
                from absl import logging as absl_logging
                absl_logging.set_verbosity(absl_logging.ERROR)

    def __getattr__(self, name):  # get_resource_reader, is_package, ... of the real loader
        return getattr(self._loader, name)


class _QuietImporter(importlib.abc.MetaPathFinder):
    """Finds the PACKAGES with the other finders and runs their first import quietly."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in PACKAGES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _QuietLoader(spec.loader)
                return spec
        return None
