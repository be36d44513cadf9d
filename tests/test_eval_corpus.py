"""The labeled development corpus meets the issue's accuracy targets (a regression fails here).

Runs the real scanner (patterns, spaCy NER where rules need it, the built-in policy: hand rules
and learned rules; and the hand rules alone) through
``benchmarks/eval_policy.py`` on ``tests/data/policy_corpus.jsonl`` under its ``.toml`` policy.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from monitor.policy.analyzer import PostAnalyzer
from monitor.policy.learned import fingerprint
from monitor.policy.policy import RULESET_VERSION, Policy
from monitor.policy.scanner import Scanner

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "policy_corpus.jsonl"


def _eval_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("eval_policy", ROOT / "benchmarks/eval_policy.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["eval_policy"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_when_dev_corpus_scanned_then_every_category_meets_its_target() -> None:
    ev = _eval_module()
    report = ev.evaluate(CORPUS)
    assert report.posts >= 200
    assert {cat: s.support > 0 for cat, s in report.scores.items()} == {
        cat: True for cat in ev.CATEGORIES
    }
    assert report.failures() == [], ev.render(report)


@pytest.mark.slow
def test_when_dev_corpus_scanned_by_hand_rules_alone_then_they_still_meet_the_targets() -> None:
    # The shipped classifiers were trained on this corpus too: the hand rules must carry the
    # targets here on their own, so that a rule regression cannot hide behind the model.
    ev = _eval_module()
    report = ev.evaluate(CORPUS, hand_only=True)
    assert report.failures() == [], ev.render(report)


def test_when_scores_fall_below_targets_then_failures_name_them() -> None:
    ev = _eval_module()
    scores = {cat: ev.Score(tp=9, fp=0, fn=1, support=10) for cat in ev.CATEGORIES}
    scores["patient_privacy"] = ev.Score(tp=9, fp=3, fn=1, support=10)  # recall .9, precision .75
    scores["harmful_content"] = ev.Score(tp=5, fp=5, fn=5, support=10)  # F1 .5
    failures = ev.Report(scores, 50, 0.0).failures()
    assert any(f.startswith("patient_privacy: recall") for f in failures)
    assert any(f.startswith("patient_privacy: precision") for f in failures)
    assert any(f.startswith("harmful_content: F1") for f in failures)
    assert len(failures) == 3


# What the built-in policy flags on a sample of every labeled corpus (every 8th post, 1,938 in
# all; pattern recognizers only, for speed), pinned to the policy version that flags it. A change
# to the findings must come with a new RULESET_VERSION (or a retrained model, whose fingerprint
# is part of the version): otherwise `scan` would keep the old findings as current.
PINNED = {
    "ruleset": "2026.11.2",
    "model": "414466558f3441a7",
    "findings": "04c587e989cd89db",
}


def test_when_findings_change_then_the_policy_version_changes_with_them() -> None:
    ev = _eval_module()
    flagged = []
    for corpus in sorted(CORPUS.parent.glob("policy_*.jsonl")):
        settings = ev.policy_settings(corpus, None)
        policy = Policy.from_settings(settings)
        scanner = Scanner(policy, PostAnalyzer(settings, ner=False), workers=1)
        posts = [post for post, _ in ev.read_corpus(corpus)][::8]
        for post, findings in zip(posts, scanner.scan_many(posts), strict=True):
            found = sorted([str(f.category), f.rule, str(f.severity), f.spans] for f in findings)
            flagged.append([post.id, found])
    digest = hashlib.sha256(json.dumps(flagged).encode()).hexdigest()[:16]
    current = {"ruleset": RULESET_VERSION, "model": fingerprint(), "findings": digest}
    if digest != PINNED["findings"]:
        assert (current["ruleset"], current["model"]) != (PINNED["ruleset"], PINNED["model"]), (
            "the findings on the labeled corpora changed under the same policy version: bump "
            "RULESET_VERSION in monitor/policy/policy.py"
        )
    assert current == PINNED, f"record the new pin in PINNED: {current}"
