"""Learned rules: one per category, the shipped classifier's verdict over the hand-written rules.

Each fires when the category's logistic regression (``monitor.policy.learned``) gives at least
its cross-validated threshold. The classifier reads the hand-written rules' hits as features,
so ``Policy`` computes those once and hands them over in ``analysis.extras["rule_hits"]``; a
learned rule called on its own computes them itself. Its features never read NER entities, so
its answer to ``needs_ner`` is False: NER changes it only through the hand rules' hits, and
``Policy.needs_ner`` asks those rules (enabled or not) whenever a learned rule is on.

Spans: the category's hand-rule evidence if a hand rule fired, else the pattern identifiers and
care terms of the post, else the whole text — never NER entities, so that findings are the same
whether or not NER ran.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import ClassVar

from monitor.config import PolicySettings
from monitor.domain import Category, Finding, PostContext, Severity
from monitor.policy.base import Analysis
from monitor.policy.features import NER_TYPES, FeatureExtractor
from monitor.policy.learned import LearnedModel, shipped_model
from monitor.policy.rules.advice import DOSE, REDIRECT, SKIP_CARE
from monitor.policy.rules.common import (
    FICTION,
    RELATION,
    PolicyRule,
    Span,
    addressee_spans,
    is_clinician,
    is_reply,
    singles_out,
    spans_of,
)
from monitor.policy.rules.disclosure import NOT_ADVICE, OWN_OPINIONS, UndisclosedAffiliation
from monitor.policy.vocab import vocabulary

RULE_HITS = "rule_hits"  # extras key: set of hand-rule ids that fired
RULE_SPANS = "rule_spans"  # extras key: category -> spans of hand-rule findings
_VECTOR = "learned_vector"  # extras key: the post's feature vector, shared by the categories


def _bio_names_practice(settings: PolicySettings, bio: str) -> bool:
    """Whether ``bio`` names the practice (misspelt too), remembered per practice and bio:
    authors post again and again, and the misspelling search costs about 50 µs a bio."""
    return _names_practice((settings.practice_name, *settings.practice_aliases), bio)


@lru_cache(maxsize=16)
def _practice_names(names: tuple[str, ...]) -> UndisclosedAffiliation:
    return UndisclosedAffiliation(
        PolicySettings(practice_name=names[0], practice_aliases=list(names[1:]))
    )


@lru_cache(maxsize=1024)
def _names_practice(names: tuple[str, ...], bio: str) -> bool:
    return bool(_practice_names(names).practice_spans(bio))


class LearnedRule(PolicyRule):
    """The shipped classifier for one category, fired at its cross-validated threshold."""

    learned: ClassVar[bool] = True

    def __init__(self, settings: PolicySettings, model: LearnedModel | None = None) -> None:
        super().__init__(settings)
        self.model = model or shipped_model()
        self._extractor: FeatureExtractor = self.model.extractor(settings)

    def probability(self, post: PostContext, analysis: Analysis) -> float:
        """The classifier's probability that the post breaks this rule's category."""
        hits = analysis.extras.get(RULE_HITS)
        if not isinstance(hits, (set, frozenset)):
            from monitor.policy.policy import hand_rule_hits, signal_rules

            hits, _ = hand_rule_hits(signal_rules(self.settings), post, analysis)
        model = self.model.categories[str(self.category)]
        # Every category's classifier reads the same feature vector: build it once per post.
        key = (_VECTOR, id(self.model), frozenset(hits))
        cached = analysis.extras.get(_VECTOR)
        if isinstance(cached, tuple) and cached[0] == key:
            indices, values, embedded = cached[1]
        else:
            indices, values = self._extractor.vector(post, analysis, hits)
            embedded = self.model.post_vector(post.text)
            analysis.extras[_VECTOR] = (key, (indices, values, embedded))
        return model.probability(indices, values, embedded)

    @property
    def threshold(self) -> float:
        """The probability at which it fires: ``[policy] learned_thresholds`` or the model's."""
        for category, value in self.settings.learned_thresholds.items():
            if category == self.category:
                return value
        model = self.model.categories.get(str(self.category))
        return model.threshold if model is not None else 1.0

    @property
    def mode(self) -> str:
        """How the model decides this category: "or", "clf" or "rules" (``LearnedModel.modes``)."""
        return self.model.modes.get(str(self.category), "or")

    @classmethod
    def vetoed(cls, post: PostContext, analysis: Analysis, settings: PolicySettings) -> bool:
        """Whether the policy rules the category out whatever the classifier says (training
        chooses thresholds on what is left, ``train.runtime_veto``)."""
        return False

    def check(self, post: PostContext, analysis: Analysis) -> list[Finding]:
        model = self.model.categories.get(str(self.category))
        if model is None or self.mode == "rules":
            return []
        if self.vetoed(post, analysis, self.settings):
            return []
        if self.probability(post, analysis) < self.threshold:
            return []
        return [self.finding(self._spans(post, analysis))]

    def _spans(self, post: PostContext, analysis: Analysis) -> list[Span]:
        by_category = analysis.extras.get(RULE_SPANS)
        if isinstance(by_category, dict) and by_category.get(str(self.category)):
            return list(by_category[str(self.category)])
        spans = [(e.start, e.end) for e in analysis.entities if e.type not in NER_TYPES]
        spans += [(t.start, t.end) for t in vocabulary().find(post.text)]
        return spans or [(0, len(post.text))]


# Dates relative to the post ("came in today") are care context, not an identifier on their own.
_RELATIVE_DAY = re.compile(
    r"(?i)^(?:today|tonight|yesterday|tomorrow|this (?:morning|afternoon|evening|week)|"
    r"last (?:night|week)|earlier)$"
)


class LearnedPrivacy(LearnedRule):
    id: ClassVar[str] = "privacy.learned"
    category: ClassVar[Category] = Category.PATIENT_PRIVACY
    severity: ClassVar[Severity] = Severity.CRITICAL
    explanation: ClassVar[str] = (
        "Classifier: likely identifies a patient next to their care (protected health information)"
    )

    @staticmethod
    def identifiable(post: PostContext, analysis: Analysis) -> bool:
        """Whether anything could identify a patient once the allowlists are applied: an
        identifier entity, a person the post answers or addresses, or one singled out by role,
        feature or a shared past. POLICY.md: identifiers are what make care information a
        patient's; the classifier reads words, not them."""
        text = post.text
        if is_reply(post) or addressee_spans(text) or RELATION.search(text):
            return True
        if singles_out(text):
            return True
        return any(
            e.type != "URL" and not (e.type == "DATE_TIME" and _RELATIVE_DAY.match(e.text.strip()))
            for e in analysis.entities
        )

    @classmethod
    def vetoed(cls, post: PostContext, analysis: Analysis, settings: PolicySettings) -> bool:
        return cls.speaks_of_fiction(post) or not cls.identifiable(post, analysis)

    @staticmethod
    def speaks_of_fiction(post: PostContext) -> bool:
        """A show or an episode named outright: whoever it describes is not a patient."""
        return bool(FICTION.search(post.text))

    def needs_ner(self, post: PostContext, analysis: Analysis) -> bool:
        # NER only adds names and places: it matters only while no identifier opens the gate
        # and the classifier would fire.
        if self.speaks_of_fiction(post) or self.identifiable(post, analysis):
            return False
        model = self.model.categories.get(str(self.category))
        return model is not None and self.probability(post, analysis) >= self.threshold


class LearnedConfidential(LearnedRule):
    id: ClassVar[str] = "confidential.learned"
    category: ClassVar[Category] = Category.CONFIDENTIAL_INFO
    severity: ClassVar[Severity] = Severity.HIGH
    explanation: ClassVar[str] = "Classifier: likely discloses confidential practice information"


class LearnedDisclosure(LearnedRule):
    id: ClassVar[str] = "disclosure.learned"
    category: ClassVar[Category] = Category.MISSING_DISCLOSURE
    severity: ClassVar[Severity] = Severity.MEDIUM
    explanation: ClassVar[str] = (
        "Classifier: speaks for the practice or gives health guidance without the required"
        " disclosure"
    )

    @classmethod
    def vetoed(cls, post: PostContext, analysis: Analysis, settings: PolicySettings) -> bool:
        # POLICY.md: the disclosure owed is the affiliation, and a clinician's disclaimer too.
        # A bio that names the practice states the affiliation beyond doubt (the looser cues,
        # "at <Name> Center" in a post, also match a mere mention): an author whose bio does,
        # and who owes no disclaimer or has one, is never missing the disclosure.
        bio = post.author.bio
        if not _bio_names_practice(settings, bio):
            return False
        return not is_clinician(post.author) or bool(
            NOT_ADVICE.search(bio) and OWN_OPINIONS.search(bio)
        )


class LearnedHarmful(LearnedRule):
    id: ClassVar[str] = "harmful.learned"
    category: ClassVar[Category] = Category.HARMFUL_CONTENT
    severity: ClassVar[Severity] = Severity.HIGH
    explanation: ClassVar[str] = (
        "Classifier: likely harasses, mocks or threatens patients or colleagues, or boasts of"
        " unsafe conduct"
    )


class LearnedAdvice(LearnedRule):
    id: ClassVar[str] = "advice.learned"
    category: ClassVar[Category] = Category.MEDICAL_ADVICE
    severity: ClassVar[Severity] = Severity.HIGH
    explanation: ClassVar[str] = (
        "Classifier: likely gives individualized medical advice to a specific person"
    )

    @classmethod
    def vetoed(cls, post: PostContext, analysis: Analysis, settings: PolicySettings) -> bool:
        # POLICY.md: pointing someone to a visit or the ER is the right answer. A post that
        # redirects to care and gives no dose and no skip-care instruction is never advice,
        # whatever its words have in common with advice.
        text = post.text
        return bool(
            spans_of(REDIRECT, text) and not spans_of(DOSE, text) and not spans_of(SKIP_CARE, text)
        )


LEARNED_RULES: list[type[LearnedRule]] = [
    LearnedPrivacy,
    LearnedConfidential,
    LearnedDisclosure,
    LearnedHarmful,
    LearnedAdvice,
]
