"""Lowering of reductions and normalizations (MEAN, SUM, REDUCE_MAX, ARG_MAX/ARG_MIN, LOG_SOFTMAX, L2_NORMALIZATION)."""

from __future__ import annotations
