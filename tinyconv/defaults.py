"""Target defaults: the one definition of what a deployment reserves unless told otherwise.

Imported by the planner-facing code (deploy, space, search), the firmware builder and the
CLI (`--stack`'s default). It imports nothing, so the CLI can show these values without
loading numpy. firmware/Makefile has no default of its own: tinyconv always passes
STACK_SIZE (on the make command line, or in an exported project's config.mk).
"""

# The board used when neither --target nor --board is given (an emulated Cortex-M7).
DEFAULT_BOARD = "qemu-m7"

# Stack reserved in RAM for the app and kernels (the linker's .stack region, STACK_SIZE).
DEFAULT_STACK_BYTES = 8 * 1024

# Static RAM of the app and runtime beside the arena (semihosting buffers, counters): the
# budget check adds it to the arena and the stack.
RUNTIME_RAM_BYTES = 512
