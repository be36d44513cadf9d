"""How long the pattern analysis takes on long posts, against presidio's own code.

    python benchmarks/long_posts.py [--chars 40000]

Facebook allows posts of 63,206 characters. Three things in presidio grew quadratically there:
a long run of ``a-a-a-…`` or ``aa.aa.aa…`` made two of its patterns retry a whole run at every
character (the member id's lookaheads, the schema-less URL), and its context enhancer walked
the token list from the start for every entity, asking ``in`` of a keyword list each step (a
post with thousands of identifiers). ``recognizers.py`` has linear copies of the patterns,
``nlp.py`` finds tokens by bisection and answers ``in`` from a set. This prints, per text, the
seconds of the pattern engine as shipped and, in the same run, with presidio's originals in
their place (the baseline), the ratio, and whether both found the same entities.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from presidio_analyzer import AnalyzerEngine  # noqa: E402
from presidio_analyzer.nlp_engine import NlpArtifacts  # noqa: E402
from presidio_analyzer.predefined_recognizers import (  # noqa: E402
    UrlRecognizer,
    UsHealthInsuranceMemberIdRecognizer,
)

from monitor.policy.nlp import (  # noqa: E402
    LANGUAGE,
    TokenizerNlpEngine,
    pattern_engine,
    pattern_registry,
)
from monitor.policy.recognizers import MEMBER_ID  # noqa: E402

UNITS = {
    "a-a-a-": "a-",
    "1-1-1-": "1-",
    "aa.aa.": "aa.",
    "digits": "1",
    "identifiers": "Mrs Patel in room 4 had chemo today, MRN 00482913. ",
    "plain prose": "Long shift today, the team was great and the coffee was not. ",
}


class StockTokenizer(TokenizerNlpEngine):
    """Our tokenizer with presidio's plain keyword list (list-scan ``in``)."""

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        artifacts = super().process_text(text, language)
        artifacts.keywords = list(artifacts.keywords)
        return artifacts


def stock_engine() -> AnalyzerEngine:
    """The pattern engine with presidio's patterns, enhancer and keyword list."""
    registry = pattern_registry()
    registry.remove_recognizer("UrlRecognizer")
    registry.remove_recognizer("UsHealthInsuranceMemberIdRecognizer")
    registry.add_recognizer(UrlRecognizer())
    registry.add_recognizer(UsHealthInsuranceMemberIdRecognizer(supported_entity=MEMBER_ID))
    nlp = StockTokenizer()
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
    ours, theirs = pattern_engine(), stock_engine()
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
