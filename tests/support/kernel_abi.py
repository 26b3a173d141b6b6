"""ctypes mirrors of the structs in firmware/kernels/include/tc_nn_types.h that the host
kernel tests share (one definition, so a change to the C header is mirrored once)."""

from __future__ import annotations

import ctypes


class Dims(ctypes.Structure):
    _fields_ = [(n, ctypes.c_int32) for n in "nhwc"]


class Tile(ctypes.Structure):
    _fields_ = [("h", ctypes.c_int32), ("w", ctypes.c_int32)]


class Act(ctypes.Structure):
    _fields_ = [("min", ctypes.c_int32), ("max", ctypes.c_int32)]


class Context(ctypes.Structure):
    _fields_ = [("buf", ctypes.c_void_p), ("size", ctypes.c_int32)]


class PerChannelQuant(ctypes.Structure):
    _fields_ = [("multiplier", ctypes.POINTER(ctypes.c_int32)),
                ("shift", ctypes.POINTER(ctypes.c_int32))]
