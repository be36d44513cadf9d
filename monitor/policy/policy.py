"""The policy in force: the built-in rules as a practice configured them, with a version.

``Policy.from_settings`` turns the ``[policy]`` section into the list of enabled rules with their
severities overridden; ``version`` is a stable hash of everything that can change a finding
(rule ids and severities, the settings rules read, the vocabulary and ``RULESET_VERSION``), so
every finding records exactly which policy produced it and a change supersedes old findings.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import ClassVar

from monitor.config import ConfigError, PolicySettings
from monitor.domain import Category, Finding, PostContext, Severity
from monitor.policy.base import Analysis, Rule
from monitor.policy.embedding import VERSION as EMBEDDING_VERSION
from monitor.policy.learned import fingerprint as learned_fingerprint
from monitor.policy.rules.common import PolicyRule
from monitor.policy.rules.learned import RULE_HITS, RULE_SPANS
from monitor.policy.rules.registry import RULES
from monitor.policy.vocab import VOCAB_VERSION, data_fingerprint

Span = tuple[int, int]

# Bump whenever a rule's logic changes what it flags: it changes every policy version, so `scan`
# supersedes the old findings (tests/test_eval_corpus.py pins the dev corpus's findings to it).
RULESET_VERSION = "2026.11.2"


@dataclass(frozen=True, slots=True)
class RuleState:
    """One built-in rule as configured: for ``policy show`` and audits."""

    id: str
    category: Category
    severity: Severity
    enabled: bool
    explanation: str


def _with_severity(cls: type[PolicyRule], severity: Severity) -> type[PolicyRule]:
    """The rule class with its severity replaced (a subclass, so the id stays the same)."""
    if severity == cls.severity:
        return cls
    attrs: dict[str, object] = {"severity": severity, "__doc__": cls.__doc__}
    return type(cls.__name__, (cls,), attrs)


def _check_rule_ids(settings: PolicySettings) -> None:
    errors = [
        f"policy.disabled_rules: unknown rule id '{rule_id}' (see `social-monitor policy show`)"
        for rule_id in settings.disabled_rules
        if rule_id not in RULES
    ]
    errors += [
        f"policy.severity_overrides.{rule_id}: unknown rule id '{rule_id}'"
        f" (see `social-monitor policy show`)"
        for rule_id in settings.severity_overrides
        if rule_id not in RULES
    ]
    if errors:
        raise ConfigError(errors)


def _is_learned(cls: type[Rule]) -> bool:
    return bool(getattr(cls, "learned", False))


def signal_rules(settings: PolicySettings) -> list[Rule]:
    """Every hand-written rule (enabled or not): the learned rules read their hits."""
    return [cls(settings) for cls in RULES.values() if not _is_learned(cls)]


def hand_rule_hits(
    rules: list[Rule], post: PostContext, analysis: Analysis
) -> tuple[set[str], dict[str, list[Finding]]]:
    """The ids of ``rules`` that fire on the post, and their findings by rule id."""
    findings = {rule.id: rule.check(post, analysis) for rule in rules}
    return {rule_id for rule_id, found in findings.items() if found}, findings


class Policy:
    """The enabled rules of one configuration and the version that identifies them."""

    RULESET_VERSION: ClassVar[str] = RULESET_VERSION

    def __init__(self, settings: PolicySettings, states: list[RuleState], rules: list[Rule]):
        self.settings = settings
        self.states = states
        self.rules = rules
        self._learned = [r for r in rules if _is_learned(type(r))]
        # The hand rules whose hits the learned rules read: the enabled instances (with their
        # severities) and, for switched-off ones, default instances that only feed features.
        enabled = {r.id: r for r in rules if not _is_learned(type(r))}
        self._signals: list[Rule] = list(enabled.values())
        if self._learned:
            self._signals = [
                enabled.get(rule_id) or cls(settings)
                for rule_id, cls in RULES.items()
                if not _is_learned(cls)
            ]
        self.version = self._compute_version()

    @classmethod
    def from_settings(cls, settings: PolicySettings) -> Policy:
        """Build the policy; unknown rule ids in the settings raise ``ConfigError``."""
        _check_rule_ids(settings)
        disabled = set(settings.disabled_rules)
        states: list[RuleState] = []
        rules: list[Rule] = []
        for rule_id, rule_cls in RULES.items():
            override = settings.severity_overrides.get(rule_id)
            severity = Severity(override) if override else rule_cls.severity
            enabled = rule_id not in disabled
            states.append(
                RuleState(rule_id, rule_cls.category, severity, enabled, rule_cls.explanation)
            )
            if enabled:
                rules.append(_with_severity(rule_cls, severity)(settings))
        return cls(settings, states, rules)

    def _compute_version(self) -> str:
        s = self.settings
        material = {
            "ruleset": RULESET_VERSION,
            "vocabulary": [VOCAB_VERSION, data_fingerprint()],
            "model": [learned_fingerprint(), EMBEDDING_VERSION] if self._learned else None,
            "rules": [[r.id, str(r.severity)] for r in self.rules],
            "settings": {
                "practice_name": s.practice_name,
                "practice_aliases": sorted(s.practice_aliases),
                "allow_phones": sorted(s.allow_phones),
                "allow_emails": sorted(s.allow_emails),
                "allow_addresses": sorted(s.allow_addresses),
                "allow_names": sorted(s.allow_names),
                "confidential_terms": sorted(s.confidential_terms),
                "learned_thresholds": dict(sorted(s.learned_thresholds.items())),
            },
        }
        blob = json.dumps(material, sort_keys=True, ensure_ascii=True).encode()
        return f"{RULESET_VERSION}+{hashlib.sha256(blob).hexdigest()[:12]}"

    def needs_ner(self, post: PostContext, cheap: Analysis) -> bool:
        """Whether any enabled rule could change its result if names and places were known.

        Learned rules never read NER entities, only the hand rules' hits: with one enabled,
        every hand rule (switched off or not) is asked, since its hit is a feature.
        """
        rules = [*self._signals, *self._learned] if self._learned else self.rules
        return any(rule.needs_ner(post, cheap) for rule in rules)

    def evaluate(self, post: PostContext, analysis: Analysis) -> list[Finding]:
        """All findings of the enabled rules on one post, in registry order.

        Excerpts are left empty: the scanner masks identifiers and fills them.
        """
        if not self._learned:
            findings: list[Finding] = []
            for rule in self.rules:
                findings.extend(rule.check(post, analysis))
            return findings
        hits, by_rule = hand_rule_hits(self._signals, post, analysis)
        enabled = [r for r in self.rules if not _is_learned(type(r))]
        found = [f for r in enabled for f in by_rule[r.id]]
        spans: dict[str, list[Span]] = {}
        for f in found:
            spans.setdefault(str(f.category), []).extend(f.spans)
        extras = {**analysis.extras, RULE_HITS: frozenset(hits), RULE_SPANS: spans}
        informed = Analysis(analysis.entities, analysis.ner_ran, extras)
        # Per category, the shipped model says how it is decided: "or" (hand rules OR
        # classifier: a learned finding only where no enabled hand rule of it fired, one
        # finding is enough), "clf" (the classifier alone decides; where it agrees with hand
        # rules, their findings are reported, with their ids and spans, as its evidence) or
        # "rules" (the learned rule never fires).
        for rule in self._learned:
            category = str(rule.category)
            if getattr(rule, "mode", "or") == "clf":
                learned = rule.check(post, informed)
                if not learned:
                    found = [f for f in found if str(f.category) != category]
                elif category not in spans:
                    found.extend(learned)
            elif category not in spans:
                found.extend(rule.check(post, informed))
        order = {rule.id: i for i, rule in enumerate(self.rules)}
        return sorted(found, key=lambda f: order.get(f.rule, len(order)))
