"""MFCC features in numpy: the keyword-spotting "image" a DS-CNN-style net takes.

The layout follows the MLPerf Tiny / "Hello Edge" KWS front end: a 1 s clip, 40 ms frames
every 20 ms (49 frames), a power spectrum, 40 mel bands, log, and the first 10 DCT-II
coefficients, giving a 49x10 map. Only the sample rate differs (FSDD is 8 kHz, so the
frames are 320 samples with a 512-point FFT and the mel bands stop at 4 kHz).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class MfccConfig:
    sample_rate: int = 8000
    clip_seconds: float = 1.0
    frame_seconds: float = 0.040
    hop_seconds: float = 0.020
    n_fft: int = 512
    n_mels: int = 40
    n_mfcc: int = 10
    fmin: float = 20.0
    log_floor: float = 1e-6   # keeps log() finite on digital silence (zero padding)

    @property
    def clip_samples(self) -> int:
        return int(round(self.clip_seconds * self.sample_rate))

    @property
    def frame(self) -> int:
        return int(round(self.frame_seconds * self.sample_rate))

    @property
    def hop(self) -> int:
        return int(round(self.hop_seconds * self.sample_rate))

    @property
    def n_frames(self) -> int:
        return 1 + (self.clip_samples - self.frame) // self.hop

    @cached_property
    def mel_matrix(self) -> np.ndarray:
        return mel_filterbank(self.n_mels, self.n_fft, self.sample_rate, self.fmin,
                              self.sample_rate / 2)

    @cached_property
    def dct_matrix(self) -> np.ndarray:
        return dct_ii(self.n_mels, self.n_mfcc)


def hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, np.float64) / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, np.float64) / 2595.0) - 1.0)


def mel_filterbank(n_mels: int, n_fft: int, sample_rate: int, fmin: float, fmax: float) -> np.ndarray:
    """[n_mels, n_fft//2 + 1] triangular filters equally spaced on the HTK mel scale."""
    bins_hz = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins_hz[None, :] - lower) / (centre - lower)
    falling = (upper - bins_hz[None, :]) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)


def dct_ii(n_in: int, n_out: int) -> np.ndarray:
    """[n_in, n_out] orthonormal DCT-II basis (scipy.fft.dct(..., norm='ortho') columns)."""
    k = np.arange(n_out)[None, :]
    n = np.arange(n_in)[:, None]
    basis = np.cos(np.pi * k * (2 * n + 1) / (2 * n_in)) * np.sqrt(2.0 / n_in)
    basis[:, 0] /= np.sqrt(2.0)
    return basis.astype(np.float32)


def fit_clip(signal: np.ndarray, length: int) -> np.ndarray:
    """Centre the utterance in a fixed-length window: zero-pad short clips on both sides,
    keep the middle of long ones (FSDD clips are trimmed, so the word is in the middle)."""
    n = len(signal)
    if n >= length:
        start = (n - length) // 2
        return signal[start:start + length]
    out = np.zeros(length, signal.dtype)
    start = (length - n) // 2
    out[start:start + n] = signal
    return out


def mfcc(clips: np.ndarray, config: MfccConfig = MfccConfig()) -> np.ndarray:
    """clips float [N, clip_samples] in [-1, 1] -> float32 [N, n_frames, n_mfcc]."""
    # In chunks: the complex spectra of 3,000 clips at once would need ~600 MB.
    return np.concatenate([_mfcc(clips[i:i + 128], config) for i in range(0, len(clips), 128)]
                          or [np.zeros((0, config.n_frames, config.n_mfcc), np.float32)])


def _mfcc(clips: np.ndarray, config: MfccConfig) -> np.ndarray:
    frames = np.lib.stride_tricks.sliding_window_view(clips, config.frame, axis=-1)[:, ::config.hop]
    window = np.hanning(config.frame + 1)[:-1].astype(np.float32)  # periodic Hann
    spectrum = np.fft.rfft(frames * window, n=config.n_fft, axis=-1)
    power = (spectrum.real ** 2 + spectrum.imag ** 2).astype(np.float32)
    log_mel = np.log(power @ config.mel_matrix.T + config.log_floor)
    return (log_mel @ config.dct_matrix).astype(np.float32)
