"""The learned policy classifiers: one logistic regression per category, shipped as package data.

The model file (``monitor/data/policy_model.npz``) is written by ``monitor.policy.train`` and
read here with numpy only (no scikit-learn at run time), once per process. It holds, per
category, the non-zero weights over the hashed feature space of ``features.py``, a bias, the
decision threshold chosen by cross-validation on the training corpora, and the known-word list
the feature extractor needs. ``fingerprint()`` (SHA-256 of the file) is part of the policy
version, so retraining the model supersedes findings like any rule change.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import lru_cache
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
    """One category's weights (dense over the hashing space), bias and threshold."""

    weights: np.ndarray
    bias: float
    threshold: float

    def probability(self, indices: list[int], values: list[float]) -> float:
        z = float(np.dot(self.weights[indices], values)) + self.bias if indices else self.bias
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


class LearnedModel:
    """All categories' classifiers plus what the feature extractor needs."""

    def __init__(
        self,
        bits: int,
        known_words: list[str],
        categories: dict[str, CategoryModel],
        meta: dict[str, Any],
    ) -> None:
        self.bits = bits
        self.known_words = known_words
        self.categories = categories
        self.meta = meta

    @property
    def char_ngrams(self) -> tuple[int, ...]:
        """The char n-gram sizes the model was trained with (older models: 3, 4, 5)."""
        return tuple(int(n) for n in self.meta.get("char_ngrams", DEFAULT_CHAR_NGRAMS))

    @property
    def modes(self) -> dict[str, str]:
        """Per category, how it is decided (older models: "or").

        "or": hand rules OR classifier; "clf": the classifier alone, the hand rules' findings
        of the category serving as its evidence; "rules": the hand rules alone.
        """
        return {c: str(self.meta.get("modes", {}).get(c, "or")) for c in self.categories}

    def extractor(self, settings: PolicySettings) -> FeatureExtractor:
        return FeatureExtractor(settings, self.known_words, self.bits, self.char_ngrams)

    def probabilities(
        self, extractor: FeatureExtractor, post: PostContext, analysis: Analysis, hits: set[str]
    ) -> dict[str, float]:
        indices, values = extractor.vector(post, analysis, hits)
        return {c: m.probability(indices, values) for c, m in self.categories.items()}

    def save(self, path: Path) -> None:
        """Write the model as a compressed ``.npz`` (sparse weights, no pickles)."""
        arrays: dict[str, np.ndarray] = {
            "known_words": np.array(sorted(self.known_words), dtype=np.str_),
            "meta": np.array(json.dumps(self.meta, sort_keys=True)),
            "bits": np.array(self.bits, dtype=np.int64),
        }
        for name, m in self.categories.items():
            nz = np.flatnonzero(m.weights).astype(np.int32)
            arrays[f"{name}.indices"] = nz
            arrays[f"{name}.values"] = m.weights[nz].astype(np.float32)
            arrays[f"{name}.bias_threshold"] = np.array([m.bias, m.threshold], dtype=np.float64)
        with path.open("wb") as f:
            np.savez_compressed(f, **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Path) -> LearnedModel:
        with np.load(path, allow_pickle=False) as data:
            bits = int(data["bits"])
            known = [str(w) for w in data["known_words"]]
            meta = json.loads(str(data["meta"]))
            categories = {}
            for key in data.files:
                if not key.endswith(".indices"):
                    continue
                name = key.removesuffix(".indices")
                weights = np.zeros(1 << bits, dtype=np.float32)
                weights[data[key]] = data[f"{name}.values"]
                bias, threshold = (float(v) for v in data[f"{name}.bias_threshold"])
                categories[name] = CategoryModel(weights, bias, threshold)
        return cls(bits, known, categories, meta)


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
