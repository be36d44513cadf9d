"""Sync throughput and memory: posts stored per second from a local fake X API.

A small HTTP server on 127.0.0.1 (in its own process, so it does not count in our memory)
serves an account's timeline the way X API v2 does: newest first, ``max_results`` per page,
``meta.next_token``, ``since_id``. The real ``XConnector`` (tweepy underneath) reads it through
its configurable ``api_base_url``, and the real ``SyncService`` stores it in a fresh database.

For each size it prints posts stored per second and the peak of Python allocations
(``tracemalloc``) during the sync, then the ratio of the peaks: storing is page by page, so the
peak must stay flat as the count grows (ratio near 1), whatever the throughput.

    .venv/bin/python benchmarks/sync_throughput.py [--counts 10000 100000] [--db URL]

Without ``--db`` each size gets a new SQLite file in a temporary folder; with a PostgreSQL URL,
a new schema that is dropped afterwards. Throughput is measured with tracemalloc off, the peak in
a second, smaller pass with it on (tracemalloc slows allocation-heavy code several times).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

USER_ID = "1500000000000000001"
BASE_ID = 1_800_000_000_000_000_000
# Old posts, so the reconcile window (7 days) does not ask the fake API about them.
OLDEST = datetime(2024, 1, 1, tzinfo=UTC)


def _tweet(n: int) -> dict[str, Any]:
    tweet_id = str(BASE_ID + n)
    created = (OLDEST + timedelta(minutes=n)).isoformat().replace("+00:00", ".000Z")
    return {
        "id": tweet_id,
        "text": f"Post {n}: flu clinic hours this week are 8am to 6pm, walk-ins welcome. #health",
        "created_at": created,
        "author_id": USER_ID,
        "conversation_id": tweet_id,
        "edit_history_tweet_ids": [tweet_id],
        "lang": "en",
    }


def serve(port_queue: Any, count: int) -> None:
    """Serve ``count`` posts (ids BASE_ID+1 .. BASE_ID+count), newest first."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path != f"/2/users/{USER_ID}/tweets":
                self.send_response(404)
                self.end_headers()
                return
            size = int(query.get("max_results", "100"))
            offset = int(query.get("pagination_token", "0"))
            since = int(query.get("since_id", "0")) - BASE_ID
            newest = count
            numbers = [n for n in range(newest - offset, 0, -1) if n > since][:size]
            body: dict[str, Any] = {"meta": {"result_count": len(numbers)}}
            if numbers:
                body["data"] = [_tweet(n) for n in numbers]
                body["includes"] = {
                    "users": [{"id": USER_ID, "name": "Riverside FM", "username": "riversidefm"}]
                }
                body["meta"].update(
                    newest_id=str(BASE_ID + numbers[0]), oldest_id=str(BASE_ID + numbers[-1])
                )
                if numbers[-1] > max(since, 0) + 1:
                    body["meta"]["next_token"] = str(offset + len(numbers))
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("x-rate-limit-remaining", "1000")
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_queue.put(server.server_address[1])
    server.serve_forever()


def _fresh_db(url: str | None, folder: Path, tag: str) -> Any:
    """A migrated, empty database with one X source: a new SQLite file, or a new PostgreSQL
    schema (named after this process and size, dropped by ``_drop_schema``)."""
    from monitor.storage import migrate
    from monitor.storage.database import Database
    from monitor.storage.models import Source

    if url:
        url = _schema_url(url, f"bench_sync_{os.getpid()}_{tag}".replace("-", "_"))
    db = Database(url or f"sqlite:///{folder / f'bench-{tag}.db'}")
    migrate.upgrade(db)
    with db.session() as session:
        session.add(Source(platform="x", kind="profile", handle="riversidefm", external_id=USER_ID))
    return db


def _schema_url(url: str, schema: str) -> str:
    from sqlalchemy import create_engine, make_url, text

    base = make_url(url).set(drivername="postgresql+psycopg")
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    with_path = base.update_query_dict({"options": f"-csearch_path={schema}"})
    return with_path.render_as_string(hide_password=False)


def _drop_schema(db: Any) -> None:
    from sqlalchemy import create_engine, make_url, text

    url = make_url(db.url)
    schema = str(url.query.get("options", "")).removeprefix("-csearch_path=")
    if not schema:
        return
    admin = create_engine(url.difference_update_query(["options"]))
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def sync_once(count: int, url: str | None, folder: Path, trace: bool) -> tuple[float, int, int]:
    """Serve ``count`` posts, sync them; (seconds, posts stored, tracemalloc peak bytes)."""
    from monitor.config import Settings
    from monitor.storage.models import Post
    from monitor.sync import SyncService

    queue: Any = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(queue, count), daemon=True)
    server.start()
    try:
        port = queue.get(timeout=30)
        settings = Settings.model_validate(
            {"connectors": {"x": {"api_base_url": f"http://127.0.0.1:{port}", "max_retries": 0}}}
        )
        db = _fresh_db(url, folder, f"{count}-{int(trace)}")
        service = SyncService(db, settings)
        if trace:
            tracemalloc.start()
        started = time.perf_counter()
        summary = service.run()
        elapsed = time.perf_counter() - started
        peak = 0
        if trace:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        state = summary.sources[0]
        if state.outcome is None or state.outcome.value != "ok":
            raise SystemExit(f"sync did not finish: {state.outcome} {state.error}")
        from sqlalchemy import func, select

        with db.session() as session:
            stored = int(session.scalar(select(func.count()).select_from(Post)) or 0)
        db.dispose()
        _drop_schema(db)
        return elapsed, stored, peak
    finally:
        server.terminate()
        server.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--db", default=None, help="database URL (default: SQLite in a temp dir)")
    parser.add_argument(
        "--trace-counts",
        type=int,
        nargs="+",
        default=None,
        help="sizes for the tracemalloc pass (default: the same as --counts)",
    )
    args = parser.parse_args()
    os.environ.setdefault("X_BEARER_TOKEN", "benchmark-app-token")
    import connectors.x  # noqa: F401  (imported before timing: tweepy takes a while to load)

    backend = "postgresql" if args.db else "sqlite"
    print(f"sync throughput, local fake X API, real XConnector + SyncService, {backend}")
    peaks: list[tuple[int, int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for count in args.counts:
            elapsed, stored, _ = sync_once(count, args.db, folder, trace=False)
            print(
                f"  {count:>7} posts: {stored} stored in {elapsed:7.1f} s = "
                f"{stored / elapsed:7.0f} posts/s"
            )
            if stored != count:
                raise SystemExit(f"expected {count} posts, stored {stored}")
        for count in args.trace_counts or args.counts:
            _, stored, peak = sync_once(count, args.db, folder, trace=True)
            peaks.append((count, peak))
            print(f"  {count:>7} posts: peak traced memory {peak / 1e6:6.2f} MB")
    if len(peaks) >= 2:
        (small, small_peak), (large, large_peak) = peaks[0], peaks[-1]
        print(
            f"  peak ratio {large}/{small} posts: {large_peak / small_peak:.2f} "
            f"(flat is ~1; linear would be {large / small:.0f})"
        )


if __name__ == "__main__":
    main()
