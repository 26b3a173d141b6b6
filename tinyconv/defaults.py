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

# The search space (tinyconv/space.py): input resolutions (the width multipliers are each
# backbone's, zoo/arch.py). By default the search keeps the resolutions up to the dataset's
# image side rounded up to a multiple of RESOLUTION_STEP (at least the network's smallest
# input, 32 px): up-scaling a 28 px image adds no information, only compute.
# --widths / --resolutions replace them.
SEARCH_RESOLUTIONS = tuple(range(48, 177, 16))
RESOLUTION_STEP = 16
# The backbone searched (--space; zoo/arch.py's BACKBONES): "mcunet", MCUNet's MobileNetV2
# blocks, or "fusednet", Fused-MBConv blocks without depthwise convolutions, which keep
# 32 px inputs at 4x4 in their last stage (stride 8 against MCUNet's 32) and train far
# faster per MAC on CPUs (measured on 2 cores, batch 64: fusednet's largest at 32 px, 70 M
# MACs, 187 images/s in float32 and 370 in bfloat16; mcunet at width 1, 6 M MACs, 247 in
# float32: the depthwise backward pass dominates its step); "plainnet", VGG's plain
# 3x3 conv stages with max pooling (no residuals, stride 8); or "resnet", ResNet's basic
# blocks (two kxk convs + shortcut, stride 4), the family of MLPerf Tiny's ResNet-8.
DEFAULT_BACKBONE = "mcunet"

# The search's own knobs (their CLI options show these values).
SEARCH_CANDIDATES = 30          # --budget
SEARCH_POPULATION = 8           # --population (parents: half of it, at least 2)
SPACE_SAMPLES = 24              # --space-samples
PROXY_IMAGES = 1000             # --proxy-images
PROXY_VAL_IMAGES = 500
PROXY_EPOCHS = 1                # --proxy-epochs
FINAL_EPOCHS = 5                # --epochs of the winner's final training
LEADERBOARD_TOP = 5             # --top: candidates in the summary's leaderboard

# ---- firmware demo samples (tinyconv/samples.py) ----------------------------------------
# Real test examples `tinyconv search --export` puts into the firmware it writes (one per
# class in turn); `make run` classifies them. `tinyconv export --samples N` chooses its own.
DEMO_SAMPLES = 10

# ---- supernet: `tinyconv search --proxy supernet` (tinyconv/search/supernet.py) ----------
# One weight-sharing supernet over the evolution's space, trained once (sandwich rule with
# in-place distillation), then each candidate scored by inheriting its weights,
# re-estimating batch-norm statistics and evaluating: seconds per candidate, so the
# evolution can look at many more of them.
SUPERNET_EPOCHS = 5             # --supernet-epochs
SUPERNET_BATCH = 64
SUPERNET_LEARNING_RATE = 2e-3   # Adam, peak of the warmup + cosine schedule
SUPERNET_RANDOM_SUBNETS = 2     # per step, beside the largest and the smallest
SUPERNET_CALIB_IMAGES = 512     # training images re-estimating a sub-network's BN statistics
SUPERNET_VAL_IMAGES = 1000      # validation images scoring a sub-network
# --rerank: after the evolution, the best candidates are scored again on the whole validation
# split (BN statistics on more images): on 1,000 images the top of a cifar10 search tied
# (0.807 / 0.806 / 0.806 / 0.806 / 0.806), a difference of one or two images.
SUPERNET_RERANK = 10
SUPERNET_RERANK_CALIB_IMAGES = 2048
# --winner-init: the winner's final training starts from its supernet weights ("supernet", as
# Once-for-All fine-tunes) or from random ones ("scratch"; with a 4-epoch supernet and 40
# final epochs, scratch ended 0.65 points higher on cifar10: models/cifar10_plainnet_search).
WINNER_INIT = "supernet"
WINNER_INITS = ("supernet", "scratch")
SUPERNET_CANDIDATES = 1000      # --budget default with --proxy supernet
SUPERNET_POPULATION = 50        # --population default with --proxy supernet

# ---- training: `tinyconv train` (tinyconv/train/) ----------------------------------------
# The recipe's defaults (TrainConfig fields and `tinyconv train` options show these values).
# Each part is off unless asked for, so a plain run stays what it was; benchmarks/
# train_recipe.py measures what each one adds.
TRAIN_BATCH_SIZE = 64
TRAIN_OPTIMIZERS = ("adam", "adamw", "sgd")    # sgd: Nesterov momentum
TRAIN_OPTIMIZER = "adam"
# Peak learning rate and decoupled weight decay per optimizer (--lr / --weight-decay replace
# them). Weight decay never touches batch-norm gamma/beta or biases (rank <= 1 tensors).
TRAIN_LEARNING_RATE = {"adam": 2e-3, "adamw": 2e-3, "sgd": 0.05}
TRAIN_WEIGHT_DECAY = {"adam": 0.0, "adamw": 0.05, "sgd": 5e-4}
TRAIN_MOMENTUM = 0.9                # sgd
TRAIN_SCHEDULES = ("cosine", "onecycle")
TRAIN_SCHEDULE = "cosine"           # linear warmup, then cosine to 0
TRAIN_WARMUP_EPOCHS = 1.0
ONECYCLE_RISE = 0.3                 # one-cycle: share of the steps rising from peak/25 to peak
TRAIN_LABEL_SMOOTHING = 0.0
TRAIN_CUTOUT = 0.0                  # side of the zeroed square, as a fraction of the image side
TRAIN_MIXUP = 0.0                   # Beta(alpha, alpha) mixing of each batch with its reverse
TRAIN_EMA_DECAY = 0.0               # EMA of the weights (e.g. 0.999); 0 = off
TRAIN_BN_REESTIMATE = 0             # training batches re-estimating BN stats before QAT/save
TRAIN_DISTILL_ALPHA = 0.5           # loss = (1-a) CE + a T^2 KL(teacher_T || student_T)
TRAIN_DISTILL_TEMPERATURE = 4.0
# Throughput (measured, benchmarks/train_benchmark.py --throughput, 2 shared cores): small
# models are bound by per-step overhead, and running TRAIN_STEPS_PER_EXECUTION batches per
# Keras call measured 1.0-2.4x as fast for LeNet-5 and the 0.4 M-MAC MCUNet (most when the
# machine is busy); ResNet-8 (12.5 M MACs) measured 0.65-1.03x in that loop, so models
# above TRAIN_MULTI_STEP_MAX_MACS per image run one batch per call. The optimizer's
# XLA-compiled update step (Keras' default) measured no faster on CPU, and XLA for the
# whole step (jit_compile=True) 10-35x slower: both off. Batch 64 stays the default:
# ResNet-8 ran 1.5x slower per image at 256 (activations outgrow the caches).
TRAIN_STEPS_PER_EXECUTION = 8
TRAIN_MULTI_STEP_MAX_MACS = 2_000_000
TRAIN_OPTIMIZER_JIT = False
# Compute precision of the float training (--precision; train/precision.py). bfloat16 is
# Keras' mixed precision: bfloat16 activations and arithmetic, float32 weights, optimizer
# state and batch-norm statistics, the output layer in float32; the trained weights are the
# same float32 model's, so QAT, conversion and export do not change. Measured on these 2
# cores (AVX512-BF16), training step alone, batch 64, images/s float32 -> bfloat16:
# ResNet-8 1,203-1,408 -> 1,661-2,057, VGG (cifar10) 619 -> 870; MobileNetV2 0.5 1,008 ->
# 459 (oneDNN has no fast bfloat16 depthwise; 871 with the depthwise layers in float32).
# auto: bfloat16 where the CPU computes it natively (avx512_bf16 or amx_bf16) and the model
# has no depthwise convolution, float32 otherwise (and on a GPU: not measured there).
TRAIN_PRECISION = "auto"
TRAIN_PRECISIONS = ("auto", "float32", "bfloat16")
