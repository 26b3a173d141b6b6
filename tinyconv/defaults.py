"""Target defaults: the one definition of what a deployment reserves unless told otherwise.

Imported by the planner-facing code (deploy, space, search), the firmware builder and the
CLI (`--stack`'s default). It imports nothing, so the CLI can show these values without
loading numpy. firmware/Makefile has no default of its own: tinyconv always passes
STACK_SIZE (on the make command line, or in an exported project's config.mk).
"""

# The board used when neither --target nor --board is given (an emulated Cortex-M7).
DEFAULT_BOARD = "qemu-m7"

# Stack reserved in RAM for the app and kernels (the linker's .stack region, STACK_SIZE)
# when no bound is computed: on the host build (its stack is the OS's), where the Arm
# toolchain is missing, and for builds of hand-written test models. Everywhere else
# `deploy.prepare` reserves the compiler's bound (tinyconv/stack.py) unless --stack is given.
DEFAULT_STACK_BYTES = 8 * 1024

# The computed stack bound's allowances on top of the heaviest call path:
# - a fault taken at the deepest point: the CPU pushes its exception frame on the same
#   stack (26 words with the floating-point context, Armv7-M and Armv8.1-M alike, plus 4
#   bytes of alignment padding: 108 B), then the fault reporter runs on it (its path is
#   measured like any other);
# - STACK_MARGIN_PERCENT of the whole, for what the static analysis only estimates: the
#   search's bound compiles no model (tc_model_invoke's frame is an upper estimate, the
#   app's frames come from a probe model), and a debugger or board code may add frames.
EXCEPTION_FRAME_BYTES = 108
STACK_MARGIN_PERCENT = 10

# Static RAM of the app and runtime beside the arena (semihosting buffers, counters): the
# budget check adds it to the arena and the stack.
RUNTIME_RAM_BYTES = 512

# How the arena is planned (tinyconv/stream.py, --memory): "fast" the layer-wise plan
# where it fits the SRAM budget, else the fastest streamed plan that fits; "min" the
# smallest arena; "layer" never stream.
MEMORY_CHOICES = ("fast", "min", "layer")
DEFAULT_MEMORY = "fast"

# Whose arithmetic generated code reproduces and whose outputs verify compares with
# (--match): "auto" LiteRT's reference kernels where LiteRT loads and runs the model, else
# TFLite Micro's (tinyconv/reference.py); or either one by name.
MATCH_CHOICES = ("auto", "litert", "tflm", "onnxruntime")
DEFAULT_MATCH = "auto"

# ---- `tinyconv search` and `tinyconv train` ----------------------------------------------
# The dataset both commands use unless --dataset names another.
DEFAULT_DATASET = "fashion_mnist"

# The search space (tinyconv/space.py): width multipliers and input resolutions. By default
# the search keeps the resolutions up to the dataset's image side rounded up to a multiple
# of RESOLUTION_STEP (at least the network's smallest input, 32 px): up-scaling a 28 px
# image adds no information, only compute. --widths / --resolutions replace them.
SEARCH_WIDTHS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
SEARCH_RESOLUTIONS = tuple(range(48, 177, 16))
RESOLUTION_STEP = 16

# The search's own knobs (their CLI options show these values).
SEARCH_CANDIDATES = 30          # --budget
SEARCH_POPULATION = 8           # --population (parents: half of it, at least 2)
SPACE_SAMPLES = 24              # --space-samples
PROXY_IMAGES = 1000             # --proxy-images
PROXY_VAL_IMAGES = 500
PROXY_EPOCHS = 1                # --proxy-epochs
FINAL_EPOCHS = 5                # --epochs of the winner's final training
LEADERBOARD_TOP = 5             # --top: candidates in the summary's leaderboard
