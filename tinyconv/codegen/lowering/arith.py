"""Lowering of elementwise math, comparisons and select."""

from __future__ import annotations
