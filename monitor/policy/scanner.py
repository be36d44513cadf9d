"""The scanner: posts in, findings out, in input order, as fast as the policy allows.

For a batch, ``scan_many``:

1. runs the cheap pattern pass on every post;
2. asks the policy, post by post, whether names or places from NER could change a finding
   (``policy.needs_ner(post, cheap)``); a post that needs no NER is evaluated on its cheap
   analysis, and if that yields no finding, it is done;
3. runs spaCy on the others, batched through ``nlp.pipe`` with every component but ``ner``
   disabled: posts that need NER are then evaluated on their full analysis; posts that
   already have findings keep them (NER cannot change them) but get NER all the same, so
   that their excerpts mask names too;
4. fills in every finding's masked excerpt from the full analysis where there is one.

Large batches are split into contiguous chunks scanned by worker processes (``workers``;
0 = one per core), each loading the model once. ``shortcuts=False`` turns every shortcut off:
NER on every post, one post at a time, in this process. Because NER only adds entities (see
``analyzer.py``), both modes give the same findings whenever the rules' ``needs_ner`` answers
are right; the throughput benchmark checks it on the labeled corpus.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_all_start_methods, get_context
from typing import Protocol

from monitor.domain import Finding, PostContext
from monitor.policy.analyzer import PostAnalyzer
from monitor.policy.base import Analysis
from monitor.policy.excerpt import mask_excerpt

# Below this many posts a batch is scanned in-process: starting workers would cost more.
MIN_PARALLEL_POSTS = 256


class ScanPolicy(Protocol):
    """What the scanner needs of a policy (``monitor.policy.policy.Policy`` provides it)."""

    @property
    def version(self) -> str: ...

    def needs_ner(self, post: PostContext, cheap: Analysis) -> bool: ...

    def evaluate(self, post: PostContext, analysis: Analysis) -> list[Finding]: ...


def effective_workers(workers: int) -> int:
    """The number of worker processes ``workers`` asks for (0: one per usable core)."""
    if workers > 0:
        return workers
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class Scanner:
    """Scans posts under one policy with one analyzer."""

    def __init__(
        self,
        policy: ScanPolicy,
        analyzer: PostAnalyzer,
        *,
        workers: int = 1,
        shortcuts: bool = True,
        min_parallel: int = MIN_PARALLEL_POSTS,
    ) -> None:
        self.policy = policy
        self.analyzer = analyzer
        self.workers = effective_workers(workers)
        self.shortcuts = shortcuts
        self.min_parallel = min_parallel
        # Posts that went through NER in this scanner's process (a figure for benchmarks).
        self.ner_posts = 0

    @property
    def policy_version(self) -> str:
        return self.policy.version

    def scan(self, post: PostContext) -> list[Finding]:
        """The findings of one post."""
        return self.scan_many([post])[0]

    def scan_many(self, posts: Sequence[PostContext]) -> list[list[Finding]]:
        """The findings of each post, in input order."""
        if not self.shortcuts:
            return [self._scan_without_shortcuts(post) for post in posts]
        if self.workers > 1 and len(posts) >= self.min_parallel:
            return self._scan_parallel(posts)
        return self._scan_serial(posts)

    def _scan_without_shortcuts(self, post: PostContext) -> list[Finding]:
        cheap = self.analyzer.patterns([post])
        analysis = self.analyzer.with_ner([post], cheap, batched=False)[0]
        self.ner_posts += 1 if self.analyzer.ner_enabled else 0
        return self._evaluate(post, analysis)

    def _scan_serial(self, posts: Sequence[PostContext]) -> list[list[Finding]]:
        analyses = self.analyzer.patterns(posts)
        # Findings decided on the cheap analysis (their excerpts still to be masked).
        decided: list[list[Finding] | None] = [None] * len(posts)
        if self.analyzer.ner_enabled:
            ner = []
            for i, post in enumerate(posts):
                if self.policy.needs_ner(post, analyses[i]):
                    ner.append(i)
                    continue
                decided[i] = self.policy.evaluate(post, analyses[i])
                if decided[i]:
                    # NER could not change these findings, but their excerpts must mask names.
                    ner.append(i)
            if ner:
                full = self.analyzer.with_ner([posts[i] for i in ner], [analyses[i] for i in ner])
                for i, analysis in zip(ner, full, strict=True):
                    analyses[i] = analysis
                self.ner_posts += len(ner)
        return [
            self._evaluate(post, analysis, found)
            for post, analysis, found in zip(posts, analyses, decided, strict=True)
        ]

    def _evaluate(
        self, post: PostContext, analysis: Analysis, findings: list[Finding] | None = None
    ) -> list[Finding]:
        if findings is None:
            findings = self.policy.evaluate(post, analysis)
        return [
            replace(f, excerpt=mask_excerpt(post.text, f.spans, analysis.entities))
            for f in findings
        ]

    def _load_embedding(self) -> None:
        """Load the post embedding once, before forking, if a learned rule reads it."""
        from monitor.policy.rules.learned import LearnedRule

        for rule in getattr(self.policy, "rules", ()):
            if isinstance(rule, LearnedRule) and rule.model.embeds:
                from monitor.policy.embedding import shipped_embedding

                shipped_embedding()
                return

    def _scan_parallel(self, posts: Sequence[PostContext]) -> list[list[Finding]]:
        # Load the engines before forking so that workers share them instead of each loading.
        self.analyzer.patterns(posts[:1])
        if self.analyzer.ner_enabled:
            from monitor.policy.nlp import ner_engine

            ner_engine(self.analyzer.settings.spacy_model)
        self._load_embedding()
        size = -(-len(posts) // (self.workers * 2))
        chunks = [list(posts[i : i + size]) for i in range(0, len(posts), size)]
        method = "fork" if "fork" in get_all_start_methods() else "spawn"
        with ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=get_context(method),
            initializer=_init_worker,
            initargs=(self.policy, self.analyzer),
        ) as pool:
            results: list[list[Finding]] = []
            for chunk_findings, ner_posts in pool.map(_scan_chunk, chunks):
                results.extend(chunk_findings)
                self.ner_posts += ner_posts
        return results


_worker_scanner: Scanner | None = None


def _init_worker(policy: ScanPolicy, analyzer: PostAnalyzer) -> None:
    global _worker_scanner
    _worker_scanner = Scanner(policy, analyzer, workers=1)


def _scan_chunk(posts: list[PostContext]) -> tuple[list[list[Finding]], int]:
    assert _worker_scanner is not None, "worker not initialized"
    before = _worker_scanner.ner_posts
    findings = _worker_scanner.scan_many(posts)
    return findings, _worker_scanner.ner_posts - before
