"""Span arithmetic shared by the rules: the indexed nearness test agrees with the plain one."""

from __future__ import annotations

import random

from monitor.policy.rules.common import Nearby, linked, near_any


def _spans(rng: random.Random, n: int, width: int) -> list[tuple[int, int]]:
    out = []
    for _ in range(n):
        start = rng.randrange(0, width)
        out.append((start, start + rng.randrange(0, 12)))
    return out


def test_when_spans_are_indexed_then_nearness_matches_the_pairwise_definition() -> None:
    rng = random.Random(7)
    for trial in range(400):
        others = _spans(rng, rng.randrange(0, 9), 300)
        distance = rng.choice([0, 1, 40, 120, 200])
        close = Nearby(others, distance)
        for span in _spans(rng, 25, 320):
            assert close(span) == near_any(span, others, distance), (trial, span, others)


def test_when_triggers_and_contexts_are_linked_then_order_and_membership_are_kept() -> None:
    rng = random.Random(11)
    for _ in range(300):
        triggers, contexts = _spans(rng, 6, 400), _spans(rng, 6, 400)
        hits = [t for t in triggers if near_any(t, contexts, 60)]
        expected = hits + [c for c in contexts if near_any(c, hits, 60)] if hits else []
        assert linked(triggers, contexts, 60) == expected
    assert linked([(0, 3)], [(100, 104)], 10) == []
    assert linked([(0, 3)], [(10, 14), (100, 104)], 10) == [(0, 3), (10, 14)]
