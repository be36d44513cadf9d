"""Train, cross-validate and ship the learned policy classifiers.

    python -m monitor.policy.train                 # train on every corpus, write the model
    python -m monitor.policy.train --exclude tests/data/policy_holdout.jsonl --out /tmp/m.npz

Reproducible: full-batch logistic regression (L2, Adam, fixed iteration count, zero start) in
numpy, no randomness, corpora read in the order given. Each labeled corpus (``*.jsonl`` with a
sibling ``.toml`` holding its ``[policy]``) is one practice written by one writer; thresholds
are chosen by leave-one-corpus-out predictions *within the training corpora*, never on a corpus
being tested. ``benchmarks/eval_policy.py --loco`` prints the measurements.

The shipped model (``monitor/data/policy_model.npz``) is trained on every labeled corpus,
including ``policy_holdout.jsonl``: the held-out figures in the report come from a model
trained without it (``--exclude``), measured first; only then was the holdout added, to give
the unseen grading corpus more data.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from monitor.config import PolicySettings, load_config
from monitor.domain import Author, Category, Channel, PostContext
from monitor.policy.base import Analysis
from monitor.policy.features import DEFAULT_BITS, FeatureExtractor
from monitor.policy.learned import CategoryModel, LearnedModel, model_path

CATEGORIES = [c.value for c in Category]
ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
L2 = 1e-4
ITERATIONS = 400
LEARNING_RATE = 0.05
# Decision rule per category: privacy wants recall (>= 0.95 with precision >= 0.85), the
# others F1. Thresholds are picked on out-of-corpus predictions of the training corpora.
RECALL_FIRST = {Category.PATIENT_PRIVACY.value: 0.95}
PRIVACY_PRECISION = 0.85


@dataclass
class Example:
    """One labeled post with its analysis and the hand-written rules' hits."""

    post: PostContext
    labels: set[str]
    corpus: str
    settings: PolicySettings
    analysis: Analysis
    hits: set[str]  # ids of hand-written rules that fired (enabled or not)

    def rule_says(self, category: str) -> bool:
        return any(_rule_category(h) == category for h in self.hits)


def _rule_category(rule_id: str) -> str:
    from monitor.policy.rules.registry import RULES

    return str(RULES[rule_id].category)


def corpora(exclude: Sequence[Path] = ()) -> list[Path]:
    """The labeled corpora under ``tests/data`` (sorted), minus ``exclude``."""
    skip = {p.resolve() for p in exclude}
    return [
        p
        for p in sorted(DATA.glob("policy_*.jsonl"))
        if p.resolve() not in skip and p.with_suffix(".toml").exists()
    ]


def read_corpus(path: Path) -> list[tuple[PostContext, set[str]]]:
    """Posts and label sets of one JSONL corpus."""
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        author = row.get("author") or {}
        post = PostContext(
            id=str(row["id"]),
            text=row["text"],
            platform=row.get("platform", ""),
            channel=Channel(row.get("channel", "public")),
            author=Author(
                name=author.get("name", ""), role=author.get("role", ""), bio=author.get("bio", "")
            ),
        )
        items.append((post, set(row.get("labels") or [])))
    return items


def load_examples(path: Path, *, ner: bool = True) -> list[Example]:
    """A corpus with full analyses and the hits of every hand-written rule."""
    from monitor.policy.analyzer import PostAnalyzer
    from monitor.policy.policy import hand_rule_hits, signal_rules

    settings = load_config(str(path.with_suffix(".toml"))).policy
    items = read_corpus(path)
    analyses = PostAnalyzer(settings, ner=ner).analyze([p for p, _ in items])
    rules = signal_rules(settings)
    out = []
    for (post, labels), analysis in zip(items, analyses, strict=True):
        hits, _ = hand_rule_hits(rules, post, analysis)
        out.append(Example(post, labels, path.stem, settings, analysis, hits))
    return out


_LOWER_WORD = re.compile(r"(?<![\w@#])[a-z][a-z'’]+")


def known_words(examples: Sequence[Example], min_count: int = 2) -> list[str]:
    """Words seen in lower case at least ``min_count`` times (bios included)."""
    counts: Counter[str] = Counter()
    for ex in examples:
        counts.update(_LOWER_WORD.findall(ex.post.text))
        counts.update(_LOWER_WORD.findall(ex.post.author.bio))
    return sorted(w for w, n in counts.items() if n >= min_count)


@dataclass
class Matrix:
    """A CSR matrix built from the extractor's (indices, values) rows."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    columns: int

    @property
    def rows(self) -> int:
        return len(self.indptr) - 1

    def dot(self, w: np.ndarray) -> np.ndarray:
        return np.add.reduceat(w[self.indices] * self.data, self.indptr[:-1])

    def t_dot(self, r: np.ndarray) -> np.ndarray:
        per = np.repeat(r, np.diff(self.indptr))
        return np.bincount(self.indices, weights=self.data * per, minlength=self.columns)


def matrix(examples: Sequence[Example], words: Sequence[str], bits: int = DEFAULT_BITS) -> Matrix:
    extractors: dict[int, FeatureExtractor] = {}
    indptr, indices, data = [0], [], []
    for ex in examples:
        key = id(ex.settings)
        if key not in extractors:
            extractors[key] = FeatureExtractor(ex.settings, words, bits)
        idx, val = extractors[key].vector(ex.post, ex.analysis, ex.hits)
        indices.extend(idx)
        data.extend(val)
        indptr.append(len(indices))
    return Matrix(
        np.array(indptr, dtype=np.int64),
        np.array(indices, dtype=np.int64),
        np.array(data, dtype=np.float64),
        1 << bits,
    )


def fit(x: Matrix, y: np.ndarray, l2: float = L2, iterations: int = ITERATIONS) -> np.ndarray:
    """Class-balanced L2 logistic regression by full-batch Adam; weights[-1] is the bias."""
    # Work on the columns that occur (the rest keep weight zero): much smaller vectors.
    used, local = np.unique(x.indices, return_inverse=True)
    small = Matrix(x.indptr, local.reshape(-1), x.data, len(used))
    w_small = _fit_dense(small, y, l2, iterations)
    w = np.zeros(x.columns + 1)
    w[used] = w_small[:-1]
    w[-1] = w_small[-1]
    return w


def _fit_dense(x: Matrix, y: np.ndarray, l2: float, iterations: int) -> np.ndarray:
    pos = max(1.0, float(y.sum()))
    neg = max(1.0, float(len(y) - y.sum()))
    sample = np.where(y > 0, len(y) / (2 * pos), len(y) / (2 * neg))
    w = np.zeros(x.columns + 1)
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    b1, b2, eps = 0.9, 0.999, 1e-8
    for t in range(1, iterations + 1):
        z = x.dot(w[:-1]) + w[-1]
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        r = (p - y) * sample / len(y)
        g = np.empty_like(w)
        g[:-1] = x.t_dot(r) + l2 * w[:-1]
        g[-1] = r.sum()
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        step = LEARNING_RATE * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        # Columns never seen stay exactly zero (their gradient is only the L2 term of zero).
        w -= step
    return w


def predict(x: Matrix, w: np.ndarray) -> np.ndarray:
    z = x.dot(w[:-1]) + w[-1]
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def _prf(pred: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    tp = float((pred & (y > 0)).sum())
    fp = float((pred & (y == 0)).sum())
    fn = float((~pred & (y > 0)).sum())
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def choose_threshold(category: str, probs: np.ndarray, y: np.ndarray, rules: np.ndarray) -> float:
    """The threshold for "rules OR classifier" that best meets the category's target."""
    best, best_key = 0.5, (-1.0, -1.0)
    for t in np.arange(0.05, 0.951, 0.025):
        pred = rules | (probs >= t)
        p, r, f = _prf(pred, y)
        # Privacy: meet both targets if some threshold does, else (and elsewhere) best F1: a
        # recall bought with a flood of false alarms is not what a reviewer can use.
        target = RECALL_FIRST.get(category)
        met = target is not None and r >= target and p >= PRIVACY_PRECISION
        key = (float(met), f)
        if key > best_key:
            best, best_key = float(t), key
    return round(best, 3)


def _labels(examples: Sequence[Example], category: str) -> np.ndarray:
    return np.array([category in ex.labels for ex in examples], dtype=np.float64)


def _rules(examples: Sequence[Example], category: str) -> np.ndarray:
    return np.array([ex.rule_says(category) for ex in examples], dtype=bool)


def out_of_corpus_probabilities(
    examples: Sequence[Example], bits: int = DEFAULT_BITS
) -> dict[str, np.ndarray]:
    """Each example's probability from a model trained without its own corpus."""
    names = sorted({ex.corpus for ex in examples})
    out = {c: np.zeros(len(examples)) for c in CATEGORIES}
    for left in names:
        train = [ex for ex in examples if ex.corpus != left]
        test_idx = [i for i, ex in enumerate(examples) if ex.corpus == left]
        words = known_words(train)
        xt = matrix(train, words, bits)
        xs = matrix([examples[i] for i in test_idx], words, bits)
        for c in CATEGORIES:
            w = fit(xt, _labels(train, c))
            out[c][test_idx] = predict(xs, w)
    return out


def train(
    examples: Sequence[Example], bits: int = DEFAULT_BITS, thresholds: bool = True
) -> LearnedModel:
    """Fit every category on ``examples``; thresholds from leave-one-corpus-out within them."""
    words = known_words(examples)
    x = matrix(examples, words, bits)
    chosen: dict[str, float] = {c: 0.5 for c in CATEGORIES}
    if thresholds and len({ex.corpus for ex in examples}) > 1:
        oof = out_of_corpus_probabilities(examples, bits)
        for c in CATEGORIES:
            chosen[c] = choose_threshold(c, oof[c], _labels(examples, c), _rules(examples, c))
    categories = {}
    for c in CATEGORIES:
        w = fit(x, _labels(examples, c))
        categories[c] = CategoryModel(w[:-1].astype(np.float32), float(w[-1]), chosen[c])
    meta = {
        "trained_on": sorted({ex.corpus for ex in examples}),
        "posts": len(examples),
        "l2": L2,
        "iterations": ITERATIONS,
        "thresholds": chosen,
    }
    return LearnedModel(bits, words, categories, meta)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the learned policy classifiers.")
    parser.add_argument("--exclude", type=Path, action="append", default=[])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    examples: list[Example] = []
    for path in corpora(args.exclude):
        examples += load_examples(path)
    model = train(examples)
    out = args.out or model_path()
    model.save(out)
    print(f"wrote {out} ({out.stat().st_size} bytes) from {len(examples)} posts")
    print(json.dumps(model.meta, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
