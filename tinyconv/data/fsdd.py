"""Free Spoken Digit Dataset: 3,000 8 kHz WAVs of digits 0-9 by 6 speakers, turned into 49x10
MFCC maps (see audio.py). Official split: recordings with index 0-4 are the test set.

Features are scaled to [0, 1] per coefficient with the 1st/99th percentiles of the official
training split (fixed, whatever the validation seed) and clipped, so the int8 input
quantization of a model sees a bounded range.
"""

from __future__ import annotations

import re
import wave
from pathlib import Path

import numpy as np

from ..errors import TinyconvError
from .audio import MfccConfig, fit_clip, mfcc
from .cache import cached_arrays, source_key
from .dataset import SPEECH_AUGMENTATION
from .locate import looked_in, try_dataset_dir
from .source import TEST, TRAIN, Source

CONFIG = MfccConfig()
CLASSES = tuple(str(d) for d in range(10))
_NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")


def fsdd() -> Source:
    folder = try_dataset_dir("fsdd", "recordings")
    if folder is None:
        raise TinyconvError(f"dataset 'fsdd' not found (looked in {looked_in('fsdd')}); it needs "
                            "recordings/<digit>_<speaker>_<index>.wav")
    recordings = folder / "recordings"
    arrays = cached_arrays(source_key("fsdd", recordings), lambda: _features(recordings))
    x = {TRAIN: arrays["x_train"], TEST: arrays["x_test"]}

    def fetch(split: str, idx: np.ndarray) -> np.ndarray:
        return x[split][idx]

    return Source("fsdd", arrays["y_train"], arrays["y_test"], CLASSES,
                  (CONFIG.n_frames, CONFIG.n_mfcc, 1), fetch, augmentation=SPEECH_AUGMENTATION)


def read_wav(path: Path, sample_rate: int) -> np.ndarray:
    """Mono 16-bit PCM -> float32 in [-1, 1]."""
    try:
        with wave.open(str(path), "rb") as w:
            if w.getnchannels() != 1 or w.getsampwidth() != 2 or w.getframerate() != sample_rate:
                raise TinyconvError(f"{path}: expected mono 16-bit {sample_rate} Hz audio, got "
                                    f"{w.getnchannels()} channel(s), {8 * w.getsampwidth()}-bit, "
                                    f"{w.getframerate()} Hz")
            data = w.readframes(w.getnframes())
    except (OSError, EOFError, wave.Error) as e:
        raise TinyconvError(f"cannot read {path}: {e}") from None
    return np.frombuffer(data, "<i2").astype(np.float32) / np.float32(32768.0)


def _features(recordings: Path) -> dict[str, np.ndarray]:
    files = sorted(p for p in recordings.iterdir() if p.suffix == ".wav")
    if not files:
        raise TinyconvError(f"{recordings}: no .wav recordings")
    clips, labels, is_test = [], [], []
    for path in files:
        m = _NAME.match(path.name)
        if m is None:
            raise TinyconvError(f"{path}: name is not <digit>_<speaker>_<index>.wav")
        clips.append(fit_clip(read_wav(path, CONFIG.sample_rate), CONFIG.clip_samples))
        labels.append(int(m.group(1)))
        is_test.append(int(m.group(3)) < 5)
    feats = mfcc(np.stack(clips), CONFIG)
    y, test = np.array(labels, np.int32), np.array(is_test)
    lo = np.percentile(feats[~test], 1, axis=(0, 1))
    hi = np.percentile(feats[~test], 99, axis=(0, 1))
    scaled = np.clip((feats - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)[..., None]
    return {"x_train": scaled[~test], "y_train": y[~test], "x_test": scaled[test], "y_test": y[test],
            "lo": lo.astype(np.float32), "hi": hi.astype(np.float32)}
