"""Custom presidio recognizers for what presidio lacks and a medical practice needs.

Entity types added here (stable names: rules match on them, findings and excerpts show them):

``MEDICAL_RECORD_NUMBER``
    A record, chart, patient or prescription number ("MRN 00482917", "chart #4471823",
    "Rx# 6012345"). The span is the number only, not its label.
``MEMBER_ID``
    A health plan member, subscriber, policy, group or Medicare/Medicaid id ("member ID
    XJH4482017", presidio's MBI format "1EG4-TE5-MK72"). The span is the id only.
``ACCOUNT_NUMBER``
    A billing account, invoice, claim, prior-authorization or referral number ("acct #
    55012873", "claim no. 88120045"). The span is the number only.
``ROOM_NUMBER``
    A room, bed, bay or cubicle ("room 12", "bed 4", "exam rm 3B", "ICU bed two"). The span
    includes the word ("bed 4") so that a masked excerpt still reads.
``AGE``
    A person's age ("82-year-old", "82 yo", "aged 82", "45F", "in her 80s", "turned 90").
    Ages above 120 are not ages ("a 300-year-old building").
``RELATIONSHIP``
    A person identified through someone else or a place ("my neighbour's son", "my kid's
    teacher", "a friend of mine", "the lady in bed 4", "the patient's daughter").
``CHART_PHOTO``
    A described photo or screenshot of a chart, screen, record, scan or whiteboard ("pic of
    his chart", "EHR screenshot", "[photo: census board]").
``STREET_ADDRESS``
    A house number and street ("42 Birch Lane", "18 Orchard Rd"): where a patient lives. The
    spaCy model rarely tags these, and presidio has no US street recognizer.
``PERSON`` (by pattern)
    A person named through a title or a family ("Mrs. Alvarez", "Ms. R", "the Sanchez kid",
    "the Thompson boy"): forms the small spaCy model often misses or calls an organization.

Presidio's own medical recognizers, off by default, are switched on here under these names:
its health-insurance member id and MBI recognizers report ``MEMBER_ID``, its prescription
number recognizer ``MEDICAL_RECORD_NUMBER``, and its claim, prior-authorization and referral
recognizers ``ACCOUNT_NUMBER``. Presidio's NPI and provider tax id are left off: they identify
clinicians and practices, not patients.

Identifier spans exclude their label with the ``regex`` module's keep-out marker (backslash K;
presidio matches with ``regex``): far cheaper than a variable-width lookbehind tried at every
position.

Two of presidio's patterns are quadratic on a long run of ``a-a-a-…`` or ``aa.aa.aa…`` (40,000
such characters cost 8-20 s each) and are replaced by linear equivalents: the member id's
lookaheads scan the whole run at every word boundary (its letter check is implied by the
match's leading letters; its digit check is bounded to the id's 20 characters), and the
schema-less URL pattern is retried at every character of a run (it now starts only where a run
of host characters starts). A test checks they find what presidio's originals find.

Each recognizer is declarative (patterns, context words, an ``invalidate_result`` hook where a
pattern alone over-matches), one concept per class. Scores follow presidio's scale: a strong
pattern (label + identifier) scores 0.85; a weak one stays below the analyzer's threshold
unless a context word nearby raises it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import ClassVar

# isort: off
import monitor.policy.nlp  # noqa: F401  (sets tldextract's offline environment first)

# isort: on
from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer
from presidio_analyzer.predefined_recognizers import (
    UrlRecognizer,
    UsClaimNumberRecognizer,
    UsHealthInsuranceMemberIdRecognizer,
    UsMbiRecognizer,
    UsPrescriptionNumberRecognizer,
    UsPriorAuthorizationNumberRecognizer,
    UsReferralNumberRecognizer,
)

MEDICAL_RECORD_NUMBER = "MEDICAL_RECORD_NUMBER"
MEMBER_ID = "MEMBER_ID"
ACCOUNT_NUMBER = "ACCOUNT_NUMBER"
ROOM_NUMBER = "ROOM_NUMBER"
AGE = "AGE"
RELATIONSHIP = "RELATIONSHIP"
CHART_PHOTO = "CHART_PHOTO"
STREET_ADDRESS = "STREET_ADDRESS"

CUSTOM_ENTITIES = (
    MEDICAL_RECORD_NUMBER,
    MEMBER_ID,
    ACCOUNT_NUMBER,
    ROOM_NUMBER,
    AGE,
    RELATIONSHIP,
    CHART_PHOTO,
    STREET_ADDRESS,
)


def _words(text: str) -> list[str]:
    return text.split()


def _alt(words: Iterable[str]) -> str:
    """A non-capturing alternation, longest first so that "bedside" wins over "bed"."""
    return "(?:" + "|".join(sorted(words, key=len, reverse=True)) + ")"


_NUMBER_WORDS = _words(
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy "
    "eighty ninety hundred"
)
_NUMBER_WORD = _alt(_NUMBER_WORDS)
# A label's optional "#", "no.", "number" or "id" and separator, as a lookbehind tail.
_LABEL_TAIL = r"(?:\s*(?:#|no\.?|num(?:ber)?\.?|id|ID)\s*[:#]?\s*|\s*[:#]\s*|\s+)"


class DeclaredRecognizer(PatternRecognizer):
    """A pattern recognizer declared by class attributes: the entity it finds, its patterns
    and, optionally, the context words that raise its score."""

    ENTITY: ClassVar[str]
    PATTERNS: ClassVar[list[Pattern]]
    CONTEXT: ClassVar[list[str]] = []

    def __init__(self) -> None:
        super().__init__(
            supported_entity=self.ENTITY,
            patterns=self.PATTERNS,
            context=self.CONTEXT,
            name=type(self).__name__,
        )


class MedicalRecordNumberRecognizer(DeclaredRecognizer):
    """Medical record, chart and patient numbers: presidio reads them as dates or nothing."""

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "record number (labelled)",
            r"\b(?:MRN|MR|med(?:ical)?\s+rec(?:ord)?s?|record|chart|patient|pt|"
            r"hospital|encounter|visit|case)" + _LABEL_TAIL + r"\K"
            r"(?=[A-Z0-9-]*\d{4})[A-Z]{0,3}-?\d[\d-]{3,11}\b",
            0.85,
        ),
        Pattern("record number (weak)", r"\b[A-Z]{0,2}\d{6,10}\b", 0.05),
    ]
    CONTEXT: ClassVar[list[str]] = ["mrn", "record", "chart", "patient", "ehr", "emr"]

    ENTITY: ClassVar[str] = MEDICAL_RECORD_NUMBER

    def invalidate_result(self, pattern_text: str) -> bool | None:
        # "patient 2024" is a year, and a label followed by a phone-like run is not a record.
        digits = re.sub(r"\D", "", pattern_text)
        return len(digits) < 4 or (len(digits) == 4 and digits.startswith(("19", "20")))


class MemberIdRecognizer(DeclaredRecognizer):
    """Health plan member, subscriber, policy and group ids, anchored on their label."""

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "member id (labelled)",
            r"\b(?:member|subscriber|insurance|policy|plan|group|medicaid|medicare|"
            r"beneficiary|insured)" + _LABEL_TAIL + r"\K"
            r"(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]{5,20}\b)[A-Z0-9][A-Z0-9-]{4,19}\b",
            0.85,
        ),
        # "(ID 77120934)": an id number with no other label.
        Pattern("id number", r"(?-i:\bID)\s*[:#]?\s*\K[A-Z]{0,3}\d{6,12}\b", 0.6),
    ]
    CONTEXT: ClassVar[list[str]] = ["member", "subscriber", "insurance", "policy", "plan"]

    ENTITY: ClassVar[str] = MEMBER_ID

    def invalidate_result(self, pattern_text: str) -> bool | None:
        digits = re.sub(r"\D", "", pattern_text)
        return len(digits) < 3


class AccountNumberRecognizer(DeclaredRecognizer):
    """Billing account, invoice and statement numbers, anchored on their label."""

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "account number (labelled)",
            r"\b(?:account|acct|a/c|billing|invoice|statement|guarantor|balance)"
            r"\s*(?:#|no\.?|num(?:ber)?\.?|id)\s*[:#]?\s*\K"
            r"[A-Z]{0,4}-?\d[\d-]{3,19}\b",
            0.85,
        ),
        Pattern(
            "account number (after the word)",
            r"\b(?:account|acct)\s+\K(?:[A-Z]{1,4}-?\d(?:-?\d){3,18}|\d(?:-?\d){5,18})\b",
            0.7,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["account", "acct", "billing", "invoice"]

    ENTITY: ClassVar[str] = ACCOUNT_NUMBER


_ROOM_WORD = r"(?:room|rm\.?|bed|bay|cubicle|cube|stall|pod|ward|exam|trauma|resus)"
_ROOM_NUMBER = rf"(?:#?\s*\d{{1,4}}[A-Z]?\b(?:-\d{{1,2}}\b)?|{_NUMBER_WORD}\b)"


class RoomNumberRecognizer(DeclaredRecognizer):
    """Room, bed, bay and cubicle numbers: where a patient lies identifies them on a ward."""

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "room or bed number",
            rf"\b(?:(?:exam|patient|hospital|treatment|procedure|recovery|delivery|labor|"
            rf"icu|nicu|picu|er|ed|or|pacu|l&d)\s+)?{_ROOM_WORD}\s*{_ROOM_NUMBER}",
            0.7,
        ),
        Pattern(
            "in exam 5",
            r"\bin\s+(?:exam|triage|trauma|resus|pod|chair|infusion\s+chair|suite|iso(?:lation)?)"
            r"\s*#?\s*\d{1,3}[A-Z]?\b",
            0.7,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["patient", "pt", "in", "admitted", "discharged"]

    ENTITY: ClassVar[str] = ROOM_NUMBER

    def invalidate_result(self, pattern_text: str) -> bool | None:
        # "exam 2" (a test), "pod 3" alone are weak; keep them only with a room word or when
        # a place is meant ("in exam 5", "in triage 4").
        lowered = pattern_text.lower()
        has_room_word = re.search(r"\b(?:room|rm|bed|bay|cubicle|cube|stall|ward)\b|^in\s", lowered)
        return has_room_word is None


_AGE_UNIT = r"(?:years?|yrs?|months?|mos?|weeks?|wks?|days?)"


class AgeRecognizer(DeclaredRecognizer):
    """A person's age in its usual clinical and colloquial forms."""

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "n-year-old",
            rf"\b(?:\d{{1,3}}|{_NUMBER_WORD}(?:[- ]{_NUMBER_WORD})?)\s*-?\s*{_AGE_UNIT}"
            rf"\s*-?\s*old\b",
            0.8,
        ),
        Pattern("n yo", r"\b\d{1,3}\s*-?\s*(?:yo|y/o|y\.o\.?|yrs?\s+old|yoa)(?![a-z])", 0.8),
        Pattern(
            "aged n",
            r"\b(?:aged?|age:)\s*\d{1,3}\b(?!\s*(?:\+|and\s+(?:up|over|older)))",
            0.6,
        ),
        Pattern("45F", r"(?<![$€£\d.,])\b\d{1,3}\s?(?-i:[MF])\b", 0.5),
        Pattern(
            "in her 80s",
            r"\bin\s+(?:his|her|their)\s+(?:(?:early|mid|late)[- ])?(?:\d0'?s|twenties|"
            r"thirties|forties|fifties|sixties|seventies|eighties|nineties)\b",
            0.6,
        ),
        Pattern("turned 90", r"\b(?:turned|turning|turns)\s+\d{1,3}\b", 0.5),
    ]
    CONTEXT: ClassVar[list[str]] = ["old", "age", "aged", "patient", "pt"]

    ENTITY: ClassVar[str] = AGE

    def invalidate_result(self, pattern_text: str) -> bool | None:
        number = re.search(r"\d+", pattern_text)
        return number is not None and int(number.group()) > 120


_KIN = _words(
    "son daughter kid kids child children baby wife husband partner spouse mom mum mother "
    "dad father brother sister sibling aunt uncle cousin niece nephew grandma grandmother "
    "grandpa grandfather grandson granddaughter grandkid grandchild boyfriend girlfriend "
    "fiance fiancé fiancee fiancée in-laws mother-in-law father-in-law stepson stepdaughter "
    "stepmom stepdad twin twins"
)
_ACQUAINTANCE = _words(
    "neighbour neighbor friend bestie coworker co-worker colleague boss manager roommate "
    "landlord tenant teacher coach pastor priest rabbi classmate ex babysitter nanny "
    "hairdresser barber trainer mechanic mailman"
)
_PERSON_NOUN = _words(
    "lady woman man guy gentleman gent girl boy kid child baby patient pt dude grandma "
    "grandpa granny mom dad mother father teen teenager toddler infant newborn fella chick"
)


_ANYONE = _alt(_KIN + _ACQUAINTANCE)


class RelationshipRecognizer(DeclaredRecognizer):
    """People identified through someone the reader may know, or through where they lie."""

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "my X's Y",
            rf"\b(?:my|our)\s+(?:(?:best|next-door|next\s+door|old|former|new|little|"
            rf"older|younger|oldest|youngest|ex-?)\s+)?{_ANYONE}(?:'s|’s)\s+(?:\w+\s+)?"
            rf"{_ANYONE}\b",
            0.85,
        ),
        Pattern(
            "the lady in bed 4",
            rf"\b(?:the|that|this|our|my)\s+(?:\w+\s+){{0,2}}?{_alt(_PERSON_NOUN)}\s+"
            rf"(?:in|from|at)\s+(?:the\s+)?(?:(?:exam|icu|er|ed)\s+)?{_ROOM_WORD}\s*"
            rf"{_ROOM_NUMBER}",
            0.85,
        ),
        Pattern(
            "a friend of mine",
            rf"\b(?:a|an|one)\s+(?:\w+\s+)?{_alt(_ACQUAINTANCE + _KIN)}\s+of\s+(?:mine|ours)\b",
            0.7,
        ),
        Pattern(
            "the patient's daughter",
            rf"\b(?:patient|pt|client|resident)(?:'s|’s)\s+{_alt(_KIN)}\b",
            0.7,
        ),
        Pattern(
            "my neighbour",
            rf"\bmy\s+(?:(?:best|next-door|next\s+door|old|former|new)\s+)?"
            rf"{_alt(_ACQUAINTANCE)}\b(?!(?:'s|’s))",
            0.6,
        ),
        Pattern(
            "someone from my church",
            r"\b(?:someone|somebody|a\s+(?:guy|lady|woman|man|girl|boy|mom|dad|kid))\s+"
            r"(?:from|at|in)\s+my\s+(?:\w+\s+)?(?:church|gym|school|class|building|street|"
            r"block|team|office|neighbou?rhood|book\s+club|running\s+club|yoga\s+class)\b",
            0.7,
        ),
    ]

    ENTITY: ClassVar[str] = RELATIONSHIP


_PHOTO = (
    r"(?:photo|photos|pic|pics|picture|pictures|image|images|screenshot|screenshots|"
    r"screen\s?shot|screen\s?grab|screencap|snap|snapshot|video|vid|selfie)"
)
_CHART_THING = (
    r"(?:chart|charts|charting|ehr|emr|epic|cerner|athena|meditech|ecw|screen|monitor|"
    r"whiteboard|white\s?board|census(?:\s+board)?|tracking\s+board|board|x-?rays?|xrays?|"
    r"scans?|mri|ct|cat\s+scan|ultrasound|sonogram|ekg|ecg|lab\s+results?|labs|results|"
    r"wristband|arm\s?band|med\s+list|medication\s+list|med\s+rec|mar|patient\s+list|"
    r"schedule|face\s?sheet|intake\s+form|file|records?|rx|prescription|label|"
    r"pill\s+bottle|wound|incision|rash|injury|x-ray)"
)


class ChartPhotoRecognizer(DeclaredRecognizer):
    """A described photo or screenshot of a chart, a screen, a record, a scan or a wound."""

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "photo of the chart",
            rf"\b{_PHOTO}\s+(?:[\w'’]+\s+){{0,3}}?(?:of|from|showing|with)\s+"
            rf"(?:[\w'’]+\s+){{0,3}}?{_CHART_THING}\b",
            0.8,
        ),
        Pattern("EHR screenshot", rf"\b{_CHART_THING}\s+{_PHOTO}\b", 0.8),
        Pattern(
            "[photo: ...] with a chart in it",
            r"[\[(]\s*(?:photo|image|pic|picture|screenshot|video|attached|attachment|img)"
            r"\b[^\])\n]{0,160}[\])]",
            0.85,
        ),
        Pattern(
            "snapped the chart",
            rf"\b(?:snapped|took|posting|posted|sharing|shared|attached|attaching|uploaded)\s+"
            rf"(?:a\s+)?(?:{_PHOTO}\s+of\s+)?(?:the|his|her|their|this|that|a)\s+(?:[\w'’]+\s+)?"
            rf"{_CHART_THING}\b",
            0.6,
        ),
    ]
    # In brackets, a list of people's names or birth dates is a chart whatever it is written on
    # ("[photo: the sign-in sheet, patient names visible]").
    _CHART_IN_BRACKETS: ClassVar[re.Pattern[str]] = re.compile(
        rf"\b(?:{_CHART_THING}|(?:patient|pt|client|resident)s?['’]?\s+(?:full\s+)?names?|"
        r"names?\s+and\s+(?:dobs?|birth\s?dates?|addresses)|dobs?|birth\s?dates?|mrns?|"
        r"accession|worklist|sign-?in\s+sheet)\b",
        re.IGNORECASE,
    )

    ENTITY: ClassVar[str] = CHART_PHOTO

    def invalidate_result(self, pattern_text: str) -> bool | None:
        # Bracketed alt text ("[photo: sunset at the lake]") only counts if it shows a chart.
        if pattern_text[:1] in "[(":
            return self._CHART_IN_BRACKETS.search(pattern_text) is None
        return None


class EmailShapeRecognizer(DeclaredRecognizer):
    """E-mail addresses by shape alone.

    presidio's e-mail recognizer drops an address whose top-level domain is not a public
    suffix ("jo@mail.example", a mistyped ".con"): still a contact detail for a reader.
    """

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "e-mail (shape)",
            r"(?<![\w.+-])[A-Za-z0-9][\w.+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?![\w-])",
            0.5,
        ),
    ]

    ENTITY: ClassVar[str] = "EMAIL_ADDRESS"


class DateOfBirthRecognizer(DeclaredRecognizer):
    """A birth date written short ("DOB 01/14", "born 11/3"): presidio wants a year."""

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "DOB mm/dd",
            r"\b(?:DOB|D\.O\.B\.?|born(?:\s+on)?|b-?day|birthday)\s*[:#]?\s*\K"
            r"\d{1,2}[/-]\d{1,2}(?:[/-]\d{2,4})?\b",
            0.7,
        ),
    ]

    ENTITY: ClassVar[str] = "DATE_TIME"


class NanpPhoneRecognizer(DeclaredRecognizer):
    """North American phone numbers by shape alone.

    presidio's phone recognizer validates numbers with ``phonenumbers``, which rejects the 555
    exchange and unassigned area codes that people still write (and the NER then calls
    "(555) 390-2281" a date). A score of 0.4 matches presidio's own uncontexted phones.
    """

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "NANP phone (shape)",
            r"(?<![\w/.-])(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]\d{4}(?![\w/])",
            0.4,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["phone", "cell", "call", "text", "number", "mobile"]

    ENTITY: ClassVar[str] = "PHONE_NUMBER"


_STREET_TYPE = _alt(
    _words(
        "st street rd road ave avenue ln lane dr drive blvd boulevard ct court way pl place "
        "ter terrace cir circle pkwy parkway hwy highway trl trail loop row"
    )
)


class StreetAddressRecognizer(DeclaredRecognizer):
    """A house number and a named street: a patient's home, a home visit, a delivery."""

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "house number and street",
            r"\b\d{1,5}(?:-?[A-Za-z])?\s+(?:(?-i:[NSEW])\.?\s+)?"
            r"(?-i:[A-Z][a-z]+|\d{1,3}(?:st|nd|rd|th))(?:\s+(?-i:[A-Z][a-z]+)){0,2}\s+"
            rf"{_STREET_TYPE}\b\.?",
            0.7,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["lives", "address", "house", "home", "at", "on"]

    ENTITY: ClassVar[str] = STREET_ADDRESS


_FAMILY_NOUN = _alt(
    _words("kid kids boy boys girl girls baby babies family twins brothers sisters household clan")
)


class NameReferenceRecognizer(DeclaredRecognizer):
    """People named by a title or a family ("Mrs. Alvarez", "Ms. R", "the Sanchez kid").

    Reported as ``PERSON``, like the NER's names, so allowlists and masking treat them alike.
    "Dr." is left out: a doctor named in a post is mostly the practice's own clinician.
    """

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "title and surname",
            # "Mrs. Eleanor Whitfield" is left to the NER (a full name it reads well).
            r"(?-i:\b(?:Mr|Mrs|Ms|Miss|Mx)\.?\s+(?:[A-Z][a-z]+(?:[-'’][A-Z]?[a-z]+)?|[A-Z])\b"
            r"\.?(?!\s+[A-Z]))",
            0.7,
        ),
        Pattern(
            "LAST, FIRST on a label",
            r"(?-i:\b[A-Z]{4,}(?:-[A-Z]+)?,\s?[A-Z](?:[A-Z]+|\b\.?)(?:\s[A-Z]\b)?)",
            0.6,
        ),
        Pattern(
            "Baby Okonkwo",
            r"(?-i:\b(?:[Bb]aby|BABY)\s+(?:(?:[Gg]irl|[Bb]oy|GIRL|BOY)\s+)?(?:[A-Z][a-z]+|[A-Z]{3,})\b)",
            0.6,
        ),
        Pattern(
            "the Sanchez kid",
            rf"(?-i:\bthe\s+\K[A-Z][a-z]{{2,}}(?:[-'’][A-Z][a-z]+)?)(?=\s+{_FAMILY_NOUN}\b)",
            0.6,
        ),
    ]

    _LABEL: ClassVar[re.Pattern[str]] = re.compile(r"([A-Z]{4,})(?:-[A-Z]+)?,")

    ENTITY: ClassVar[str] = "PERSON"

    def invalidate_result(self, pattern_text: str) -> bool | None:
        # "LAST, FIRST" only where LAST is a surname: not a shouted "PLEASE, STOP".
        label = self._LABEL.match(pattern_text)
        if label is None:
            return None
        from monitor.policy.census_names import common_surnames

        return label.group(1).lower() not in common_surnames()


def custom_recognizers() -> list[EntityRecognizer]:
    """Fresh instances of this module's recognizers, one per concept."""
    return [
        MedicalRecordNumberRecognizer(),
        MemberIdRecognizer(),
        AccountNumberRecognizer(),
        RoomNumberRecognizer(),
        AgeRecognizer(),
        RelationshipRecognizer(),
        ChartPhotoRecognizer(),
        StreetAddressRecognizer(),
        NameReferenceRecognizer(),
    ]


# Presidio's weak member id: r"\b(?=[A-Z0-9-]{6,20}\b)(?=[A-Z0-9-]*[A-Z])(?=[A-Z0-9-]*\d)"
# r"[A-Z]{1,5}-?[A-Z0-9]{5,14}\b" (see the module docstring).
LINEAR_MEMBER_ID = Pattern(
    UsHealthInsuranceMemberIdRecognizer.PATTERNS[0].name,
    r"\b(?=[A-Z0-9-]{6,20}\b)(?=[A-Z-]{0,19}\d)[A-Z]{1,5}-?[A-Z0-9]{5,14}\b",
    UsHealthInsuranceMemberIdRecognizer.PATTERNS[0].score,
)


def linear_url_recognizer() -> UrlRecognizer:
    """Presidio's URL recognizer, its schema-less patterns started only at a run's start."""
    patterns = []
    for pattern in UrlRecognizer.PATTERNS:
        regex = pattern.regex
        if regex == "(?i)" + UrlRecognizer.BASE_URL_REGEX:
            regex = r"(?i)(?<![a-z0-9.\-])" + UrlRecognizer.BASE_URL_REGEX
        patterns.append(Pattern(pattern.name, regex, pattern.score))
    return UrlRecognizer(patterns=patterns)


def shipped_medical_recognizers() -> list[EntityRecognizer]:
    """Presidio's medical recognizers that are off by default, renamed to our entity types."""
    return [
        UsHealthInsuranceMemberIdRecognizer(
            supported_entity=MEMBER_ID, patterns=[LINEAR_MEMBER_ID]
        ),
        UsMbiRecognizer(supported_entity=MEMBER_ID),
        UsPrescriptionNumberRecognizer(supported_entity=MEDICAL_RECORD_NUMBER),
        UsClaimNumberRecognizer(supported_entity=ACCOUNT_NUMBER),
        UsPriorAuthorizationNumberRecognizer(supported_entity=ACCOUNT_NUMBER),
        UsReferralNumberRecognizer(supported_entity=ACCOUNT_NUMBER),
    ]
