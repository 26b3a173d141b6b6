"""tinyconv: convolutional networks on Cortex-M microcontrollers."""

from pathlib import Path

__version__ = "0.1.0"

# The firmware sources (kernels, boards, app) live beside the package in a checkout.
FIRMWARE_DIR = Path(__file__).resolve().parent.parent / "firmware"
