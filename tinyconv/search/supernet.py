"""A Once-for-All style weight-sharing supernet over the search space (`--proxy supernet`).

One set of weights, those of the LARGEST network of a `SearchSpace` (its widest width, 7x7
depthwise kernels, expansion 6, the deepest stages), holds every sub-network of the space:
a sub-network (an `ArchConfig`) uses

- elastic width: the first `Backbone.channels(stage, width)` channels of each stage (and
  the first `Backbone.stem_channels(width)` of the stem);
- elastic expansion: the first `arch.hidden_channels(in, e)` channels of a block's middle;
- elastic kernel: the centre k x k crop of the 7 x 7 depthwise kernel (OFA's learnt kernel
  transforms 7->5->3 are left out: centre crops, as in OFA's first stage);
- elastic depth: the first d blocks of each stage;
- elastic resolution: the input resized to the sub-network's resolution.

The space's backbone (zoo/arch.py) sets the blocks: MBConv (1x1 expand, kxk depthwise,
1x1 project) for "mcunet"; for "fusednet" a kxk conv to the expanded width (the centre
crop of its largest kernel choice) and the 1x1 projection, no depthwise; for "plainnet"
one kxk conv (the same crop) to the stage's channels after a 2x2 max pool where the block
strides, no residual (a block beyond a stage's depth is still skipped as the identity); for
"resnet" two kxk convs (both the same crop), the shortcut (the input, or the first channels
of a 1x1 projection where the block strides) added, ReLU6.

One forward pass (`Supernet.run`) takes an architecture as a list of integers (`layout`):
with Python ints it runs eagerly (evaluation, extraction: no retracing per architecture);
with an int32 tensor it builds one graph for every sub-network (slices of tensor sizes,
tf.cond for depth and residuals), which the training step uses on long runs: traced once
(~45-60 s of CPU), it then runs a step of 4 sub-networks ~2.5x faster than eagerly.
Training (`train_supernet`) follows the sandwich rule (every step the largest, the smallest
and `random_subnets` random sub-networks, their gradients summed) with in-place
distillation (the largest learns from the labels, the others from its soft outputs), Adam
with warmup + cosine, a checkpoint every epoch (atomic, resumable; Ctrl-C safe through
tinyconv.interrupt's `saving()`). Each residual block's last BN starts at zero (BigNAS),
so deep sub-networks train from the first steps.

A sub-network is scored (`supernet_proxy`, the evaluator the evolution calls, picklable
settings holding the supernet's folder) by inheriting its weights, re-estimating each
batch-norm layer's statistics on a few training batches under that architecture, and
measuring top-1 on validation images: about a second. `subnet_keras` builds the Keras
model of an architecture (its backbone's zoo family) with the inherited weights and
statistics, so the winner's final training starts from them; tests check it computes
what the supernet does.

Layer names follow zoo/backbone.py (stem_conv, block{s}_{i}_expand_conv, ..._dw, ..._dwbn,
..._project_conv, ..._shortcut_conv, a plain block's block{s}_{i}_conv and _bn,
classifier_dense); BN epsilon is Keras' 1e-3, activations ReLU6, the residual rule the
builder's (`Backbone.residual`: stride 1 and equal channels, never in plain blocks;
`Backbone.projects`: a basic block otherwise; decided per sub-network).
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from ..defaults import (SUPERNET_BATCH, SUPERNET_CALIB_IMAGES, SUPERNET_EPOCHS,
                        SUPERNET_LEARNING_RATE, SUPERNET_RANDOM_SUBNETS,
                        SUPERNET_RERANK_CALIB_IMAGES, SUPERNET_VAL_IMAGES)
from ..data.image import resize_images
from ..errors import TinyconvError
from ..files import write_json_atomic
from ..space import ArchConfig, SearchSpace
from ..train.checkpoints import clear_stale, read_state, save_epoch
from ..zoo import arch as A
from .proxy import ProxyResult

BN_EPSILON = 1e-3          # Keras' BatchNormalization default, which the zoo keeps
L2 = 1e-4                  # the zoo's kernel regulariser (zoo/_common.py), once per step
META_FILE = "supernet.json"
RERANK_FILE = "rerank.json"   # in the search's folder: the re-ranked candidates' scores
MAX_KERNEL = 7
VALIDATION_FRACTION = 0.1


@dataclass(frozen=True)
class SupernetSettings:
    """How the supernet is trained (`search --supernet-epochs`, `--supernet DIR`)."""
    epochs: int = SUPERNET_EPOCHS
    batch_size: int = SUPERNET_BATCH
    learning_rate: float = SUPERNET_LEARNING_RATE
    random_subnets: int = SUPERNET_RANDOM_SUBNETS
    limit_train: int | None = None       # training images (None: the whole split)
    augment: bool = True                 # the dataset's own policy (none for digits/glyphs)
    seed: int = 0
    reuse: str | None = None             # --supernet DIR: a trained one, not trained again
    graph: bool | None = None            # the step as a graph function (None: by step count)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SupernetProxySettings:
    """What `supernet_proxy` needs (picklable: workers load the supernet from `path`)."""
    path: str
    calib_images: int = SUPERNET_CALIB_IMAGES
    val_images: int | None = SUPERNET_VAL_IMAGES   # None: the whole validation split
    batch_size: int = 256

    def describe(self) -> str:
        val = "all" if self.val_images is None else self.val_images
        return (f"weight-sharing supernet ({self.path}): inherited weights, BN statistics "
                f"re-estimated on {self.calib_images} training images, float top-1 on "
                f"{val} validation images")


# -- the layers of a sub-network -------------------------------------------------------------
@dataclass(frozen=True)
class BlockPlan:
    name: str            # block{stage}_{i}
    in_ch: int
    hidden: int
    out_ch: int
    stride: int
    kernel: int
    expand: bool         # an expansion 1x1 conv (expansion != 1)
    residual: bool       # the input added (identity shortcut)
    shortcut: bool = False  # a 1x1 conv of the input added (a basic block's projection)


def block_plans(cfg: ArchConfig) -> tuple[int, list[BlockPlan]]:
    """(stem channels, the blocks) of `cfg` as zoo/backbone.py builds it."""
    bb = cfg.bb
    stem = bb.stem_channels(cfg.width)
    in_ch, out = stem, []
    for b, (stage, i, stride) in enumerate(bb.blocks(cfg.depths)):
        filters = bb.channels(stage, cfg.width)
        e = cfg.expansions[b]
        out.append(BlockPlan(f"block{stage}_{i}", in_ch, bb.hidden(in_ch, filters, e), filters,
                             stride, cfg.kernels[b], bb.expands(e),
                             bb.residual(stride, in_ch, filters),
                             bb.projects(stride, in_ch, filters)))
        in_ch = filters
    return stem, out


class Supernet:
    """The largest network's variables and the per-architecture forward pass."""

    def __init__(self, space: SearchSpace, channels: int, classes: int, seed: int = 0) -> None:
        from ..keras_compat import tf

        bb = space.bb
        self.fused = bb.block == A.BLOCK_FUSED
        self.plain = bb.block == A.BLOCK_PLAIN
        self.basic = bb.block == A.BLOCK_BASIC
        if max(space.kernels) > MAX_KERNEL:
            raise TinyconvError(f"supernet: kernels up to {MAX_KERNEL}, got {space.kernels}")
        if bb.block == A.BLOCK_MBCONV and min(space.expansions) < 2:
            raise TinyconvError(f"supernet: expansions must be at least 2 (every block "
                                f"expands), got {space.expansions}")
        self.space, self.channels, self.classes = space, int(channels), int(classes)
        self.bb = bb
        # The kernel every sub-network's kernel is the centre crop of: the depthwise 7x7
        # of MBConv blocks (as saved supernets hold it), a fused, plain or basic block's
        # largest choice.
        self.max_kernel = MAX_KERNEL if bb.block == A.BLOCK_MBCONV else max(space.kernels)
        largest = space.largest()
        # The widest channels of every layer over the space's widths (make_divisible is not
        # strictly monotonic, so take the maximum rather than the largest width's).
        plans = [block_plans(replace(largest, width=w,
                                     expansions=(max(space.expansions),) * len(largest.kernels)))
                 for w in space.widths]
        self.max_stem = max(p[0] for p in plans)
        # A basic block's projection exists where some width's network has one.
        self.max_blocks = [BlockPlan(b.name, max(p[1][j].in_ch for p in plans),
                                     max(p[1][j].hidden for p in plans),
                                     max(p[1][j].out_ch for p in plans), b.stride,
                                     self.max_kernel, True, False,
                                     any(p[1][j].shortcut for p in plans))
                           for j, b in enumerate(plans[0][1])]
        self.max_depths = largest.depths
        rng = np.random.default_rng(seed)
        v: dict[str, object] = {}

        def conv(name, shape, fan_in):
            v[name] = tf.Variable(rng.normal(0, math.sqrt(2.0 / fan_in), shape).astype(np.float32),
                                  name=name)

        def bn(name, c, gamma=1.0):
            v[f"{name}/gamma"] = tf.Variable(np.full(c, gamma, np.float32), name=f"{name}/gamma")
            v[f"{name}/beta"] = tf.Variable(np.zeros(c, np.float32), name=f"{name}/beta")

        sk = bb.stem_kernel
        conv("stem_conv", (sk, sk, self.channels, self.max_stem), sk ** 2 * self.channels)
        bn("stem_bn", self.max_stem)
        K = self.max_kernel
        for b in self.max_blocks:
            if self.plain:   # one kxk conv to the stage's channels; no residual to zero
                conv(f"{b.name}_conv", (K, K, b.in_ch, b.out_ch), K * K * b.in_ch)
                bn(f"{b.name}_bn", b.out_ch)
                continue
            if self.fused or self.basic:  # the block's kxk conv, its stride, to the middle
                conv(f"{b.name}_expand_conv", (K, K, b.in_ch, b.hidden), K * K * b.in_ch)
                bn(f"{b.name}_expand_bn", b.hidden)
            else:
                conv(f"{b.name}_expand_conv", (1, 1, b.in_ch, b.hidden), b.in_ch)
                bn(f"{b.name}_expand_bn", b.hidden)
                conv(f"{b.name}_dw", (K, K, b.hidden, 1), K ** 2)
                bn(f"{b.name}_dwbn", b.hidden)
            P = K if self.basic else 1   # a basic block's second conv is kxk too
            conv(f"{b.name}_project_conv", (P, P, b.hidden, b.out_ch), P * P * b.hidden)
            # Zero-initialised last BN of a residual block (as BigNAS): each block starts
            # as the identity, which lets deep sub-networks train from the first steps.
            bn(f"{b.name}_project_bn", b.out_ch, 1.0 if b.name.endswith("_0") else 0.0)
            if b.shortcut:
                conv(f"{b.name}_shortcut_conv", (1, 1, b.in_ch, b.out_ch), b.in_ch)
                bn(f"{b.name}_shortcut_bn", b.out_ch)
        last = self.max_blocks[-1].out_ch
        v["classifier_dense/kernel"] = tf.Variable(  # small: uniform outputs at first
            rng.normal(0, 0.01, (last, self.classes)).astype(np.float32),
            name="classifier_dense/kernel")
        v["classifier_dense/bias"] = tf.Variable(np.zeros(self.classes, np.float32),
                                                 name="classifier_dense/bias")
        self.variables = v
        self.module = tf.Module()
        self.module.variables_by_name = v  # tracked by tf.train.Checkpoint (dict keys)
        self.trainable = [v[k] for k in sorted(v)]
        self.kernels = [v[k] for k in sorted(v) if k.endswith(("_conv", "_dw", "/kernel"))]

    # -- slicing -------------------------------------------------------------------------
    def check(self, cfg: ArchConfig) -> None:
        if not self.space.contains(cfg):
            raise TinyconvError(f"supernet: architecture {cfg.key} is outside the supernet's "
                                f"space ({json.dumps(self.space.to_dict())})")

    def sliced(self, cfg: ArchConfig) -> dict[str, object]:
        """The inherited weights of `cfg`, by Keras layer name (each a list as
        `layer.set_weights` takes it, BN without its statistics)."""
        v = self.variables
        stem, plans = block_plans(cfg)
        out = {"stem_conv": [v["stem_conv"][:, :, :, :stem]],
               "stem_bn": [v["stem_bn/gamma"][:stem], v["stem_bn/beta"][:stem]]}
        for p in plans:
            n = p.name
            lo, hi = (self.max_kernel - p.kernel) // 2, (self.max_kernel + p.kernel) // 2
            if self.plain:
                out[f"{n}_conv"] = [v[f"{n}_conv"][lo:hi, lo:hi, :p.in_ch, :p.out_ch]]
                out[f"{n}_bn"] = [v[f"{n}_bn/gamma"][:p.out_ch], v[f"{n}_bn/beta"][:p.out_ch]]
                continue
            if self.fused or self.basic:
                out[f"{n}_expand_conv"] = [v[f"{n}_expand_conv"][lo:hi, lo:hi, :p.in_ch, :p.hidden]]
            elif p.expand:
                out[f"{n}_expand_conv"] = [v[f"{n}_expand_conv"][:, :, :p.in_ch, :p.hidden]]
            if p.expand:
                out[f"{n}_expand_bn"] = [v[f"{n}_expand_bn/gamma"][:p.hidden],
                                         v[f"{n}_expand_bn/beta"][:p.hidden]]
            if not (self.fused or self.basic):
                out[f"{n}_dw"] = [v[f"{n}_dw"][lo:hi, lo:hi, :p.hidden, :]]
                out[f"{n}_dwbn"] = [v[f"{n}_dwbn/gamma"][:p.hidden],
                                    v[f"{n}_dwbn/beta"][:p.hidden]]
            plo, phi = (lo, hi) if self.basic else (0, 1)
            out[f"{n}_project_conv"] = [v[f"{n}_project_conv"][plo:phi, plo:phi, :p.hidden,
                                                               :p.out_ch]]
            out[f"{n}_project_bn"] = [v[f"{n}_project_bn/gamma"][:p.out_ch],
                                      v[f"{n}_project_bn/beta"][:p.out_ch]]
            if p.shortcut:
                out[f"{n}_shortcut_conv"] = [v[f"{n}_shortcut_conv"][:, :, :p.in_ch, :p.out_ch]]
                out[f"{n}_shortcut_bn"] = [v[f"{n}_shortcut_bn/gamma"][:p.out_ch],
                                           v[f"{n}_shortcut_bn/beta"][:p.out_ch]]
        last = plans[-1].out_ch
        out["classifier_dense"] = [v["classifier_dense/kernel"][:last],
                                   v["classifier_dense/bias"]]
        return out

    # -- the forward pass ----------------------------------------------------------------
    def layout(self, cfg: ArchConfig) -> list[int]:
        """`cfg` as integers over the largest network's blocks: resolution, stem channels,
        then per block (active, in, hidden, out, kernel, residual). The same forward pass
        runs on it eagerly (Python ints) and in the training step's graph (a tensor)."""
        stem, plans = block_plans(cfg)
        code = [cfg.resolution, stem]
        by_name = {p.name: p for p in plans}
        prev = stem
        for b in self.max_blocks:
            p = by_name.get(b.name)
            if p is None:        # beyond the stage's depth: a residual block's identity
                code += [0, prev, prev, prev, 3, 1]
            else:
                code += [1, p.in_ch, p.hidden, p.out_ch, p.kernel, int(p.residual)]
                prev = p.out_ch
        return code

    def forward(self, x, cfg: ArchConfig, *, stats: dict | None = None,
                record: dict | None = None):
        """Logits of sub-network `cfg` for images `x` (already at cfg.resolution), eagerly.

        `stats` None: batch normalisation with the batch's own statistics (training, and
        the calibration pass, which appends each layer's batch mean and variance to
        `record[name]`); else inference with `stats[name] = (mean, variance)`."""
        self.check(cfg)
        return self.run(x, self.layout(cfg), stats=stats, record=record)

    def run(self, x, code, *, stats: dict | None = None, record: dict | None = None):
        """The forward pass of layout `code` (see `layout`): a list of ints runs eagerly,
        with Python branches; an int32 tensor builds the graph of every sub-network (the
        training step's: slices of tensor sizes, tf.cond for depth and residuals)."""
        from ..keras_compat import tf

        eager = isinstance(code, (list, tuple))
        if not eager:
            code = tf.unstack(code)
        v = self.variables

        def cond(pred, then, other):
            if eager or isinstance(pred, (bool, int)):
                return then() if pred else other()
            return tf.cond(tf.cast(pred, tf.bool), then, other)

        def bn(h, name, c):
            gamma, beta = v[f"{name}/gamma"][:c], v[f"{name}/beta"][:c]
            if stats is None:
                mean, var = tf.nn.moments(h, axes=[0, 1, 2])
                if record is not None:
                    record.setdefault(name, []).append((mean, var))
            else:
                mean, var = stats[name]
            return tf.nn.batch_normalization(h, mean, var, beta, gamma, BN_EPSILON)

        stem = code[1]
        K = self.max_kernel
        h = tf.nn.conv2d(x, v["stem_conv"][:, :, :, :stem], self.bb.stem_stride, "SAME")
        h = tf.nn.relu6(bn(h, "stem_bn", stem))
        for j, b in enumerate(self.max_blocks):
            active, cin, hidden, cout, k, residual = code[2 + 6 * j: 8 + 6 * j]
            first = b.name.endswith("_0")  # a stage's first block: always there
            if self.plain:
                residual = False           # VGG: never
            elif not first:
                residual = True            # stride 1, as many channels in as out
            elif b.stride != 1:
                residual = False           # never across a stride (a basic block projects)
            elif self.basic and not b.shortcut:
                residual = True            # no width changes the shape: the identity

            def block(h=h, b=b, cin=cin, hidden=hidden, cout=cout, k=k, residual=residual):
                n, shortcut = b.name, h
                lo = (K - k) // 2
                if self.plain:
                    if b.stride != 1:
                        h = tf.nn.max_pool2d(h, b.stride, b.stride, "SAME")
                    y = tf.nn.conv2d(h, v[f"{n}_conv"][lo:lo + k, lo:lo + k, :cin, :cout], 1,
                                     "SAME")
                    return tf.nn.relu6(bn(y, f"{n}_bn", cout))
                if self.fused or self.basic:
                    y = tf.nn.conv2d(h, v[f"{n}_expand_conv"][lo:lo + k, lo:lo + k, :cin, :hidden],
                                     b.stride, "SAME")
                    y = tf.nn.relu6(bn(y, f"{n}_expand_bn", hidden))
                else:
                    y = tf.nn.conv2d(h, v[f"{n}_expand_conv"][:, :, :cin, :hidden], 1, "SAME")
                    y = tf.nn.relu6(bn(y, f"{n}_expand_bn", hidden))
                    y = tf.nn.depthwise_conv2d(y, v[f"{n}_dw"][lo:lo + k, lo:lo + k, :hidden, :],
                                               [1, b.stride, b.stride, 1], "SAME")
                    y = tf.nn.relu6(bn(y, f"{n}_dwbn", hidden))
                if self.basic:   # kxk, then the shortcut (itself or projected) and ReLU6
                    y = tf.nn.conv2d(y, v[f"{n}_project_conv"][lo:lo + k, lo:lo + k, :hidden, :cout],
                                     1, "SAME")
                    y = bn(y, f"{n}_project_bn", cout)

                    def projected():
                        s = tf.nn.conv2d(shortcut, v[f"{n}_shortcut_conv"][:, :, :cin, :cout],
                                         b.stride, "SAME")
                        return y + bn(s, f"{n}_shortcut_bn", cout)
                    return tf.nn.relu6(cond(residual, lambda: y + shortcut, projected))
                y = tf.nn.conv2d(y, v[f"{n}_project_conv"][:, :, :hidden, :cout], 1, "SAME")
                y = bn(y, f"{n}_project_bn", cout)
                return cond(residual, lambda: y + shortcut, lambda: y)

            h = block() if first else cond(active, block, lambda h=h: h)
        h = tf.reduce_mean(h, axis=[1, 2])
        c = tf.shape(h)[-1] if not eager else int(h.shape[-1])
        return tf.matmul(h, v["classifier_dense/kernel"][:c]) + v["classifier_dense/bias"]

    def l2(self):
        from ..keras_compat import tf
        return L2 * tf.add_n([tf.reduce_sum(tf.square(k)) for k in self.kernels])

    # -- sub-network evaluation ----------------------------------------------------------
    def calibrate(self, cfg: ArchConfig, x: np.ndarray, batch_size: int = 256) -> dict:
        """Each BN layer's statistics under `cfg` on images `x` (at cfg.resolution): the
        mean over batches of the batch mean and variance, as OFA re-estimates them."""
        from ..keras_compat import tf
        record: dict = {}
        for start in range(0, len(x), batch_size):
            self.forward(tf.constant(x[start:start + batch_size]), cfg, record=record)
        return {name: (tf.reduce_mean(tf.stack([m for m, _ in vals]), 0),
                       tf.reduce_mean(tf.stack([v for _, v in vals]), 0))
                for name, vals in record.items()}

    def predict(self, cfg: ArchConfig, x: np.ndarray, stats: dict,
                batch_size: int = 256) -> np.ndarray:
        from ..keras_compat import tf
        out = [self.forward(tf.constant(x[s:s + batch_size]), cfg, stats=stats).numpy()
               for s in range(0, len(x), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, self.classes), np.float32)

    def accuracy(self, cfg: ArchConfig, x_calib: np.ndarray, x_val: np.ndarray,
                 y_val: np.ndarray, batch_size: int = 256) -> float:
        """Top-1 of `cfg` on (x_val, y_val) after BN re-estimation on x_calib; the images
        at the supernet's base resolution, resized to cfg's here."""
        self.check(cfg)
        xc, xv = resize(x_calib, cfg.resolution), resize(x_val, cfg.resolution)
        stats = self.calibrate(cfg, xc, batch_size)
        logits = self.predict(cfg, xv, stats, batch_size)
        return float(np.mean(np.argmax(logits, axis=-1) == y_val))

    def subnet_keras(self, cfg: ArchConfig, stats: dict):
        """The zoo's Keras model of `cfg` (ArchConfig.build_keras) holding the
        inherited weights and the re-estimated BN statistics `stats` (from `calibrate`)."""
        from ..keras_compat import layers
        self.check(cfg)
        model = cfg.build_keras(self.channels, self.classes)
        weights = self.sliced(cfg)
        done = set()
        for layer in model.layers:
            if not layer.weights:
                continue
            if layer.name not in weights:
                raise TinyconvError(f"supernet: no weights for layer {layer.name}")
            values = [np.asarray(t) for t in weights[layer.name]]
            if isinstance(layer, layers.BatchNormalization):
                mean, var = stats[layer.name]
                values += [np.asarray(mean), np.asarray(var)]
            layer.set_weights(values)
            done.add(layer.name)
        missing = set(weights) - done
        if missing:
            raise TinyconvError(f"supernet: the Keras model lacks {sorted(missing)}")
        return model


def resize(x: np.ndarray, resolution: int) -> np.ndarray:
    """Images resized to `resolution` as the data loader resizes them (bilinear,
    anti-aliased when shrinking: tf.image.resize's numbers, as in training's steps)."""
    return resize_images(x, resolution, resolution)


# -- training --------------------------------------------------------------------------------
def base_resolution(space: SearchSpace) -> int:
    return max(space.resolutions)


def load_data(dataset: str, space: SearchSpace, channels: int, settings: SupernetSettings):
    """Training and validation images at the space's largest resolution (smaller ones are
    resized per step): the same split for training and for the evaluator."""
    from ..data import load_dataset
    r = base_resolution(space)
    return load_dataset(dataset, input_shape=(r, r, channels),
                        validation_fraction=VALIDATION_FRACTION, seed=settings.seed,
                        limit_train=settings.limit_train, limit_test=1)


def _meta(dataset: str, space: SearchSpace, channels: int, classes: int,
          settings: SupernetSettings) -> dict:
    s = settings.to_dict()
    s.pop("reuse")
    s.pop("graph")
    return {"dataset": dataset, "space": space.to_dict(), "channels": int(channels),
            "classes": int(classes), "base_resolution": base_resolution(space), "settings": s}


def read_meta(folder: Path) -> dict:
    path = Path(folder) / META_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise TinyconvError(f"no supernet in {folder} ({META_FILE} missing)") from None
    except (OSError, ValueError) as e:
        raise TinyconvError(f"supernet {path} is unreadable ({e})") from None


def check_reusable(folder: Path, dataset: str, space: SearchSpace, channels: int,
                   classes: int) -> dict:
    """`--supernet DIR`: a trained supernet of this dataset whose space holds `space`;
    one line naming the mismatch otherwise. Returns its state."""
    meta = read_meta(folder)
    state = read_state(folder)
    if state is None:
        raise TinyconvError(f"--supernet {folder}: not trained yet (no finished epoch)")
    theirs = SearchSpace.from_dict(meta["space"])
    problems = []
    if theirs.backbone != space.backbone:
        problems.append(f"backbone {theirs.backbone} (this search: {space.backbone})")
    if meta.get("dataset") != dataset:
        problems.append(f"dataset {meta.get('dataset')} (this search: {dataset})")
    if (meta.get("channels"), meta.get("classes")) != (channels, classes):
        problems.append(f"{meta.get('channels')} channels / {meta.get('classes')} classes "
                        f"(this search: {channels} / {classes})")
    for name in ("widths", "resolutions", "kernels", "expansions"):
        extra = set(getattr(space, name)) - set(getattr(theirs, name))
        if extra:
            problems.append(f"no {name} {','.join(f'{x:g}' for x in sorted(extra))}")
    if any(set(a) - set(b) for a, b in zip(space.depths, theirs.depths)):
        problems.append(f"depths {theirs.depths} (this search: {space.depths})")
    if problems:
        raise TinyconvError(f"--supernet {folder} does not match this search: "
                            + "; ".join(problems))
    return state


def _checkpoint(net: Supernet, optimizer=None):
    """The checkpoint's layout: the supernet's weights, and the optimizer's state if given."""
    from ..keras_compat import tf
    if optimizer is None:
        return tf.train.Checkpoint(supernet=net.module)
    return tf.train.Checkpoint(supernet=net.module, optimizer=optimizer)


def load_supernet(folder: Path) -> Supernet:
    """The supernet of `folder`'s last finished epoch (weights only)."""
    from ..keras_compat import tf
    folder = Path(folder)
    meta, state = read_meta(folder), read_state(folder)
    if state is None:
        raise TinyconvError(f"supernet {folder}: no finished epoch to load")
    net = Supernet(SearchSpace.from_dict(meta["space"]), meta["channels"], meta["classes"])
    path = folder / state["checkpoint"] / "ckpt"
    try:
        _checkpoint(net).read(str(path)).expect_partial()
    except (ValueError, OSError, tf.errors.OpError) as e:
        raise TinyconvError(f"cannot load supernet {path} ({str(e).splitlines()[0]})") from None
    net.epoch = int(state["epoch"])
    return net


def _save(folder: Path, net: Supernet, optimizer, epoch: int, history: list) -> None:
    """The checkpoint of `epoch`: weights and optimizer state, or (`optimizer` None: the
    last epoch, after which nothing trains it) the weights alone, a third of the bytes."""
    from ..interrupt import saving
    with saving():
        save_epoch(folder, epoch, _checkpoint(net, optimizer), {"history": history})


def train_supernet(dataset: str, space: SearchSpace, channels: int, classes: int,
                   folder: Path, settings: SupernetSettings, *, resume: bool = False,
                   echo: Callable[[str], None] = print, data=None) -> Supernet:
    """Train the supernet of `space` on `dataset` into `folder` (a checkpoint per epoch).

    `resume` continues after the last saved epoch (the folder must hold the same
    supernet); a finished one is loaded and returned as is."""
    from ..data import batches_per_epoch, epoch_batches
    from ..keras_compat import keras
    from ..train.loop import cosine_schedule

    folder = Path(folder)
    meta = _meta(dataset, space, channels, classes, settings)
    state = None
    if folder.exists() and any(folder.iterdir()):
        if not resume:
            raise TinyconvError(f"supernet folder {folder} is not empty (resume the search)")
        old = read_meta(folder)
        if old != meta:
            diff = sorted(k for k in set(old) | set(meta) if old.get(k) != meta.get(k))
            raise TinyconvError(f"cannot resume the supernet in {folder}: its "
                                f"{', '.join(diff)} differ(s) from this search's")
        state = read_state(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / META_FILE, meta)
    clear_stale(folder)  # a kill mid-save
    if state is not None and int(state["epoch"]) >= settings.epochs:
        return load_supernet(folder)  # trained: its epochs are in its meta, none can follow

    ds = data if data is not None else load_data(dataset, space, channels, settings)
    steps = max(1, batches_per_epoch(len(ds.x_train), settings.batch_size))
    net = Supernet(space, channels, classes, seed=settings.seed)
    total = settings.epochs * steps  # warmup: a tenth of the steps, at most an epoch
    optimizer = keras.optimizers.Adam(cosine_schedule(settings.learning_rate, total,
                                                      min(steps, max(1, total // 10))))
    optimizer.build(net.trainable)
    start, history = 0, []
    if state is not None:
        path = folder / state["checkpoint"] / "ckpt"
        try:
            _checkpoint(net, optimizer).read(str(path)).assert_existing_objects_matched()
        except (AssertionError, ValueError, OSError) as e:
            raise TinyconvError(f"cannot resume the supernet from {path} "
                                f"({str(e).splitlines()[0]})") from None
        start, history = int(state["epoch"]), list(state.get("history", []))
        if start < settings.epochs:
            echo(f"supernet: resuming after epoch {start}")
    graph = (settings.epochs - start) * steps >= GRAPH_MIN_STEPS if settings.graph is None \
        else settings.graph
    step_fn = make_step(net, optimizer, 1 + settings.random_subnets, graph=graph)
    policy = getattr(ds, "augmentation", True) if settings.augment else None
    largest, smallest = space.largest(), space.smallest()
    for epoch in range(start, settings.epochs):
        started = time.perf_counter()
        losses = []
        for step, (xb, yb) in enumerate(epoch_batches(ds.x_train, ds.y_train,
                                                      settings.batch_size, epoch=epoch,
                                                      seed=settings.seed, augment=policy)):
            rng = random.Random(f"supernet:{settings.seed}:{epoch}:{step}")
            archs = [smallest] + [space.sample(rng) for _ in range(settings.random_subnets)]
            losses.append(train_step(step_fn, net, xb, yb, largest, archs, graph=graph))
        seconds = time.perf_counter() - started
        history.append({"epoch": epoch + 1, "loss": round(float(np.mean(losses)), 5),
                        "seconds": round(seconds, 2),
                        "step_seconds": round(seconds / max(1, len(losses)), 4)})
        _save(folder, net, None if epoch + 1 == settings.epochs else optimizer, epoch + 1, history)
        echo(f"  supernet epoch {epoch + 1}/{settings.epochs}: loss {np.mean(losses):.4f} "
             f"({seconds:.0f} s, {seconds / max(1, len(losses)):.2f} s/step)")
    net.epoch = settings.epochs
    _CACHE.pop(str(folder.resolve()), None)
    return net


# A sandwich step as one graph function runs ~2.5x faster than eagerly (measured: 0.7 s vs
# 1.8 s of CPU per step of 4 networks, batch 64, 48 px, width 0.3), but tracing it (every
# block under a tf.cond, and its gradient) costs ~35-60 s of CPU once: worth it from about
# this many steps.
GRAPH_MIN_STEPS = 100


def make_step(net: Supernet, optimizer, subnets: int, *, graph: bool) -> Callable:
    """One sandwich step: the largest network (first layout) learns from the labels, the
    `subnets` others from its soft outputs (in-place distillation); one gradient of the
    summed losses (= the summed gradients), applied by `optimizer`. With `graph`, one graph
    function traced once for all architectures (layouts as an int32 tensor), else eager.
    Returns step(x, y, codes) -> the largest network's loss."""
    from ..keras_compat import tf

    def at(x, resolution):
        if not graph:
            return x if x.shape[1] == resolution else tf.image.resize(
                x, (resolution, resolution), antialias=True)
        return tf.cond(tf.equal(resolution, tf.shape(x)[1]), lambda: tf.identity(x),
                       lambda: tf.image.resize(x, tf.stack([resolution, resolution]),
                                               antialias=True))

    def step(x, y, codes):
        with tf.GradientTape() as tape:
            logits = net.run(at(x, codes[0][0]), codes[0])
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
            soft = tf.stop_gradient(tf.nn.softmax(logits))
            total = loss + net.l2()
            for i in range(1, 1 + subnets):
                sub = net.run(at(x, codes[i][0]), codes[i])
                total += tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(soft, sub))
        grads = tape.gradient(total, net.trainable)
        update(grads)
        return loss

    @tf.function
    def update(grads):  # a fixed variable list: traced once, also in eager steps
        optimizer.apply_gradients(zip(grads, net.trainable))

    if not graph:
        return step
    size = 2 + 6 * len(net.max_blocks)
    spec = [tf.TensorSpec((None, None, None, net.channels), tf.float32),
            tf.TensorSpec((None,), tf.int32), tf.TensorSpec((1 + subnets, size), tf.int32)]
    return tf.function(step, input_signature=spec, autograph=False)


def train_step(step: Callable, net: Supernet, xb: np.ndarray, yb: np.ndarray,
               largest: ArchConfig, others: list[ArchConfig], *, graph: bool) -> float:
    from ..keras_compat import tf
    codes = [net.layout(c) for c in [largest, *others]]
    if graph:
        return float(step(xb, yb, np.array(codes, np.int32)))
    return float(step(tf.constant(xb), tf.constant(yb), codes))


# -- the evaluator ---------------------------------------------------------------------------
_CACHE: dict[str, tuple] = {}   # folder -> (epoch, supernet, calib images, val images, labels)


def _loaded(settings: SupernetProxySettings):
    key = str(Path(settings.path).resolve())
    state = read_state(Path(settings.path))
    epoch = None if state is None else int(state["epoch"])
    hit = _CACHE.get(key)
    if hit is not None and hit[0] == epoch and hit[5] == (settings.calib_images,
                                                          settings.val_images):
        return hit
    meta = read_meta(Path(settings.path))
    net = load_supernet(Path(settings.path))
    s = meta["settings"]
    ds = load_data(meta["dataset"], net.space, net.channels,
                   SupernetSettings(seed=s["seed"], limit_train=s["limit_train"]))
    hit = (epoch, net, ds.x_train[:settings.calib_images], ds.x_val[:settings.val_images],
           ds.y_val[:settings.val_images], (settings.calib_images, settings.val_images))
    _CACHE.clear()
    _CACHE[key] = hit
    return hit


def supernet_proxy(arch: dict, channels: int, settings: SupernetProxySettings) -> ProxyResult:
    """The evolution's evaluator with `--proxy supernet`: `arch`'s validation accuracy with
    weights inherited from the supernet in `settings.path` (loaded once per process) and
    its BN statistics re-estimated."""
    cfg = ArchConfig.from_dict(arch)
    start = time.perf_counter()
    _, net, xc, xv, yv, _ = _loaded(settings)
    if channels != net.channels:
        raise TinyconvError(f"supernet {settings.path} takes {net.channels}-channel images, "
                            f"not {channels}")
    acc = net.accuracy(cfg, xc, xv, yv, settings.batch_size)
    return ProxyResult(cfg.key, acc, time.perf_counter() - start)


def rerank(cands: list, channels: int, settings: SupernetProxySettings, path: Path,
           echo: Callable[[str], None] = print) -> dict[str, float]:
    """The supernet accuracy of `cands` (the evolution's best) on the WHOLE validation split,
    BN statistics re-estimated on SUPERNET_RERANK_CALIB_IMAGES training images: the score
    the winner is picked by, where the evolution's 1,000 images tie. Each score is saved
    to `path` as it comes, so a resumed search scores no candidate twice (scores of other
    settings or another supernet epoch are dropped; a search folder moved elsewhere keeps
    them: the supernet is named by its meta, not its path). Returns key -> score."""
    full = replace(settings, calib_images=SUPERNET_RERANK_CALIB_IMAGES, val_images=None)
    state = read_state(Path(settings.path))
    epoch = None if state is None else state["epoch"]
    identity = {"supernet": read_meta(Path(settings.path)), "epoch": epoch,
                "calib_images": full.calib_images, "val_images": full.val_images}
    # Scores saved before the identity left the path out: theirs named the supernet's folder.
    by_path = {"proxy": full.describe(), "epoch": epoch}
    try:
        saved = json.loads(Path(path).read_text()) if Path(path).exists() else {}
    except (OSError, ValueError):
        saved = {}   # unreadable: score again (seconds each)
    scores = dict(saved.get("scores", {})) if saved.get("identity") in (identity, by_path) else {}
    for c in cands:
        if c.key not in scores:
            scores[c.key] = supernet_proxy(c.arch.to_dict(), channels, full).accuracy
            write_json_atomic(path, {"identity": identity, "scores": scores})
        echo(f"  {c.key}: {scores[c.key]:.4f} on the whole validation split "
             f"(evolution's score {c.accuracy:.4f})")
    return {c.key: scores[c.key] for c in cands}


def subnet_keras(arch: ArchConfig, settings: SupernetProxySettings):
    """The Keras model of `arch` with the supernet's weights and BN statistics re-estimated
    on the evaluator's calibration images (what the search scored)."""
    _, net, xc, _, _, _ = _loaded(settings)
    net.check(arch)
    stats = net.calibrate(arch, resize(xc, arch.resolution), settings.batch_size)
    return net.subnet_keras(arch, stats)


def save_subnet_weights(arch: ArchConfig, settings: SupernetProxySettings, path: Path) -> Path:
    """`subnet_keras(arch)`'s weights in a Keras .weights.h5 file (atomic)."""
    path = Path(path)
    model = subnet_keras(arch, settings)
    tmp = path.with_name(f".tmp-{path.name}")
    model.save_weights(str(tmp))
    os.replace(tmp, path)
    return path


def _train_supernet_job(dataset: str, space: SearchSpace, channels: int, classes: int,
                        folder: Path, settings: SupernetSettings, resume: bool,
                        echo: Callable[[str], None]) -> None:
    """`train_supernet` as a job (tinyconv.backend.run_job): nothing returned, the
    supernet is its folder."""
    train_supernet(dataset, space, channels, classes, folder, settings, resume=resume,
                   echo=echo)


# -- the search's supernet -------------------------------------------------------------------
def supernet_space(space: SearchSpace, choice) -> SearchSpace:
    """The space the search's supernet covers: the kernels, expansions and depths of
    `space`, and of its widths and resolutions those up to the chosen pair's
    (`choice`, a space_opt.SpaceChoice) where some sampled config fits the budget.

    The evolution runs across all of them: one supernet scores every width and resolution
    it was trained on, so the search need not bet on the chosen pair alone (MCUNet's
    evolution, scoring by training, stays in that pair). Never wider or larger than it:
    the sandwich rule trains the largest network every step, so a supernet wider than
    the chosen width would cost more for networks the budget rules out."""
    fitting = [r for r in choice.table if r.fitting > 0
               and r.width <= choice.width and r.resolution <= choice.resolution]
    widths = tuple(sorted({r.width for r in fitting} | {choice.width}))
    resolutions = tuple(sorted({r.resolution for r in fitting} | {choice.resolution}))
    return replace(space, widths=widths, resolutions=resolutions)


def prepare(dataset: str, space: SearchSpace, channels: int, classes: int, out: Path,
            settings: SupernetSettings, *, resume: bool, echo: Callable[[str], None] = print,
            ray_address: str | None = None) -> tuple[SupernetProxySettings, str]:
    """The trained supernet the search scores candidates with: `--supernet DIR` checked
    against `space` (the evolution's), or one trained (resumed) over it into OUT/supernet,
    here or (`ray_address`) as one task on a Ray cluster. Returns the evaluator's settings
    and a description of the proxy."""
    if settings.reuse is not None:
        folder = Path(settings.reuse)
        state = check_reusable(folder, dataset, space, channels, classes)
        echo(f"supernet: reusing {folder} ({state['epoch']} epoch(s) trained)")
    else:
        folder = Path(out) / "supernet"
        echo(f"supernet: {len(space.widths)} width(s) {','.join(f'{w:g}' for w in space.widths)}"
             f" x resolution(s) {','.join(str(r) for r in space.resolutions)}, kernels "
             f"{','.join(map(str, space.kernels))}, expansions "
             f"{','.join(map(str, space.expansions))}, elastic depth; {settings.epochs} "
             f"epoch(s) into {folder}")
        started = time.perf_counter()
        from ..backend import run_job
        run_job(ray_address, "the supernet training", _train_supernet_job, dataset, space,
                channels, classes, folder, settings, resume,
                echo if ray_address is None else print)  # a Ray task's prints are relayed
        echo(f"supernet trained ({time.perf_counter() - started:.0f} s this run)")
    proxy = SupernetProxySettings(str(folder))
    return proxy, proxy.describe()
