"""How long the pattern analysis takes on long, degenerate posts, against presidio's originals.

    python benchmarks/long_posts.py [--chars 40000]

Facebook allows posts of 63,206 characters. A long run of ``a-a-a-…`` or ``aa.aa.aa…`` made two
of presidio's patterns quadratic (the member id's lookaheads, the schema-less URL retried at
every character of a run); ``monitor/policy/recognizers.py`` replaces them with linear copies.
This prints, per degenerate text, the seconds the pattern engine takes with our copies and,
in the same run, with presidio's originals in their place (the baseline), and the ratio. A
realistic long post (a clinical sentence repeated) is the control: both should match.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from presidio_analyzer import AnalyzerEngine  # noqa: E402
from presidio_analyzer.predefined_recognizers import (  # noqa: E402
    UrlRecognizer,
    UsHealthInsuranceMemberIdRecognizer,
)

from monitor.policy.nlp import LANGUAGE, TokenizerNlpEngine, pattern_registry  # noqa: E402
from monitor.policy.recognizers import MEMBER_ID  # noqa: E402

UNITS = {
    "a-a-a-": "a-",
    "1-1-1-": "1-",
    "aa.aa.": "aa.",
    "digits": "1",
    "sentence (control)": "Mrs Patel in room 4 had chemo today, MRN 00482913. ",
}


def engine(original: bool) -> AnalyzerEngine:
    registry = pattern_registry()
    if original:
        registry.remove_recognizer("UrlRecognizer")
        registry.remove_recognizer("UsHealthInsuranceMemberIdRecognizer")
        registry.add_recognizer(UrlRecognizer())
        registry.add_recognizer(UsHealthInsuranceMemberIdRecognizer(supported_entity=MEMBER_ID))
    nlp = TokenizerNlpEngine()
    nlp.load()
    return AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=[LANGUAGE])


def seconds(analyzer: AnalyzerEngine, text: str) -> tuple[float, int]:
    start = time.perf_counter()
    found = analyzer.analyze(text, language=LANGUAGE, score_threshold=0.0)
    return time.perf_counter() - start, len(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=40_000)
    args = parser.parse_args()
    ours, theirs = engine(original=False), engine(original=True)
    seconds(ours, "warm up"), seconds(theirs, "warm up")
    print(f"pattern analysis of one {args.chars:,}-character post (seconds)")
    print(f"{'text':20} {'ours':>8} {'presidio':>9} {'ratio':>7}  entities")
    for name, unit in UNITS.items():
        text = (unit * (args.chars // len(unit) + 1))[: args.chars]
        mine, n_mine = seconds(ours, text)
        base, n_base = seconds(theirs, text)
        same = "same" if n_mine == n_base else f"DIFFER {n_mine} vs {n_base}"
        print(f"{name:20} {mine:8.2f} {base:9.2f} {base / mine:6.1f}x  {same}")


if __name__ == "__main__":
    main()
