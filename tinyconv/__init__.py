"""tinyconv: convolutional networks on Cortex-M microcontrollers."""

import os
from pathlib import Path

__version__ = "0.1.0"

_PACKAGE = Path(__file__).resolve().parent
# The firmware sources (Makefile, kernels, boards, app, tools). An installed wheel carries
# them as package data in tinyconv/_firmware (setup.py maps the firmware/ folder there); a
# checkout, and an editable install of one, uses the firmware/ folder beside the package.
FIRMWARE_DIR = (_PACKAGE / "_firmware" if (_PACKAGE / "_firmware" / "Makefile").is_file()
                else _PACKAGE.parent / "firmware")

if os.environ.get("TINYCONV_QUIET") == "1":  # a child process of a quiet `tinyconv` command
    from . import quiet as _quiet
    _quiet.install()
