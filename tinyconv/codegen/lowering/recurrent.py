"""Lowering of recurrent and streaming ops (UNIDIRECTIONAL_SEQUENCE_LSTM, SVDF)."""

from __future__ import annotations
