"""Measure the policy's accuracy on a labeled corpus: precision, recall and F1 per category.

Runs the real scanner (presidio patterns + spaCy NER where the rules need it + the policy) on
every post of a JSONL corpus (``id, platform, channel, author{name, role, bio}, text, labels``)
under the ``[policy]`` of a config file, and compares, per category, the set of posts flagged
with the set of posts labeled. A post counts once per category however many findings it has.

    python benchmarks/eval_policy.py                       # the dev corpus
    python benchmarks/eval_policy.py --corpus tests/data/policy_holdout.jsonl
    python benchmarks/eval_policy.py --check               # exit 1 below the issue's targets
    python benchmarks/eval_policy.py --errors              # list misses (dev corpus only!)
    python benchmarks/eval_policy.py --loco                # learned rules: cross-corpus figures

``--loco`` measures generalization across writers: every labeled corpus but the held-out one is
left out in turn, the classifiers are trained on the others (thresholds chosen within those,
``monitor/policy/train.py``) and the left-out corpus is scored three ways: hand rules alone,
classifier alone, and both combined (OR, what the scanner does). Then the final test: trained
on every writer corpus, scored on ``policy_holdout.jsonl``, which no model here has seen.

Targets (issue 4): patient_privacy recall >= 0.95 with precision >= 0.85; every other category
F1 >= 0.80. ``--errors`` prints post ids and texts: never use it on a held-out corpus.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from monitor.config import PolicySettings, load_config  # noqa: E402
from monitor.domain import Author, Category, Channel, PostContext  # noqa: E402

DEFAULT_CORPUS = ROOT / "tests" / "data" / "policy_corpus.jsonl"
PRIVACY_RECALL, PRIVACY_PRECISION, OTHER_F1 = 0.95, 0.85, 0.80
CATEGORIES = [c.value for c in Category]


@dataclass
class Score:
    """Post-level counts for one category."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    support: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Report:
    """Scores per category, totals, and the misses (ids) for error analysis."""

    scores: dict[str, Score]
    posts: int
    seconds: float
    misses: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # cat -> (kind, id)

    @property
    def total(self) -> Score:
        t = Score()
        for s in self.scores.values():
            t.tp, t.fp, t.fn, t.support = (
                t.tp + s.tp,
                t.fp + s.fp,
                t.fn + s.fn,
                t.support + s.support,
            )
        return t

    def failures(self) -> list[str]:
        """The issue's targets that are not met, one line each (empty: all met)."""
        out = []
        for cat, s in self.scores.items():
            if cat == Category.PATIENT_PRIVACY.value:
                if s.recall < PRIVACY_RECALL:
                    out.append(f"{cat}: recall {s.recall:.3f} < {PRIVACY_RECALL}")
                if s.precision < PRIVACY_PRECISION:
                    out.append(f"{cat}: precision {s.precision:.3f} < {PRIVACY_PRECISION}")
            elif s.f1 < OTHER_F1:
                out.append(f"{cat}: F1 {s.f1:.3f} < {OTHER_F1}")
        return out


def read_corpus(path: Path) -> list[tuple[PostContext, set[str]]]:
    """Posts and their label sets; a label outside the five categories is an error."""
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        author = row.get("author") or {}
        labels = set(row.get("labels") or [])
        unknown = labels - set(CATEGORIES)
        if unknown:
            raise SystemExit(f"{path}:{number}: unknown labels {sorted(unknown)}")
        post = PostContext(
            id=str(row["id"]),
            text=row["text"],
            platform=row.get("platform", ""),
            channel=Channel(row.get("channel", "public")),
            author=Author(
                name=author.get("name", ""), role=author.get("role", ""), bio=author.get("bio", "")
            ),
        )
        items.append((post, labels))
    return items


def policy_settings(corpus: Path, config: Path | None) -> PolicySettings:
    """The ``[policy]`` of ``--config``, else of the corpus's sibling ``.toml``, else defaults."""
    path = config or corpus.with_suffix(".toml")
    if path.exists():
        return load_config(str(path)).policy
    return PolicySettings()


def evaluate(
    corpus: Path, config: Path | None = None, *, ner: bool = True, hand_only: bool = False
) -> Report:
    """Scan the corpus with the real scanner and score it per category.

    ``hand_only`` switches the learned rules off: the hand-written rules alone.
    """
    from monitor.policy.analyzer import PostAnalyzer
    from monitor.policy.policy import Policy
    from monitor.policy.rules.learned import LEARNED_RULES
    from monitor.policy.scanner import Scanner

    items = read_corpus(corpus)
    settings = policy_settings(corpus, config)
    if hand_only:
        off = [*settings.disabled_rules, *(cls.id for cls in LEARNED_RULES)]
        settings = settings.model_copy(update={"disabled_rules": off})
    scanner = Scanner(Policy.from_settings(settings), PostAnalyzer(settings, ner=ner), workers=1)
    started = time.perf_counter()
    results = scanner.scan_many([post for post, _ in items])
    seconds = time.perf_counter() - started
    scores = {cat: Score() for cat in CATEGORIES}
    misses: dict[str, list[tuple[str, str]]] = {cat: [] for cat in CATEGORIES}
    for (post, labels), findings in zip(items, results, strict=True):
        flagged = {str(f.category) for f in findings}
        for cat in CATEGORIES:
            s = scores[cat]
            s.support += cat in labels
            if cat in flagged and cat in labels:
                s.tp += 1
            elif cat in flagged:
                s.fp += 1
                misses[cat].append(("FP", post.id))
            elif cat in labels:
                s.fn += 1
                misses[cat].append(("FN", post.id))
    return Report(scores, len(items), seconds, misses)


def render(report: Report) -> str:
    lines = [
        f"{'category':<20} {'support':>7} {'tp':>4} {'fp':>4} {'fn':>4} "
        f"{'precision':>9} {'recall':>7} {'f1':>6}"
    ]
    for cat, s in [*report.scores.items(), ("total (micro)", report.total)]:
        lines.append(
            f"{cat:<20} {s.support:>7} {s.tp:>4} {s.fp:>4} {s.fn:>4} "
            f"{s.precision:>9.3f} {s.recall:>7.3f} {s.f1:>6.3f}"
        )
    lines.append(f"{report.posts} posts scanned in {report.seconds:.1f} s")
    return "\n".join(lines)


def _score(flags: list[bool], labels: list[bool]) -> Score:
    s = Score()
    for flagged, labeled in zip(flags, labels, strict=True):
        s.support += labeled
        s.tp += flagged and labeled
        s.fp += flagged and not labeled
        s.fn += labeled and not flagged
    return s


def loco(holdout: Path = ROOT / "tests" / "data" / "policy_holdout.jsonl") -> str:
    """Leave-one-corpus-out figures, then the held-out test, as printable tables."""
    from monitor.policy import train as T

    writers = T.corpora(exclude=[holdout])
    examples = {p.stem: T.load_examples(p) for p in [*writers, holdout]}
    blocks = []
    folds: list[tuple[str, list[str]]] = [
        (p.stem, [q.stem for q in writers if q != p]) for p in writers
    ]
    folds.append((holdout.stem, [p.stem for p in writers]))
    pooled: dict[str, dict[str, tuple[list[bool], list[bool]]]] = {}
    for test_name, train_names in folds:
        if not train_names:
            continue
        train = [ex for n in train_names for ex in examples[n]]
        test = examples[test_name]
        model = T.train(train)
        words = model.known_words
        x = T.matrix(test, words, model.bits)
        rows: list[tuple[str, str, Score | float]] = []
        for cat in CATEGORIES:
            m = model.categories[cat]
            w = np.concatenate([m.weights.astype(np.float64), [m.bias]])
            probs = T.predict(x, w)
            labels = [cat in ex.labels for ex in test]
            rules = [ex.rule_says(cat) for ex in test]
            clf = [bool(p >= m.threshold) for p in probs]
            both = [a or b for a, b in zip(rules, clf, strict=True)]
            for mode, flags in (("rules", rules), ("classifier", clf), ("combined", both)):
                rows.append((cat, mode, _score(flags, labels)))
                if test_name != holdout.stem:
                    f, lab = pooled.setdefault(mode, {}).setdefault(cat, ([], []))
                    f.extend(flags)
                    lab.extend(labels)
            rows.append((cat, "threshold", m.threshold))
        blocks.append(_table(f"test {test_name} (trained on {', '.join(train_names)})", rows))
    if pooled:
        pooled_rows: list[tuple[str, str, Score | float]] = [
            (cat, mode, _score(*pooled[mode][cat]))
            for cat in CATEGORIES
            for mode in ("rules", "classifier", "combined")
        ]
        blocks.insert(len(folds) - 1, _table("leave-one-corpus-out, pooled", pooled_rows))
    return "\n\n".join(blocks)


def _table(title: str, rows: list[tuple[str, str, Score | float]]) -> str:
    lines = [title, f"{'category':<20} {'mode':<11} {'sup':>4} {'P':>6} {'R':>6} {'F1':>6}"]
    for cat, mode, s in rows:
        if isinstance(s, Score):
            lines.append(
                f"{cat:<20} {mode:<11} {s.support:>4} {s.precision:>6.3f} {s.recall:>6.3f}"
                f" {s.f1:>6.3f}"
            )
        else:
            lines.append(f"{cat:<20} {mode:<11} {'':>4} {s:>6.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--config", type=Path, default=None, help="config with [policy]")
    parser.add_argument("--check", action="store_true", help="exit 1 below the targets")
    parser.add_argument("--no-ner", action="store_true", help="pattern recognizers only")
    parser.add_argument(
        "--errors", action="store_true", help="print misses with texts (dev corpus only)"
    )
    parser.add_argument("--loco", action="store_true", help="cross-corpus figures (slow)")
    parser.add_argument("--hand-only", action="store_true", help="learned rules switched off")
    args = parser.parse_args(argv)
    if args.loco:
        print(loco())
        return 0
    report = evaluate(args.corpus, args.config, ner=not args.no_ner, hand_only=args.hand_only)
    print(f"corpus: {args.corpus}")
    print(render(report))
    if args.errors:
        texts = {p.id: (p, labels) for p, labels in read_corpus(args.corpus)}
        for cat, misses in report.misses.items():
            for kind, post_id in misses:
                post, labels = texts[post_id]
                print(
                    f"[{cat} {kind}] {post_id} ({post.channel}, {post.author.role}) "
                    f"labels={sorted(labels)}: {post.text}"
                )
    failures = report.failures()
    if failures:
        print("below target: " + "; ".join(failures))
    if args.check and failures:
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
