"""Lowering of reductions, normalizations, resize, transpose convolution and batch matmul."""

from __future__ import annotations
