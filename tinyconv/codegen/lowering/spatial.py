"""Lowering of spatial and matrix ops (RESIZE_NEAREST_NEIGHBOR, RESIZE_BILINEAR, TRANSPOSE_CONV, BATCH_MATMUL)."""

from __future__ import annotations
