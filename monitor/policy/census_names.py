"""First names and surnames from the 1990 US Census, as shipped by the ``names`` package.

Why: the small spaCy model often calls a two-word name an organization ("Amber Lowry" comes
back ORG), and presidio drops organizations. A span the model tagged ORG whose words are a
census first name and surname is a person. The lists are public domain (the package is MIT).
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

# Words that make an ORG span an organization even when they are also surnames.
ORGANIZATION_WORDS = frozenset(
    [
        "academy", "alert", "associates", "association", "ave", "avenue", "bank", "baptist",
        "bar", "bay", "beach", "blvd", "boulevard", "cafe", "cardio", "cardiology", "care",
        "catholic", "center", "centre", "church", "city", "clinic", "club", "college", "county",
        "creek", "cross", "dental", "department", "derm", "diner", "drive", "east",
        "elementary", "eye", "falls", "family", "fitness", "fort", "foundation", "general",
        "grill", "group", "grove", "gym", "harbor", "health", "heart", "heights", "high",
        "hills", "hospital", "insurance", "lab", "labs", "lake", "lakeshore", "lane",
        "lutheran", "market", "medical", "medicine", "memorial", "mercy", "methodist", "mount",
        "new", "north", "ortho", "park", "partners", "pediatrics", "pharmacy", "physical",
        "port", "pub", "rd", "rehab", "ridge", "river", "riverside", "road", "saint", "school",
        "services", "shield", "skin", "south", "springs", "st", "station", "street", "team",
        "therapy", "university", "urgent", "valley", "vision", "way", "west",
    ]
)  # fmt: skip


def _column(filename: str, limit: int | None = None) -> frozenset[str]:
    """The names of a census file (most frequent first), the first ``limit`` of them."""
    text = files("names").joinpath(filename).read_text(encoding="ascii")
    rows = [line.split()[0].lower() for line in text.splitlines() if line.strip()]
    return frozenset(rows[:limit])


@lru_cache(maxsize=1)
def first_names() -> frozenset[str]:
    """Lower-case first names (female and male)."""
    return _column("dist.female.first") | _column("dist.male.first")


@lru_cache(maxsize=1)
def surnames() -> frozenset[str]:
    """Lower-case surnames."""
    return _column("dist.all.last")


@lru_cache(maxsize=1)
def common_surnames() -> frozenset[str]:
    """The 20,000 most frequent surnames: the long tail holds words ("never", "shell")."""
    return _column("dist.all.last", 20_000)


def looks_like_person(words: list[str]) -> bool:
    """Whether 2-3 capitalized words read as a first name and a surname, not an organization.

    A lone first name is left alone: as an ORG it is as often a brand or a word ("Grace",
    "Athena", "Lincoln") as a person."""
    if not 2 <= len(words) <= 3 or not all(
        w[:1].isupper() and w[1:].islower() and w.isalpha() for w in words
    ):
        return False
    lowered = [w.lower() for w in words]
    if any(w in ORGANIZATION_WORDS for w in lowered):
        return False
    first, last = lowered[0], lowered[-1]
    if first in first_names():
        return last in surnames()
    # A first name too recent for the 1990 lists ("Kayden Morris"): an unknown word before a
    # surname.
    return len(lowered) == 2 and last in surnames() and first not in surnames()
