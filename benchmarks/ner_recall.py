"""How well the configured spaCy NER finds people's names in real social text.

    python benchmarks/ner_recall.py [--model NAME]

Runs the analyzer's NER engine (presidio's SpacyRecognizer over ``[policy] spacy_model``,
PERSON entities only) on two labeled corpora of real posts, from ``../shared/fixtures``:
WNUT-17 emerging entities (test split, CC-BY 4.0) and the Broad Twitter Corpus (section F,
its recommended test split, CC-BY 4.0). Tokens are joined with single spaces, so offsets are
exact. A gold person counts as found when a PERSON entity overlaps it (lenient: what matters
for masking and for the privacy rule is that the name is noticed at all); precision counts
PERSON entities overlapping a gold person. @handles labeled as persons are reported apart:
NER rarely sees them as names, which is why excerpts mask every @handle regardless.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CORPORA = ROOT.parent / "shared" / "fixtures" / "text-corpora"
SOURCES = {
    "wnut17 test": (CORPORA / "wnut17" / "emerging.test.annotated", {"person"}),
    "broad twitter F": (CORPORA / "broad_twitter_corpus" / "f.conll", {"PER"}),
}


def read_conll(path: Path, labels: set[str]) -> list[tuple[str, list[tuple[int, int, bool]]]]:
    """Sentences as (text, [(start, end, is_handle)] of gold persons)."""
    sentences: list[tuple[str, list[tuple[int, int, bool]]]] = []
    words: list[str] = []
    tags: list[str] = []

    def close() -> None:
        if not words:
            return
        text, spans, offset, current = "", [], 0, None
        for word, tag in zip(words, tags, strict=True):
            start = offset + (1 if text else 0)
            text = f"{text} {word}" if text else word
            offset = len(text)
            kind = tag[2:] if len(tag) > 2 else ""
            if tag.startswith("B-") and kind in labels:
                current = [start, offset]
                spans.append(current)
            elif tag.startswith("I-") and kind in labels and current is not None:
                current[1] = offset
            else:
                current = None
        # A handle may be tokenized "@ name", with both tokens labeled.
        handle = [
            text[s:e] == "@" or text[s:e].startswith("@") or text[:s].endswith("@ ")
            for s, e in spans
        ]
        sentences.append(
            (text, [(s, e, h) for (s, e), h in zip(spans, handle, strict=True) if text[s:e] != "@"])
        )
        words.clear()
        tags.clear()

    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            close()
            continue
        parts = line.split("\t") if "\t" in line else line.split()
        words.append(parts[0])
        tags.append(parts[-1] if len(parts) > 1 else "O")
    close()
    return sentences


def main() -> int:
    from monitor.config import PolicySettings
    from monitor.policy.nlp import ner_engine

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=PolicySettings().spacy_model)
    args = parser.parse_args()
    engine = ner_engine(args.model)
    print(f"model {args.model}: PERSON entities vs gold person names (lenient overlap)")
    for name, (path, labels) in SOURCES.items():
        if not path.exists():
            print(f"{name}: {path} not found, skipped")
            continue
        sentences = read_conll(path, labels)
        results = engine.analyze_many([text for text, _ in sentences])
        found = {False: [0, 0], True: [0, 0]}  # is_handle -> [found, total]
        predicted = correct = 0
        for (_, gold), entities in zip(sentences, results, strict=True):
            people = [(r.start, r.end) for r in entities if r.entity_type == "PERSON"]
            for start, end, handle in gold:
                found[handle][1] += 1
                found[handle][0] += any(s < end and start < e for s, e in people)
            predicted += len(people)
            correct += sum(1 for s, e in people if any(gs < e and s < ge for gs, ge, _ in gold))
        names, handles = found[False], found[True]
        recall = names[0] / names[1] if names[1] else 0.0
        precision = correct / predicted if predicted else 0.0
        print(
            f"{name:16} {len(sentences):5} posts  names: recall {recall:.2f} "
            f"({names[0]}/{names[1]})  precision {precision:.2f}  "
            f"@handles found by NER: {handles[0]}/{handles[1]}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
