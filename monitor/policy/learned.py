"""The learned policy classifiers: one logistic regression per category, shipped as package data.

The model file (``monitor/data/policy_model.npz``) is written by ``monitor.policy.train`` and
read here with numpy only (no scikit-learn at run time), once per process. It holds, per
category, the non-zero weights over the hashed feature space of ``features.py``, a bias, the
decision threshold chosen by cross-validation on the training corpora, and the known-word list
the feature extractor needs. A small network reads the post's word-piece embedding
(``embedding.py``): one hidden layer shared by the categories (``EmbeddingHead``), then per
category a linear output blended into the hashed model's log-odds with weight ``blend``.
``fingerprint()`` (SHA-256 of the file) is part of the policy version, so retraining the model
supersedes findings like any rule change.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from monitor.config import PolicySettings
from monitor.domain import PostContext
from monitor.policy.base import Analysis
from monitor.policy.features import DEFAULT_CHAR_NGRAMS, FeatureExtractor

MODEL_FILE = "policy_model.npz"


def model_path() -> Path:
    """Where the shipped model lives inside the installed package."""
    return Path(str(resources.files("monitor") / "data" / MODEL_FILE))


@dataclass(frozen=True)
class CategoryModel:
    """One category's weights (dense over the hashing space), bias and threshold; optionally a
    head over the post embedding (``dense``, ``dense_bias``) blended in with weight ``blend``:
    log-odds = (1 - blend) * hashed + blend * dense."""

    weights: np.ndarray
    bias: float
    threshold: float
    dense: np.ndarray | None = None
    dense_bias: float = 0.0
    blend: float = 0.0

    def probability(
        self, indices: list[int], values: list[float], vector: np.ndarray | None = None
    ) -> float:
        z = float(np.dot(self.weights[indices], values)) + self.bias if indices else self.bias
        if self.dense is not None and self.blend:
            if vector is None:
                raise ValueError("this model needs the post's embedding vector")
            zd = float(self.dense @ vector) + self.dense_bias
            z = (1.0 - self.blend) * z + self.blend * zd
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@dataclass(frozen=True)
class EmbeddingHead:
    """The hidden layer over the post embedding, shared by every category's output."""

    weights: np.ndarray  # embedding dims x hidden units
    bias: np.ndarray

    def hidden(self, vectors: np.ndarray) -> np.ndarray:
        """ReLU activations of one vector, or of each row of a matrix."""
        return np.maximum(vectors @ self.weights + self.bias, 0.0)


class LearnedModel:
    """All categories' classifiers plus what the feature extractor needs."""

    def __init__(
        self,
        bits: int,
        known_words: list[str],
        categories: dict[str, CategoryModel],
        meta: dict[str, Any],
        head: EmbeddingHead | None = None,
    ) -> None:
        self.bits = bits
        self.known_words = known_words
        self.categories = categories
        self.meta = meta
        self.head = head

    @property
    def char_ngrams(self) -> tuple[int, ...]:
        """The char n-gram sizes the model was trained with (older models: 3, 4, 5)."""
        return tuple(int(n) for n in self.meta.get("char_ngrams", DEFAULT_CHAR_NGRAMS))

    @cached_property
    def modes(self) -> dict[str, str]:
        """Per category, how it is decided (older models: "or"); read on every post, so kept.

        "or": hand rules OR classifier; "clf": the classifier alone, the hand rules' findings
        of the category serving as its evidence; "rules": the hand rules alone.
        """
        return {c: str(self.meta.get("modes", {}).get(c, "or")) for c in self.categories}

    def extractor(self, settings: PolicySettings) -> FeatureExtractor:
        return FeatureExtractor(settings, self.known_words, self.bits, self.char_ngrams)

    @property
    def embeds(self) -> bool:
        """Whether any category reads the post embedding."""
        return any(m.dense is not None and m.blend for m in self.categories.values())

    def post_vector(self, text: str) -> np.ndarray | None:
        """What the categories' dense outputs read: the post's embedding through the hidden
        layer (the embedding itself for a model without one); None if the model reads none.
        Loads the embedding on first use."""
        if not self.embeds:
            return None
        from monitor.policy.embedding import shipped_embedding

        vector = shipped_embedding().vector(text)
        return self.head.hidden(vector) if self.head is not None else vector

    def probabilities(
        self, extractor: FeatureExtractor, post: PostContext, analysis: Analysis, hits: set[str]
    ) -> dict[str, float]:
        indices, values = extractor.vector(post, analysis, hits)
        vector = self.post_vector(post.text)
        return {c: m.probability(indices, values, vector) for c, m in self.categories.items()}

    def save(self, path: Path) -> None:
        """Write the model as a compressed ``.npz`` (sparse weights, no pickles)."""
        arrays: dict[str, np.ndarray] = {
            "known_words": np.array(sorted(self.known_words), dtype=np.str_),
            "meta": np.array(json.dumps(self.meta, sort_keys=True)),
            "bits": np.array(self.bits, dtype=np.int64),
        }
        if self.head is not None:
            arrays["head.weights"] = self.head.weights.astype(np.float32)
            arrays["head.bias"] = self.head.bias.astype(np.float32)
        for name, m in self.categories.items():
            nz = np.flatnonzero(m.weights).astype(np.int32)
            arrays[f"{name}.indices"] = nz
            arrays[f"{name}.values"] = m.weights[nz].astype(np.float32)
            arrays[f"{name}.bias_threshold"] = np.array([m.bias, m.threshold], dtype=np.float64)
            if m.dense is not None:
                arrays[f"{name}.dense"] = m.dense.astype(np.float32)
                arrays[f"{name}.dense_bias_blend"] = np.array(
                    [m.dense_bias, m.blend], dtype=np.float64
                )
        with path.open("wb") as f:
            np.savez_compressed(f, **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Path) -> LearnedModel:
        with np.load(path, allow_pickle=False) as data:
            bits = int(data["bits"])
            known = [str(w) for w in data["known_words"]]
            meta = json.loads(str(data["meta"]))
            categories = {}
            head = None
            if "head.weights" in data.files:
                head = EmbeddingHead(
                    np.asarray(data["head.weights"], dtype=np.float32),
                    np.asarray(data["head.bias"], dtype=np.float32),
                )
            for key in data.files:
                if not key.endswith(".indices"):
                    continue
                name = key.removesuffix(".indices")
                weights = np.zeros(1 << bits, dtype=np.float32)
                weights[data[key]] = data[f"{name}.values"]
                bias, threshold = (float(v) for v in data[f"{name}.bias_threshold"])
                dense, dense_bias, blend = None, 0.0, 0.0
                if f"{name}.dense" in data.files:
                    dense = np.asarray(data[f"{name}.dense"], dtype=np.float32)
                    dense_bias, blend = (float(v) for v in data[f"{name}.dense_bias_blend"])
                categories[name] = CategoryModel(weights, bias, threshold, dense, dense_bias, blend)
        return cls(bits, known, categories, meta, head)


@lru_cache(maxsize=1)
def shipped_model() -> LearnedModel:
    """The model shipped with the package, loaded once per process."""
    return LearnedModel.load(model_path())


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """SHA-256 (first 16 hex digits) of the shipped model file; "absent" if not shipped."""
    path = model_path()
    if not path.exists():
        return "absent"
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
