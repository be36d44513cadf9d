"""Presidio and spaCy, built explicitly, loaded once per process, never downloading anything.

Importing this module first sets tldextract's environment (no public suffix list download, a
cache in a writable folder): presidio's email recognizer reads it at import time. Every module
that imports presidio imports this one before.

Two engines, both presidio ``AnalyzerEngine`` objects:

* the **pattern engine** runs presidio's predefined pattern recognizers, its medical ones and
  ours (``recognizers.py``) over artifacts from a regular-expression word splitter (no model,
  no NER). Context words are matched against lower-cased tokens with presidio's substring
  matching, so "phones" still supports "phone". It never loads the spaCy model, and only
  asks presidio for the entity types whose cheap trigger is in the text (``ENTITY_TRIGGERS``).
* the **NER engine** wraps the configured spaCy pipeline (``settings.policy.spacy_model``) with
  an explicit ``ner_model_configuration`` (presidio's label mapping and ignore list, without
  which ORGANIZATION floods in) and presidio's ``SpacyRecognizer``. Only the ``ner`` component
  runs (it has its own embedding layer); the tagger, parser and lemmatizer are not needed
  because context boosts come from the pattern engine.

Results of the pattern engine never depend on the model, so a post's pattern entities are the
same whether or not NER ran on it: NER only ever adds PERSON, LOCATION, DATE_TIME and NRP.
"""

from __future__ import annotations

import bisect
import logging
import os
import re
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any


def _offline_environment() -> None:
    os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""
    if not os.environ.get("TLDEXTRACT_CACHE"):
        cache = Path(tempfile.gettempdir()) / "social-monitor" / "tldextract"
        os.environ["TLDEXTRACT_CACHE"] = str(cache)


_offline_environment()

import spacy  # noqa: E402
from presidio_analyzer import (  # noqa: E402
    AnalyzerEngine,
    EntityRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer  # noqa: E402
from presidio_analyzer.nlp_engine import (  # noqa: E402
    NlpArtifacts,
    NlpEngine,
    NlpEngineProvider,
)
from presidio_analyzer.predefined_recognizers import PhoneRecognizer, SpacyRecognizer  # noqa: E402

from monitor.errors import MonitorError  # noqa: E402

LANGUAGE = "en"

# presidio's conf/spacy.yaml, spelled out so nothing depends on presidio's default files.
NER_MODEL_CONFIGURATION: dict[str, Any] = {
    "model_to_presidio_entity_mapping": {
        "PER": "PERSON",
        "PERSON": "PERSON",
        "NORP": "NRP",
        "FAC": "LOCATION",
        "LOC": "LOCATION",
        "GPE": "LOCATION",
        "LOCATION": "LOCATION",
        "ORG": "ORGANIZATION",
        "ORGANIZATION": "ORGANIZATION",
        "DATE": "DATE_TIME",
        "TIME": "DATE_TIME",
    },
    "low_confidence_score_multiplier": 0.4,
    "low_score_entity_names": [],
    "labels_to_ignore": [
        "ORG",
        "ORGANIZATION",
        "CARDINAL",
        "EVENT",
        "LANGUAGE",
        "LAW",
        "MONEY",
        "ORDINAL",
        "PERCENT",
        "PRODUCT",
        "QUANTITY",
        "WORK_OF_ART",
    ],
}

# Entity types only the NER engine produces (after the mapping and ignore list above).
NER_ENTITIES = ("PERSON", "LOCATION", "DATE_TIME", "NRP")

# Recognizers of presidio's default registry left out: those that need NER or a model we do not
# ship, and identifiers that never tie a person to a US practice's care (crypto wallets, IBANs,
# MAC addresses, UUIDs, UK NHS numbers) but cost time on every post. ``UsBankRecognizer`` is
# replaced by ``ACCOUNT_NUMBER``, which needs a label instead of matching any 8-17 digit run.
_LEFT_OUT = {
    "SpacyRecognizer",
    "StanzaRecognizer",
    "TransformersRecognizer",
    "CryptoRecognizer",
    "IbanRecognizer",
    "MacAddressRecognizer",
    "UuidRecognizer",
    "NhsRecognizer",
    "UsBankRecognizer",
    "PhoneRecognizer",
    "UrlRecognizer",  # replaced by a linear-time copy (recognizers.linear_url_recognizer)
}
# A US practice: national numbers are read as US/Canada (NANP); "+44 ..." still parses. Each
# extra region costs a full parse of every candidate.
PHONE_REGIONS = ("US",)


class ModelNotAvailable(MonitorError):
    """The configured spaCy model is not installed; it is never downloaded at run time."""

    exit_code = 2


class _Keywords(list[str]):
    """presidio's keyword list, with set-speed ``in``: its context enhancer asks ``lemma in
    keywords`` for each word around each entity, a list scan per question otherwise."""

    def __init__(self, words: list[str]) -> None:
        super().__init__(words)
        self._set = frozenset(words)

    def __contains__(self, word: object) -> bool:
        return word in self._set


class TokenizerNlpEngine(NlpEngine):
    """A presidio NLP engine that only splits words (a regular expression, no model).

    Tokens are words, numbers and single punctuation marks; lemmas are the lower-cased tokens
    and stop words are spaCy's English list: enough for presidio's substring context matching
    ("phones" supports "phone"), at a small fraction of the cost of even spaCy's tokenizer.
    It recognizes no entities.
    """

    engine_name = "tokenizer"
    is_available = True
    _TOKEN = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")

    def __init__(self) -> None:
        self.nlp: dict[str, Any] | None = None
        self._stop_words: frozenset[str] = frozenset()

    def load(self) -> None:
        from spacy.lang.en.stop_words import STOP_WORDS

        self._stop_words = frozenset(STOP_WORDS)
        self.nlp = {LANGUAGE: None}

    def is_loaded(self) -> bool:
        return self.nlp is not None

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        matches = list(self._TOKEN.finditer(text))
        tokens = [m.group() for m in matches]
        artifacts = NlpArtifacts(
            entities=[],
            # presidio only iterates the tokens and takes their lengths: strings will do.
            tokens=tokens,  # type: ignore[arg-type]
            tokens_indices=[m.start() for m in matches],
            lemmas=[t.lower() for t in tokens],
            nlp_engine=self,
            language=language,
            scores=[],
        )
        artifacts.keywords = _Keywords(artifacts.keywords)
        return artifacts

    def process_batch(  # type: ignore[no-untyped-def]
        self, texts, language, batch_size=1, n_process=1, as_tuples=False, **kwargs
    ):
        for text in texts:
            yield text, self.process_text(str(text), language)

    def is_stopword(self, word: str, language: str) -> bool:
        return word.lower() in self._stop_words

    def is_punct(self, word: str, language: str) -> bool:
        return len(word) == 1 and not word.isalnum() and not word.isspace()

    def get_supported_entities(self) -> list[str]:
        return []

    def get_supported_languages(self) -> list[str]:
        return [LANGUAGE]


# Necessary conditions, checked with one cheap search per post: a recognizer whose entity's
# trigger is absent from the text cannot match, so presidio is not asked to run it. Every
# pattern of these entity types needs a digit (dates, phones, ids, ...), an "@", a dot, or a
# word listed here; an entity type without a trigger always runs. A test checks on the
# labeled corpora that the triggered analysis equals the full one.
_DIGIT = r"\d"
_NINE_DIGITS = r"(?:\d\D?){8}\d"  # SSN and ITIN: nine digits, at most one separator between
ENTITY_TRIGGERS: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, re.IGNORECASE)
    for name, pattern in {
        "PHONE_NUMBER": r"(?:\d\D{0,4}){7}",
        "US_SSN": _NINE_DIGITS,
        "US_ITIN": _NINE_DIGITS,
        "CREDIT_CARD": r"(?:\d[- ]?){12}\d",
        "DATE_TIME": _DIGIT,
        "IP_ADDRESS": r"\d|:[0-9a-f]*:",
        "MEDICAL_LICENSE": r"\d{7}",
        "US_DRIVER_LICENSE": r"[a-z\]]\d|\d[a-z]|\d{6}",
        "US_PASSPORT": r"\d{8}",
        "MEDICAL_RECORD_NUMBER": r"\d{4}",
        "MEMBER_ID": _DIGIT,
        "ACCOUNT_NUMBER": _DIGIT,
        "EMAIL_ADDRESS": r"@",
        "URL": r"\.[a-z]{2}",
        "ROOM_NUMBER": r"\b(?:room|rm|bed|bay|cubicle|cube|stall|ward|in\s)",
        "AGE": r"\d|old\b|ties\b",
        "RELATIONSHIP": r"\b(?:my|our|of\s+mine|of\s+ours|room|rm|bed|bay|cubicle|cube|stall|pod|"
        r"ward|exam|trauma|resus)\b|(?:patient|pt|client|resident)['’]s",
        # "A digit, then later a street word", anchored at the first digit: unanchored,
        # ``\d[\s\S]*`` retried at every digit made a long run of digits quadratic.
        "STREET_ADDRESS": r"\A\D*\d[\s\S]*?\b(?:st|street|rd|road|ave|avenue|ln|lane|dr|drive|blvd|"
        r"boulevard|ct|court|way|pl|place|ter|terrace|cir|circle|pkwy|parkway|hwy|highway|trl|"
        r"trail|loop|row)\b",
        "PERSON": r"\b(?:mr|mrs|ms|miss|mx|baby)\b|\w{4}, ?\w|"
        r"\bthe\s+[a-z]+\s+(?:kid|boy|girl|bab|famil|twin|brother|sister|household|clan)",
        "CHART_PHOTO": r"photo|pic|image|screen|snap|vid|selfie|attach|posting|posted|shar|took|"
        r"upload|img",
    }.items()
}


def triggered_entities(engine: AnalyzerEngine, text: str) -> list[str]:
    """The entity types whose recognizers could match ``text`` (see ``ENTITY_TRIGGERS``)."""
    return [
        name
        for name in _supported(engine)
        if (trigger := ENTITY_TRIGGERS.get(name)) is None or trigger.search(text)
    ]


@lru_cache(maxsize=4)
def _supported(engine: AnalyzerEngine) -> tuple[str, ...]:
    return tuple(sorted(engine.get_supported_entities(LANGUAGE)))


def pattern_registry() -> RecognizerRegistry:
    """Presidio's predefined English pattern recognizers, its medical ones and ours."""
    from monitor.policy.recognizers import (
        DateOfBirthRecognizer,
        EmailShapeRecognizer,
        NanpPhoneRecognizer,
        custom_recognizers,
        linear_url_recognizer,
        shipped_medical_recognizers,
    )

    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    presidio_log = logging.getLogger("presidio-analyzer")
    level = presidio_log.level
    presidio_log.setLevel(logging.ERROR)  # one warning per non-English recognizer otherwise
    try:
        registry.load_predefined_recognizers(languages=[LANGUAGE])
    finally:
        presidio_log.setLevel(level)
    for name in _LEFT_OUT:
        registry.remove_recognizer(name)
    registry.add_recognizer(PhoneRecognizer(supported_regions=PHONE_REGIONS))
    registry.add_recognizer(NanpPhoneRecognizer())  # the numbers phonenumbers rejects
    registry.add_recognizer(EmailShapeRecognizer())  # the domains tldextract rejects
    registry.add_recognizer(DateOfBirthRecognizer())  # birth dates without a year
    registry.add_recognizer(linear_url_recognizer())
    for recognizer in shipped_medical_recognizers() + custom_recognizers():
        registry.add_recognizer(recognizer)
    return registry


class BisectContextEnhancer(LemmaContextAwareEnhancer):
    """presidio's context enhancer, finding each entity's token by bisection.

    presidio walks the token list from the start for every entity: identifiers x tokens, which
    made a long post with thousands of identifiers spend seconds here. Tokens are ordered and
    do not overlap, so the token presidio's walk stops at (the first one that starts at
    ``start`` or ends after it) is the last one starting at or before ``start``, or the next.
    """

    @staticmethod
    def _find_index_of_match_token(
        word: str, start: int, tokens: Any, tokens_indices: list[int]
    ) -> int:
        i = max(0, bisect.bisect_right(tokens_indices, start) - 1)
        for j in (i, i + 1):
            if j < len(tokens_indices) and (
                tokens_indices[j] == start or start < tokens_indices[j] + len(tokens[j])
            ):
                return j
        raise ValueError("an entity's start is past the last token")


@lru_cache(maxsize=1)
def pattern_engine() -> AnalyzerEngine:
    """The pattern-only analyzer engine (no model), built once per process."""
    nlp_engine = TokenizerNlpEngine()
    nlp_engine.load()
    return AnalyzerEngine(
        registry=pattern_registry(),
        nlp_engine=nlp_engine,
        supported_languages=[LANGUAGE],
        context_aware_enhancer=BisectContextEnhancer(),
    )


def provider_configuration(model: str) -> dict[str, Any]:
    """The explicit ``NlpEngineProvider`` configuration for a spaCy model name or path."""
    return {
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": LANGUAGE, "model_name": model}],
        "ner_model_configuration": NER_MODEL_CONFIGURATION,
    }


def _check_installed(model: str) -> None:
    if not (spacy.util.is_package(model) or Path(model).exists()):
        raise ModelNotAvailable(
            f"spaCy model {model!r} is not installed (set [policy] spacy_model to an installed "
            "package name or a model folder; models are never downloaded at run time)"
        )


@lru_cache(maxsize=2)
def spacy_nlp_engine(model: str) -> Any:
    """presidio's spaCy NLP engine for ``model``, loaded once per process and model."""
    _check_installed(model)
    engine = NlpEngineProvider(nlp_configuration=provider_configuration(model)).create_engine()
    return engine


_CAPS_RUN = re.compile(r"\b[A-Z][A-Z'’-]{2,}(?:[ \t]+[A-Z][A-Z'’-]{2,}){1,2}\b")
_NOT_NAMES = frozenset(
    {
        "STAT",
        "HIPAA",
        "OMG",
        "LOL",
        "WTF",
        "ICU",
        "MRN",
        "DNR",
        "THE",
        "AND",
        "FOR",
        "YOU",
        "NOT",
        "ALL",
        "ARE",
        "WAS",
        "THIS",
        "THAT",
        "WITH",
        "HAS",
        "PLEASE",
        "STOP",
        "NEVER",
        "EVER",
        "AGAIN",
        "HELP",
        "CODE",
        "BLUE",
        "RED",
        "NEW",
        "NOW",
        "TODAY",
        "FREE",
        "SALE",
        "OFF",
        "NOTE",
        "PSA",
        "URGENT",
        "UPDATE",
        "REMINDER",
        "ALERT",
        "WARNING",
        "FYI",
        "ASAP",
    }
)


def recase_capitals(text: str) -> str:
    """Names written in capitals ("MARIA GONZALEZ") title-cased, so that the NER sees them.

    Same length as ``text``, so entity offsets still point into the original. Runs of two or
    three capitalized words only, none a common shouted word or acronym, in a post that is not
    shouting as a whole.
    """
    if sum(c.islower() for c in text) < 8:
        return text  # all shouting, or too short to tell

    def fix(m: re.Match[str]) -> str:
        words = m.group().split()
        if any(w.strip("'’-") in _NOT_NAMES for w in words):
            return m.group()
        run = m.group()
        return "".join(
            c.lower() if prev.isalpha() else c for prev, c in zip(" " + run[:-1], run, strict=True)
        )

    return _CAPS_RUN.sub(fix, text)


class NerEngine:
    """Names, places, dates and nationalities from the spaCy model, through presidio.

    ``analyze_many`` batches texts through ``nlp.pipe`` with every component but ``ner``
    disabled; ``analyze_one`` runs the same on a single text (for the no-shortcut mode).
    """

    def __init__(self, model: str) -> None:
        self.model = model
        self.nlp_engine = spacy_nlp_engine(model)
        self.nlp = self.nlp_engine.nlp[LANGUAGE]
        self.disabled = [name for name in self.nlp.pipe_names if name != "ner"]
        self.recognizer = SpacyRecognizer(
            supported_language=LANGUAGE,
            supported_entities=list(self.nlp_engine.get_supported_entities()),
        )
        self._entities = list(self.recognizer.supported_entities)

    def _results(self, doc: Any) -> list[RecognizerResult]:
        _people_called_organizations(doc)
        results = self.recognizer.analyze(doc.text, self._entities, self._artifacts(doc))
        return list(EntityRecognizer.remove_duplicates(results))

    def _artifacts(self, doc: Any) -> NlpArtifacts:
        """What ``SpacyRecognizer`` reads of presidio's artifacts: the entities and their scores.

        presidio's ``_doc_to_nlp_artifact`` also lemmatizes every token and derives keywords,
        for context enhancers this engine never runs: a sixth of the NER pass, for nothing.
        """
        engine = self.nlp_engine
        entities = engine._get_entities(doc)
        entities, scores = engine._get_updated_entities(
            entities, engine._get_scores_for_entities(doc)
        )
        return NlpArtifacts(
            entities=entities,
            tokens=doc,
            tokens_indices=[],
            lemmas=[],
            nlp_engine=None,
            language=LANGUAGE,
            scores=scores,
        )

    def analyze_one(self, text: str) -> list[RecognizerResult]:
        with self.nlp.select_pipes(disable=self.disabled):
            doc = self.nlp(recase_capitals(text))
        return self._results(doc)

    def analyze_many(self, texts: list[str], batch_size: int = 64) -> list[list[RecognizerResult]]:
        recased = [recase_capitals(t) for t in texts]
        docs = self.nlp.pipe(recased, batch_size=batch_size, disable=self.disabled)
        return [self._results(doc) for doc in docs]


def _people_called_organizations(doc: Any) -> None:
    """Relabel the model's ORG spans that read as a person's name (``census_names``)."""
    from spacy.tokens import Span

    from monitor.policy.census_names import looks_like_person

    changed = False
    ents = []
    for ent in doc.ents:
        if ent.label_ == "ORG" and looks_like_person([t.text for t in ent]):
            ent = Span(doc, ent.start, ent.end, label="PERSON")
            changed = True
        ents.append(ent)
    if changed:
        doc.ents = ents


@lru_cache(maxsize=2)
def ner_engine(model: str) -> NerEngine:
    """The NER engine for ``model``, built once per process."""
    return NerEngine(model)
