"""Condition encoders f_X: X → c for the X2I student (text and audio; images use S_E directly)."""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import DataError

SILENCE_PEAK = 1e-3  # same threshold as gandistill.data.load_wav


def mel_filterbank(n_fft: int, n_mels: int, sample_rate: int, fmin: float = 0.0, fmax: float | None = None):
    """[n_mels, n_fft//2 + 1] triangular filters on the HTK mel scale."""
    fmax = fmax or sample_rate / 2
    mel = lambda f: 2595.0 * math.log10(1.0 + f / 700.0)  # noqa: E731
    pts = torch.linspace(mel(fmin), mel(fmax), n_mels + 2)
    hz = 700.0 * (10 ** (pts / 2595.0) - 1.0)
    freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    lo, mid, hi = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    up = (freqs[None] - lo) / (mid - lo).clamp_min(1e-5)
    down = (hi - freqs[None]) / (hi - mid).clamp_min(1e-5)
    return torch.clamp(torch.minimum(up, down), min=0.0)


class AudioEncoder(nn.Module):
    """Waveform [N, T] (mono, float in [-1, 1]) → log-mel (``torch.stft``) → small CNN → c."""

    def __init__(self, c_dim: int, sample_rate: int = 16000, n_fft: int = 512, hop: int = 160, n_mels: int = 40,
                 width: int = 32):
        super().__init__()
        self.sample_rate, self.n_fft, self.hop = sample_rate, n_fft, hop
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.register_buffer("mel", mel_filterbank(n_fft, n_mels, sample_rate), persistent=False)
        chans = [1, width, width * 2, width * 2]
        layers = []
        for a, b in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv2d(a, b, 3, stride=2, padding=1), nn.LeakyReLU(0.2)]
        self.cnn = nn.Sequential(*layers)
        self.out = nn.Linear(chans[-1] * 2, c_dim)

    def log_mel(self, wave: torch.Tensor) -> torch.Tensor:
        if wave.ndim != 2:
            raise DataError(f"audio must be [N, samples] mono waveforms, got shape {list(wave.shape)}")
        if wave.shape[1] < self.n_fft:
            raise DataError(f"audio clips need at least {self.n_fft} samples, got {wave.shape[1]}")
        peak = wave.abs().amax(dim=1)
        if (peak < SILENCE_PEAK).any():
            i = int((peak < SILENCE_PEAK).nonzero()[0])
            raise DataError(f"audio clip {i} of the batch is silent (peak {float(peak[i]):.2g}); "
                            "give a clip with sound")
        spec = torch.stft(wave.float(), self.n_fft, self.hop, window=self.window, return_complex=True).abs().square()
        return torch.log(self.mel @ spec + 1e-6)  # [N, n_mels, frames]

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        m = self.log_mel(wave)
        m = (m - m.mean(dim=(1, 2), keepdim=True)) / (m.std(dim=(1, 2), keepdim=True) + 1e-5)
        h = self.cnn(m.unsqueeze(1))
        h = torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)
        return self.out(h)


class TextHead(nn.Module):
    """Frozen sentence embedding [N, text_dim] → MLP → c (the embedding model itself is not part of
    the student: see ``gandistill.kdit.text``)."""

    def __init__(self, text_dim: int, c_dim: int, hidden: int = 256):
        super().__init__()
        self.text_dim = text_dim
        self.net = nn.Sequential(nn.Linear(text_dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden),
                                 nn.LeakyReLU(0.2), nn.Linear(hidden, c_dim))
        # captions of one domain share most of their embedding (mean cosine ≈ 0.7 on toyfaces): centring on the
        # training captions lets the MLP see their differences
        self.register_buffer("emb_mean", torch.zeros(text_dim))
        self.register_buffer("emb_scale", torch.ones(()))

    @torch.no_grad()
    def set_statistics(self, emb: torch.Tensor) -> None:
        """Centre and scale inputs with the training captions' (unit-normalised) embeddings."""
        e = F.normalize(emb.float(), dim=1)
        self.emb_mean.copy_(e.mean(0))
        self.emb_scale.copy_((e - e.mean(0)).std(0).mean().clamp_min(1e-4) if len(e) > 1 else torch.ones(()))

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        if emb.ndim != 2 or emb.shape[1] != self.text_dim:
            raise DataError(f"text condition must be sentence embeddings [N, {self.text_dim}], got "
                            f"{list(emb.shape)}; embed captions with gandistill.kdit.text.SentenceEmbedder")
        return self.net((F.normalize(emb, dim=1) - self.emb_mean) / self.emb_scale)
