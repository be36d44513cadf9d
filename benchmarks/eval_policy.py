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
    python benchmarks/eval_policy.py --loco --groups 0     # one fold per corpus (slow)
    python benchmarks/eval_policy.py --loco --char-ngrams '' --l2 1e-3   # other settings

``--loco`` measures generalization across writers: the labeled corpora (held-out included) are
dealt into folds of writers (``--groups``, default the training's 8; 0: one per corpus), each
fold is left out in turn, the classifiers are trained on the others (thresholds and per-category
modes chosen by leave-one-fold-out within those, ``monitor/policy/train.py``) and the left-out
fold is scored three ways: hand rules alone, classifier alone (after the learned rules'
runtime vetoes), and combined (what the scanner does). ``policy_holdout`` is a fold of its own:
the "trained on every other corpus, tested on the held-out" figure; the pooled table sums every
fold's counts.

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


def loco(
    holdout: Path = ROOT / "tests" / "data" / "policy_holdout.jsonl",
    chars: tuple[int, ...] | None = None,
    l2: float | None = None,
    groups: int = 0,
    blend: float | None = None,
) -> str:
    """Leave-one-group-out over every labeled corpus (held-out included), as printable tables.

    The corpora are dealt into ``groups`` folds (``train.grouped``; 0: one fold per corpus).
    Each fold in turn is scored by a model trained on all the others, its thresholds and modes
    chosen by leave-one-fold-out *within* those others. ``policy_holdout`` is always a fold of
    its own: the "train without the held-out, test on it" figure. Pooled figures sum every
    fold's counts.
    """
    from monitor.policy import train as T

    paths = T.corpora()
    per_corpus = {p.stem: T.load_examples(p) for p in paths}
    examples = T.grouped(per_corpus, groups) if groups else per_corpus
    fits = T.CorpusFits(
        examples,
        chars=T.CHAR_NGRAMS if chars is None else chars,
        l2=T.L2 if l2 is None else l2,
        blend=T.BLEND if blend is None else blend,
    )
    blocks = []
    pooled: dict[str, dict[str, tuple[list[bool], list[bool]]]] = {}
    for test_name in examples:
        train_names = [n for n in examples if n != test_name]
        test = examples[test_name]
        decisions = fits.decisions(train_names)
        probs = fits.out_of_corpus(test_name)
        rows: list[tuple[str, str, Score | float | str]] = []
        for j, cat in enumerate(CATEGORIES):
            mode, threshold = decisions[cat]
            labels = [cat in ex.labels for ex in test]
            rules = [ex.rule_says(cat) for ex in test]
            clf = list((probs[:, j] >= threshold) & ~T.runtime_veto(test, cat))
            both = {
                "rules": rules,
                "clf": clf,
                "or": [a or b for a, b in zip(rules, clf, strict=True)],
            }[mode]
            for name, flags in (("rules", rules), ("classifier", clf), ("combined", both)):
                rows.append((cat, name, _score([bool(f) for f in flags], labels)))
                f, lab = pooled.setdefault(name, {}).setdefault(cat, ([], []))
                f.extend(bool(x) for x in flags)
                lab.extend(labels)
            rows.append((cat, "threshold", threshold))
            rows.append((cat, "mode", mode))
        title = f"test {test_name} ({len(test)} posts; trained on the {len(train_names)} others)"
        if test_name == holdout.stem:
            title = "HELD-OUT: " + title
        blocks.append(_table(title, rows))
    pooled_rows: list[tuple[str, str, Score | float | str]] = [
        (cat, mode, _score(*pooled[mode][cat]))
        for cat in CATEGORIES
        for mode in ("rules", "classifier", "combined")
    ]
    n = sum(len(v) for v in examples.values())
    settings = (
        f"char n-grams {list(fits.chars) or 'none'}, l2 {fits.l2:g}, embedding blend {fits.blend:g}"
    )
    blocks.append(
        _table(
            f"leave-one-fold-out, pooled over {len(examples)} folds of {len(per_corpus)} corpora,"
            f" {n} posts ({settings})",
            pooled_rows,
        )
    )
    return "\n\n".join(blocks)


def _table(title: str, rows: list[tuple[str, str, Score | float | str]]) -> str:
    lines = [title, f"{'category':<20} {'mode':<11} {'sup':>4} {'P':>6} {'R':>6} {'F1':>6}"]
    for cat, mode, s in rows:
        if isinstance(s, Score):
            lines.append(
                f"{cat:<20} {mode:<11} {s.support:>4} {s.precision:>6.3f} {s.recall:>6.3f}"
                f" {s.f1:>6.3f}"
            )
        elif isinstance(s, float):
            lines.append(f"{cat:<20} {mode:<11} {'':>4} {s:>6.3f}")
        else:
            lines.append(f"{cat:<20} {mode:<11} {'':>4} {s:>6}")
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
    parser.add_argument(
        "--char-ngrams", default=None, help="--loco: char n-gram sizes, e.g. '3,4,5' or ''"
    )
    parser.add_argument("--l2", type=float, default=None, help="--loco: L2 strength")
    parser.add_argument(
        "--blend", type=float, default=None, help="--loco: embedding head's weight (0: off)"
    )
    parser.add_argument(
        "--groups",
        type=int,
        default=None,
        help="--loco: folds of corpora (default: as training does; 0: one per corpus)",
    )
    args = parser.parse_args(argv)
    if args.loco:
        chars = None
        if args.char_ngrams is not None:
            chars = tuple(int(n) for n in args.char_ngrams.split(",") if n.strip())
        from monitor.policy.train import GROUPS

        groups = GROUPS if args.groups is None else args.groups
        print(loco(chars=chars, l2=args.l2, groups=groups, blend=args.blend))
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
