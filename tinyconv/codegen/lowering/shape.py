"""Lowering of shape and data movement ops (slice, split, pack, gather, depth/space, broadcast, cast)."""

from __future__ import annotations
