"""WAV reading and writing with the standard-library ``wave`` module (uncompressed PCM only).

Rules (``load_wav``): 8/16/24/32-bit PCM, any channel count (averaged to mono), returned as
float32 in [-1, 1]. A sample rate other than the one asked for is an error by default
(no resampling dependency); ``resample=True`` instead resamples by linear interpolation
with a warning (fine for our tone-like clips, not for high-quality speech or music).
Clips whose peak is below ``silence_peak`` (default 1e-3, -60 dBFS) are refused as silent.
"""
from __future__ import annotations

import struct
import warnings
import wave
from pathlib import Path

import numpy as np

from ..errors import DataError

DEFAULT_SAMPLE_RATE = 16000
SILENCE_PEAK = 1e-3
_FFMPEG_HINT = "ffmpeg -i IN -ac 1 -ar {rate} -c:a pcm_s16le OUT.wav"


def write_wav(path: str | Path, audio: np.ndarray, sample_rate: int = DEFAULT_SAMPLE_RATE) -> None:
    """Write int16 (or float in [-1, 1]) samples, shape (n,) or (n, channels), as 16-bit PCM."""
    audio = np.asarray(audio)
    if audio.dtype != np.int16:
        audio = np.round(np.clip(audio.astype(np.float64), -1.0, 1.0) * 32767).astype(np.int16)
    channels = 1 if audio.ndim == 1 else audio.shape[1]
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(channels)
        wf.setsampwidth(2)
        wf.setframerate(int(sample_rate))
        wf.writeframes(audio.astype("<i2").tobytes())


def _pcm_to_float(raw: bytes, width: int) -> np.ndarray:
    if width == 1:
        return (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    if width == 2:
        return np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    if width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        return v.astype(np.float32) / float(1 << 23)
    return (np.frombuffer(raw, "<i4").astype(np.float64) / 2147483648.0).astype(np.float32)


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """(mono float32 samples, sample rate) of a PCM WAV file. Raises DataError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"audio file {path} does not exist; check the path")
    hint = _FFMPEG_HINT.format(rate=DEFAULT_SAMPLE_RATE)
    try:
        with wave.open(str(path), "rb") as wf:
            channels, width, rate, frames = wf.getnchannels(), wf.getsampwidth(), wf.getframerate(), wf.getnframes()
            raw = wf.readframes(frames)
    except (wave.Error, EOFError, struct.error, OSError) as exc:
        raise DataError(
            f"cannot read audio {path}: {exc}; it must be an uncompressed PCM WAV file (convert it: `{hint}`)"
        ) from None
    if width not in (1, 2, 3, 4) or channels < 1:
        raise DataError(f"cannot read audio {path}: {8 * width}-bit samples are not supported; convert it: `{hint}`")
    if frames == 0:
        raise DataError(f"audio file {path} has no samples; re-export it")
    if len(raw) < frames * channels * width:
        raise DataError(
            f"audio file {path} is truncated ({len(raw) // (channels * width)} of {frames} frames); re-export it"
        )
    audio = _pcm_to_float(raw, width).reshape(-1, channels).mean(axis=1)
    return audio.astype(np.float32), rate


def check_waveform(audio, sample_rate: int = DEFAULT_SAMPLE_RATE, what: str = "waveform",
                   silence_peak: float = SILENCE_PEAK) -> np.ndarray:
    """An in-memory clip as mono float32, refused (DataError) when not 1-D, empty, NaN/infinite or silent,
    with the same rules as ``load_wav`` applies to files."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1 or audio.size == 0:
        raise DataError(f"a {what} must be a non-empty 1-D array (mono, {sample_rate} Hz), got shape {list(audio.shape)}")
    bad = ~np.isfinite(audio)
    if bad.any():
        raise DataError(f"the {what} has {int(bad.sum())} NaN or infinite sample(s); pass finite float samples in "
                        "[-1, 1]")
    peak = float(np.abs(audio).max())
    if peak < silence_peak:
        raise DataError(f"the {what} is silent (peak {peak:.2g} < {silence_peak:g}); pass a clip with sound")
    return audio


def _linear_resample(audio: np.ndarray, src: int, dst: int) -> np.ndarray:
    n_out = max(1, int(round(len(audio) * dst / src)))
    t_out = np.arange(n_out) * (src / dst)
    return np.interp(t_out, np.arange(len(audio)), audio).astype(np.float32)


def load_wav(
    path: str | Path,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    *,
    resample: bool = False,
    silence_peak: float = SILENCE_PEAK,
) -> np.ndarray:
    """Mono float32 samples of ``path`` at ``sample_rate``. Raises DataError if the file is corrupt,
    silent, or at another rate (unless ``resample=True``)."""
    path = Path(path)
    audio, rate = read_wav(path)
    if rate != sample_rate:
        if not resample:
            raise DataError(
                f"audio file {path} has sample rate {rate} Hz, expected {sample_rate} Hz; resample it "
                f"(`{_FFMPEG_HINT.format(rate=sample_rate)}`) or pass resample=True"
            )
        warnings.warn(f"{path}: resampling {rate} Hz -> {sample_rate} Hz by linear interpolation", stacklevel=2)
        audio = _linear_resample(audio, rate, sample_rate)
    peak = float(np.abs(audio).max())
    if peak < silence_peak:
        raise DataError(
            f"audio file {path} is silent (peak {peak:.2g} < {silence_peak:g}); record or export it again, "
            "or remove it from the dataset"
        )
    return audio
