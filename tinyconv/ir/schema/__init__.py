"""Readers of model file formats: the one place that knows each format's schema.

`tflite`: the .tflite flatbuffer (parsing, op names, tensors, buffers, quantization),
used by the importer (ir/tflite_import.py), the LiteRT reference (reference.py) and the
converter's op listing (convert.py).
"""
