"""Scanner throughput against the naive presidio baseline, and the shortcuts' equivalence.

    python benchmarks/scan_throughput.py              # 5,000 generated posts (issue 4)
    python benchmarks/scan_throughput.py --posts 1000 --repeat 1  # quicker

Prints, for the same generated posts and the same spaCy pipeline (``[policy] spacy_model``):

* **baseline**: one ``AnalyzerEngine.analyze()`` per post with presidio's default registry and
  settings (the engine built from an explicit ``NlpEngineProvider`` configuration, since the
  default one would try to download ``en_core_web_lg``);
* **scanner**: ``Scanner.scan_many`` (pattern pass, NER only where a rule needs it, batched,
  worker processes per ``--workers``; 0 = one per core), including the policy's rules and
  masked excerpts, which the baseline does not even do;

posts per second, peak resident memory (each side runs in its own fresh process, so that one
does not inherit the other's peak; the scanner's workers are reported apart), and the speed-up.
The two sides run ``--repeat`` times (default 3), alternating, and each is credited with its
fastest run: on a shared 2-core machine a scan of a few seconds varied by ±20% from run to run.
Then it scans the labeled dev corpus with every shortcut off and on and checks the findings
are identical (exit 1 if not). Target (issue 4): speed-up >= 5 on two cores.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.config import PolicySettings, load_config  # noqa: E402
from monitor.domain import Author, Channel, PostContext  # noqa: E402

DEV_CORPUS = ROOT / "tests" / "data" / "policy_corpus.jsonl"
DEV_CONFIG = ROOT / "tests" / "data" / "policy_corpus.toml"
TARGET_SPEEDUP = 5.0

FIRST = [
    "Eleanor",
    "Marcus",
    "Priya",
    "Tom",
    "Aisha",
    "Wei",
    "Carlos",
    "Fatima",
    "Grace",
    "Omar",
    "Linda",
    "Raj",
    "Sofia",
    "Ben",
]
LAST = [
    "Whitfield",
    "Okafor",
    "Chen",
    "Garcia",
    "Novak",
    "Patel",
    "Brooks",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "Kim",
]
CITIES = ["Springfield", "Dayton", "Boston", "Chicago", "Austin", "Portland", "Madison"]
CONDITIONS = ["pneumonia", "a broken hip", "chest pain", "diabetes", "a bad UTI", "shingles"]
TEMPLATES = [
    # neutral and general health (most of a real feed)
    "Beautiful morning run along the river before my shift, {n} miles and a coffee. "
    "Anyone else training for the {city} half marathon this spring?",
    "Flu cases are up this week across {city}. Wash your hands, stay home if you are sick, "
    "and get your flu shot if you have not yet. It is not too late!",
    "Long shift, exhausted. Going to sleep for twelve hours and then make pancakes for "
    "the whole family. Weekend plans: absolutely nothing at all.",
    "Great turnout at the community health fair today! Thanks to everyone who stopped by "
    "for blood pressure checks and free sunscreen samples.",
    "Reading a fascinating article about sleep and heart health. Seven hours really does "
    "matter, folks. Put the phone down at night!",
    "Proud of our team for finishing the new vaccine clinic setup before the deadline. "
    "Pizza is on me tomorrow, you all earned it.",
    "Does anyone have a good recipe for lentil soup? Trying to eat less meat this year and "
    "my kids are not convinced yet.",
    # identifiers without care, and care without identifiers
    "Happy birthday to my sister {first}! Dinner at that new place in {city} on Friday, "
    "call me at 312-555-{four} if you want to join us.",
    "We saw a lot of {cond} this winter. Statistics from the state show cases doubled "
    "compared with last year, mostly in older adults.",
]
# The posts that matter: about one post in seven in the generated feed (staff feeds are mostly
# everyday life; --violations changes the share).
VIOLATIONS = [
    "Crazy night. {first} {last} came in with {cond} again, third time this month, and "
    "nobody on the team could believe it. Room {room} is a circus.",
    "The {age}-year-old in bed {room} keeps pulling out her IV and yelling at the night "
    "nurse. Pray for me, still six hours to go on this shift.",
    "Guess who showed up in the ER tonight: my neighbour's son, with {cond}. Small town "
    "problems, everyone knows everyone around here.",
    "Pulled chart #{mrn} for the wrong patient today, MRN mixups are the worst. Fixed it "
    "before anyone noticed, but wow, what a day.",
    "@{handle} sounds like {cond} to me, take the leftover amoxicillin from last time and "
    "you will be fine in a couple of days, no need to come in.",
    "Snapped a pic of the census board for the group chat lol, look at room {room}. "
    "Management would kill me if they saw this.",
]


def generate_posts(count: int, seed: int = 4, violations: float = 0.15) -> list[PostContext]:
    """Deterministic, realistic-looking posts (~25-35 words); ``violations`` touch patients."""
    rng = random.Random(seed)
    channels = list(Channel)
    posts = []
    for i in range(count):
        template = rng.choice(VIOLATIONS if rng.random() < violations else TEMPLATES)
        text = template.format(
            n=rng.randint(3, 12),
            city=rng.choice(CITIES),
            first=rng.choice(FIRST),
            last=rng.choice(LAST),
            cond=rng.choice(CONDITIONS),
            room=rng.randint(1, 40),
            age=rng.randint(19, 97),
            mrn=rng.randint(1000000, 9999999),
            four=rng.randint(100, 199) * 10 + rng.randint(0, 9),
            handle=rng.choice(FIRST).lower() + str(rng.randint(1, 99)),
        )
        author = Author(
            name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            role=rng.choice(["nurse", "physician", "front_desk", "other"]),
            bio=rng.choice(["Nurse. Runner. Dog mom.", "Views my own.", ""]),
        )
        posts.append(
            PostContext(
                id=str(i),
                text=text,
                platform="x",
                channel=rng.choice(channels),
                author=author,
            )
        )
    return posts


def _peak_mb() -> tuple[float, float]:
    """Peak RSS of this process and of its largest finished child, in MB."""
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return me, children


def run_baseline(model: str, count: int, violations: float, out: Any) -> None:
    """One default ``AnalyzerEngine.analyze()`` per post (runs in a fresh process)."""
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    from monitor.policy.nlp import provider_configuration  # sets tldextract offline first

    posts = generate_posts(count, violations=violations)
    engine = NlpEngineProvider(nlp_configuration=provider_configuration(model)).create_engine()
    analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])
    analyzer.analyze(posts[0].text, language="en")  # warm up: lazy recognizer loading
    start = time.perf_counter()
    entities = 0
    for post in posts:
        entities += len(analyzer.analyze(post.text, language="en"))
    seconds = time.perf_counter() - start
    me, children = _peak_mb()
    out.put({"seconds": seconds, "peak_mb": me, "children_mb": children, "entities": entities})


def run_scanner(
    settings: PolicySettings, count: int, violations: float, workers: int, out: Any
) -> None:
    """``Scanner.scan_many`` over the same posts (runs in a fresh process)."""
    from monitor.cli.scan import build_scanner

    posts = generate_posts(count, violations=violations)
    scanner = build_scanner(settings.model_copy(update={"workers": workers}))
    scanner.scan_many(posts[:20])  # warm up: load engines like the baseline's first call
    scanner.ner_posts = 0
    start = time.perf_counter()
    results = scanner.scan_many(posts)
    seconds = time.perf_counter() - start
    me, children = _peak_mb()
    out.put(
        {
            "seconds": seconds,
            "peak_mb": me,
            "children_mb": children,
            "findings": sum(len(r) for r in results),
            "ner_posts": scanner.ner_posts,
            "workers": scanner.workers,
        }
    )


def _in_fresh_process(target: Any, *args: Any) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=target, args=(*args, queue))
    process.start()
    result: dict[str, Any] = queue.get()
    process.join()
    return result


def _corpus() -> list[PostContext]:
    posts = []
    for line in DEV_CORPUS.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        author = row.get("author") or {}
        posts.append(
            PostContext(
                id=str(row["id"]),
                text=row["text"],
                platform=row.get("platform", ""),
                channel=Channel(row.get("channel", "public")),
                author=Author(
                    author.get("name", ""), author.get("role", ""), author.get("bio", "")
                ),
            )
        )
    return posts


def check_equivalence(settings: PolicySettings) -> tuple[bool, int, int, int]:
    """(identical?, posts, posts whose findings differ, posts that skipped NER) on the corpus."""
    from monitor.cli.scan import build_scanner

    posts = _corpus()
    fast = build_scanner(settings.model_copy(update={"workers": 1}))
    slow = build_scanner(settings.model_copy(update={"workers": 1}), shortcuts=False)
    fast_results = fast.scan_many(posts)
    slow_results = slow.scan_many(posts)
    differ = sum(1 for a, b in zip(fast_results, slow_results, strict=True) if a != b)
    return differ == 0, len(posts), differ, len(posts) - fast.ner_posts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=0, help="0: one per core")
    parser.add_argument(
        "--repeat", type=int, default=3, help="alternating runs per side; the fastest counts"
    )
    parser.add_argument(
        "--violations", type=float, default=0.15, help="share of posts touching patients"
    )
    parser.add_argument("--config", default=str(DEV_CONFIG), help="[policy] to scan under")
    args = parser.parse_args()
    settings = load_config(args.config).policy
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"{args.posts} generated posts ({args.violations:.0%} touching patients), "
        f"model {settings.spacy_model}, {cores} cores, load {os.getloadavg()[0]:.1f}"
    )

    # Runs alternate (baseline, scanner, baseline, ...), each in a fresh process, and each side
    # is credited with its fastest run: a shared machine's noise slows runs, it never speeds
    # them up, and alternating exposes both sides to the same spells of it.
    bases, scans = [], []
    for run in range(1, args.repeat + 1):
        base = _in_fresh_process(run_baseline, settings.spacy_model, args.posts, args.violations)
        bases.append(base)
        print(
            f"run {run}  baseline  (analyze() per post):   {args.posts / base['seconds']:8.1f} "
            f"posts/s  {base['seconds']:6.1f} s  peak {base['peak_mb']:.0f} MB"
        )
        scan = _in_fresh_process(run_scanner, settings, args.posts, args.violations, args.workers)
        scans.append(scan)
        print(
            f"run {run}  scanner   (workers={scan['workers']}):            "
            f"{args.posts / scan['seconds']:8.1f} posts/s  {scan['seconds']:6.1f} s  "
            f"peak {scan['peak_mb']:.0f} MB (+ largest worker {scan['children_mb']:.0f} MB)"
        )
    base = min(bases, key=lambda r: r["seconds"])
    scan = min(scans, key=lambda r: r["seconds"])
    base_rate = args.posts / base["seconds"]
    scan_rate = args.posts / scan["seconds"]
    print(
        f"best of {args.repeat}: baseline {base_rate:.1f} posts/s, scanner {scan_rate:.1f} posts/s"
    )
    ner_share = scan["ner_posts"] / args.posts
    print(
        f"  NER ran on {scan['ner_posts']} of {args.posts} posts ({ner_share:.0%}); "
        f"{scan['findings']} findings"
    )
    if args.repeat > 1:
        ratios = sorted(b["seconds"] / s["seconds"] for b, s in zip(bases, scans, strict=True))
        print(f"  speed-up run by run: {', '.join(f'{r:.1f}x' for r in ratios)} (sorted)")
    speedup = scan_rate / base_rate
    verdict = "met" if speedup >= TARGET_SPEEDUP else "NOT met"
    print(f"speed-up: {speedup:.1f}x (target >= {TARGET_SPEEDUP:.0f}x: {verdict})")

    same, total, differ, skipped = check_equivalence(settings)
    print(
        f"dev corpus, shortcuts on vs off: {total} posts, NER skipped on {skipped}, "
        f"findings differ on {differ} -> {'identical' if same else 'DIFFERENT'}"
    )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
