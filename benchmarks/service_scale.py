"""Service scale-out: 1, 2 and 4 ``run --once`` instances over the same backlog on PostgreSQL.

A local fake X API (its own process, 127.0.0.1) serves many staff timelines whose posts are
realistic texts from the labeled dev corpus, so the scan — the heavy part — does real work.
For each instance count the benchmark starts from an empty schema, registers the sources,
starts the instances together and waits for all of them; it prints the wall time, posts
processed per second (synced, scanned, alerted) and the speed-up over one instance, and
checks that every post was stored and scanned exactly once.

    .venv/bin/python benchmarks/service_scale.py [--sources 30] [--posts 100] [--db URL]

Each instance runs with ``[policy] workers = 1`` so the speed-up measures instances, not the
scanner's own worker pool. The machine's cores bound the speed-up (2 cores: at most ~2x).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CORPUS = ROOT / "tests" / "data" / "policy_corpus.jsonl"
BASE_ID = 1_800_000_000_000_000_000
OLDEST = datetime(2024, 1, 1, tzinfo=UTC)


def _texts() -> list[str]:
    return [json.loads(line)["text"] for line in CORPUS.read_text().splitlines() if line.strip()]


def serve(port_queue: Any, users: int, per_user: int) -> None:
    """Users 1..users, each with ``per_user`` posts, newest first, X API v2 shaped."""
    texts = _texts()

    def tweet(user: int, n: int) -> dict[str, Any]:
        tweet_id = str(BASE_ID + user * 1_000_000 + n)
        created = (OLDEST + timedelta(minutes=n)).isoformat().replace("+00:00", ".000Z")
        return {
            "id": tweet_id,
            "text": texts[(user * 7919 + n) % len(texts)],
            "created_at": created,
            "author_id": str(user),
            "conversation_id": tweet_id,
            "edit_history_tweet_ids": [tweet_id],
            "lang": "en",
        }

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            parts = url.path.strip("/").split("/")
            if len(parts) != 4 or parts[:2] != ["2", "users"] or parts[3] != "tweets":
                self.send_response(404)
                self.end_headers()
                return
            user = int(parts[2])
            size = int(query.get("max_results", "100"))
            offset = int(query.get("pagination_token", "0"))
            since = int(query.get("since_id", "0")) - BASE_ID - user * 1_000_000
            numbers = [n for n in range(per_user - offset, 0, -1) if n > since][:size]
            body: dict[str, Any] = {"meta": {"result_count": len(numbers)}}
            if numbers:
                body["data"] = [tweet(user, n) for n in numbers]
                body["meta"].update(
                    newest_id=body["data"][0]["id"], oldest_id=body["data"][-1]["id"]
                )
                if numbers[-1] > max(since, 0) + 1:
                    body["meta"]["next_token"] = str(offset + len(numbers))
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_queue.put(server.server_address[1])
    server.serve_forever()


def _schema_url(base: str, schema: str) -> str:
    from sqlalchemy import make_url

    url = make_url(base).set(drivername="postgresql+psycopg")
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


def _backlog_done(db: Any, total: int) -> bool:
    from sqlalchemy import func, select

    from monitor.storage.models import PostVersion

    with db.session() as session:
        scanned = session.scalar(
            select(func.count())
            .select_from(PostVersion)
            .where(PostVersion.scanned_policy_version.is_not(None))
        )
    return int(scanned or 0) >= total


def run_instances(
    count: int, base_url: str, port: int, users: int, folder: Path, total_posts: int
) -> tuple[float, dict[str, Any]]:
    from sqlalchemy import create_engine, func, select, text

    from monitor.storage import migrate
    from monitor.storage.database import Database
    from monitor.storage.models import Finding, Post, PostVersion, Source

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(_schema_url(base_url, "public"))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = _schema_url(base_url, schema)
    db = Database(url)
    try:
        migrate.upgrade(db)
        with db.session() as session:
            for user in range(1, users + 1):
                session.add(
                    Source(
                        platform="x", kind="profile", handle=f"staff{user}", external_id=str(user)
                    )
                )
        config = folder / f"config-{count}.toml"
        config.write_text(
            "\n".join(
                [
                    "[database]",
                    f'url = "{url}"',
                    "[connectors.x]",
                    f'api_base_url = "http://127.0.0.1:{port}"',
                    "max_retries = 0",
                    "[policy]",
                    'practice_name = "Riverside Family Medicine"',
                    "workers = 1",
                    "[alerts.email]",
                    f'outbox_dir = "{folder / f"outbox-{count}"}"',
                    "[alerts.digest]",
                    "send_at = 00:00:00",
                    "[scheduler]",
                    "scan_batch_size = 100",
                ]
            )
            + "\n"
        )
        env = {**os.environ, "X_BEARER_TOKEN": "benchmark-app-token"}
        started = time.perf_counter()
        command = [sys.executable, "-m", "monitor", "--config", str(config), "run", "--once"]
        procs = [
            subprocess.Popen(
                [*command, "--instance", f"bench-{i}"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(count)
        ]
        # The backlog is done when every post is stored and scanned; the instances then go on
        # to the alerts and the day's digest (once, by one of them), timed apart.
        backlog_done: float | None = None
        while any(proc.poll() is None for proc in procs):
            if backlog_done is None and _backlog_done(db, total_posts):
                backlog_done = time.perf_counter() - started
            time.sleep(0.2)
        for proc in procs:
            _, err = proc.communicate()
            if proc.returncode != 0:
                raise SystemExit(f"instance failed ({proc.returncode}): {err[-2000:]}")
        elapsed = time.perf_counter() - started
        if backlog_done is None:
            backlog_done = elapsed
        with db.session() as session:
            counts = {
                "posts": int(session.scalar(select(func.count()).select_from(Post)) or 0),
                "versions": int(session.scalar(select(func.count()).select_from(PostVersion)) or 0),
                "unscanned": int(
                    session.scalar(
                        select(func.count())
                        .select_from(PostVersion)
                        .where(PostVersion.scanned_policy_version.is_(None))
                    )
                    or 0
                ),
                "findings": int(session.scalar(select(func.count()).select_from(Finding)) or 0),
            }
        counts["backlog_seconds"] = backlog_done  # type: ignore[assignment]
        return elapsed, counts
    finally:
        db.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=30)
    parser.add_argument("--posts", type=int, default=100, help="posts per source")
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument(
        "--db",
        default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"),
        help="PostgreSQL URL (a schema is created and dropped for each run)",
    )
    args = parser.parse_args()
    total = args.sources * args.posts
    queue: Any = multiprocessing.Queue()
    server = multiprocessing.Process(
        target=serve, args=(queue, args.sources, args.posts), daemon=True
    )
    server.start()
    port = queue.get(timeout=30)
    print(
        f"service scale-out: {args.sources} X sources x {args.posts} posts = {total} posts, "
        f"local fake X API, PostgreSQL, {os.cpu_count()} cores"
    )
    results: list[tuple[int, float]] = []
    findings_seen: set[int] = set()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for count in args.instances:
                elapsed, counts = run_instances(
                    count, args.db, port, args.sources, Path(tmp), total
                )
                if counts["posts"] != total or counts["versions"] != total or counts["unscanned"]:
                    raise SystemExit(f"{count} instance(s): incomplete or duplicated: {counts}")
                findings_seen.add(counts["findings"])
                backlog = float(counts["backlog_seconds"])
                results.append((count, backlog))
                base = results[0][1]
                print(
                    f"  {count} instance(s): backlog synced+scanned in {backlog:6.1f} s = "
                    f"{total / backlog:5.0f} posts/s, speed-up {base / backlog:4.2f}x; "
                    f"with alerts and digest {elapsed:5.1f} s; {counts['findings']} findings"
                )
    finally:
        server.terminate()
        server.join()
    if len(findings_seen) != 1:
        raise SystemExit(f"findings differ between runs: {sorted(findings_seen)}")
    print("  every run stored and scanned each post once, with the same findings")


if __name__ == "__main__":
    main()
