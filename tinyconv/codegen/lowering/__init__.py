"""Lowerings, one module per kernel family; importing them registers them."""

from . import base  # noqa: F401
from . import conv, dwconv_pool, elementwise  # noqa: F401
from . import arith, recurrent, reduce, shape, spatial  # noqa: F401
from . import onnxrt  # noqa: F401
from .base import KernelCall, LowerContext, lower  # noqa: F401
