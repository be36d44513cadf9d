"""The Facebook connector: a Page's feed (its posts and visitor posts) and every comment.

Talks to the Graph API through ``facebook.GraphAPI`` (facebook-sdk 3.1.0) with a session we
own: it carries the timeout and base-URL adapter, and a response hook that keeps the status and
usage headers facebook-sdk throws away. The API version is set on ``graph.version`` (the SDK's
constructor only accepts versions up to 3.1). Paging follows ``paging.next`` by hand, keeping
only its query minus the token (``get_all_connections`` drops the token, and a cursor must
never hold one).

Staff replies in comment threads matter as much as posts, so each feed page comes with the
comments of its posts (``filter=stream``: replies to comments too), in one ``FetchedPage``.

The cursor is a small JSON object::

    {"v": 1, "since": 1720000000, "started": 1720090000, "floor": 1719740000, "next": {...}}

``since`` is when the last complete pass started. A pass reads the feed newest first down to
``floor`` = ``since`` minus ``comment_lookback_hours`` (comments arrive on posts after they are
read), then ``since`` becomes the pass's ``started``. While a pass is in progress ``next`` holds
the query of its next feed page, so a crash or rate limit resumes the pass where it stopped.
Group feeds are tried the same way; since April 2024 the API refuses them (``NoApiAccess``).

Paging survives the API's quirks: a page with empty ``data`` can still link a next one
(followed); a link that comes back again, or too many empty pages in a row, ends the pass
with a skipped item saying so; a post repeated on a later page is yielded once. A response
whose usage headers are near 100% holds the next call until the estimated regain time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlparse

import facebook
import requests

from connectors.base import (
    AuthExpired,
    ConfigurationError,
    Connector,
    NoApiAccess,
    RateLimited,
    TransientError,
)
from connectors.http import (
    RetryableFailure,
    RetryPolicy,
    is_network_failure,
    mount_adapter,
    quiet_leaky_loggers,
)
from monitor.config import Settings, read_secret
from monitor.domain import Channel, FetchedPage, FetchedPost, SkippedItem, SourceKind, SourceRef

log = logging.getLogger(__name__)

# The host facebook-sdk builds every URL from; a configured ``api_base_url`` replaces it.
SDK_BASE_URL = facebook.FACEBOOK_GRAPH_URL.rstrip("/")

POST_FIELDS = (
    "id,message,story,created_time,updated_time,from,permalink_url,status_type,"
    "attachments{media_type,title,description,url},comments.summary(true).limit(0)"
)
COMMENT_FIELDS = "id,message,created_time,from,permalink_url,parent{id},attachment,comment_count"
# Application (4), user (17), page (32) and API-specific (613) limits, and the Pages
# business-use-case throttles (80001-80014). All arrive as OAuthException: decide by code.
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})
# 190: invalid or expired token (subcodes 458-467 say why); 102: session invalid.
AUTH_CODES = frozenset({102, 190, 463})
# "Unknown error" and "Service temporarily unavailable": worth a retry.
TRANSIENT_CODES = frozenset({1, 2})
# 10 and 200-299: a permission the token or app lacks; a person has to grant it.
PERMISSION_CODES = frozenset({10, *range(200, 300)})
# Usage-header percentage from which the next call waits (the API throttles at 100).
USAGE_BACKOFF_PERCENT = 95.0
_USAGE_FIELDS = ("call_count", "total_cputime", "total_time", "acc_id_util_pct")
# Consecutive empty pages that still link a next one before a pass gives up on the chain.
MAX_EMPTY_PAGES = 10
USAGE_HEADERS = ("x-business-use-case-usage", "x-page-usage", "x-app-usage")
# Application limits are counted over a rolling hour: the wait when no header estimates one.
DEFAULT_RATE_LIMIT_WAIT = timedelta(hours=1)
# One quota key for every call: app usage counts them all (page usage is held app-wide too).
USAGE_KEY = "graph"
LOOKUP_BATCH = 50
_SECRET_PARAMS = frozenset({"access_token", "appsecret_proof"})


class GraphRefused(Exception):
    """The Graph API refused a request for a reason retrying will not fix (code, subcode)."""

    def __init__(self, code: int | None, subcode: int | None, status: int) -> None:
        super().__init__(f"code {code}, subcode {subcode}, HTTP {status}")
        self.code = code
        self.subcode = subcode
        self.status = status


@dataclass(frozen=True, slots=True)
class FacebookCursor:
    """The saved position of a Facebook source (see the module docstring)."""

    since: int | None = None
    started: int | None = None
    floor: int | None = None
    next: dict[str, str] | None = None

    def encode(self) -> str:
        body: dict[str, Any] = {"v": 1}
        for key in ("since", "started", "floor", "next"):
            value = getattr(self, key)
            if value is not None:
                body[key] = value
        return json.dumps(body, separators=(",", ":"), sort_keys=True)

    @classmethod
    def decode(cls, cursor: str | None) -> FacebookCursor:
        """Parse a saved cursor; ``None`` or empty means "from the beginning"."""
        if not cursor:
            return cls()
        try:
            body = json.loads(cursor)
            if not isinstance(body, dict) or body.get("v") != 1:
                raise ValueError("unknown cursor version")
            numbers = {k: body.get(k) for k in ("since", "started", "floor")}
            if any(v is not None and type(v) is not int for v in numbers.values()):
                raise ValueError("numbers")
            nxt = body.get("next")
            if nxt is not None and not (
                isinstance(nxt, dict) and all(isinstance(v, str) for v in nxt.values())
            ):
                raise ValueError("next")
        except ValueError:
            raise ConfigurationError("the saved Facebook cursor is not valid") from None
        return cls(next=nxt, **numbers)


def _parse_time(value: Any) -> datetime | None:
    """Graph API times look like ``2021-07-04T19:50:58+0000``."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None


def next_query(paging: Any) -> dict[str, str] | None:
    """The query of a ``paging.next`` link, without the token and its proof; None at the end."""
    if not isinstance(paging, dict) or not isinstance(paging.get("next"), str):
        return None
    pairs = parse_qsl(urlparse(paging["next"]).query, keep_blank_values=True)
    return {k: v for k, v in pairs if k not in _SECRET_PARAMS}


def _paging_gap(
    following: dict[str, str] | None, queries: list[dict[str, str]], empty_pages: int
) -> str | None:
    """Why paging must stop short of ``following`` (a link already followed, or a run of
    empty pages that never ends), or None to go on."""
    if following is None:
        return None
    if following in queries:
        return "the Graph API repeated a paging link"
    if empty_pages >= MAX_EMPTY_PAGES:
        return f"the Graph API sent {MAX_EMPTY_PAGES} empty pages in a row"
    return None


def _author(item: dict[str, Any]) -> tuple[str, str | None]:
    who = item.get("from")
    if not isinstance(who, dict):
        return "", None
    ident = who.get("id")
    return str(who.get("name") or ""), str(ident) if ident is not None else None


def post_to_fetched(item: Any, channel: Channel) -> FetchedPost | SkippedItem:
    """Normalize one feed post, or say why it cannot be: never raises on odd input.

    A post with no message (a photo, a shared link) is kept with its ``story`` or empty text:
    its attachments stay in ``raw`` for the reviewer.
    """
    if not isinstance(item, dict):
        return SkippedItem(reason="Facebook post is not an object")
    post_id = item.get("id")
    if not isinstance(post_id, str) or not post_id:
        return SkippedItem(reason="Facebook post without an id", raw=item)
    message = item.get("message", item.get("story", ""))
    if not isinstance(message, str):
        return SkippedItem(reason="Facebook post with a non-text message", external_id=post_id)
    name, author_id = _author(item)
    url = item.get("permalink_url")
    return FetchedPost(
        external_id=post_id,
        platform="facebook",
        channel=channel,
        text=message,
        author_name=name,
        author_external_id=author_id,
        url=url if isinstance(url, str) else None,
        published_at=_parse_time(item.get("created_time")),
        updated_at=_parse_time(item.get("updated_time")),
        raw=item,
    )


def comment_to_fetched(item: Any, post_id: str) -> FetchedPost | SkippedItem:
    """Normalize one comment (channel ``comment``; parent = the comment or post it answers)."""
    if not isinstance(item, dict):
        return SkippedItem(reason="Facebook comment is not an object")
    comment_id = item.get("id")
    if not isinstance(comment_id, str) or not comment_id:
        return SkippedItem(reason="Facebook comment without an id", raw=item)
    message = item.get("message", "")
    if not isinstance(message, str):
        return SkippedItem(
            reason="Facebook comment with a non-text message", external_id=comment_id
        )
    parent = item.get("parent")
    parent_id = parent.get("id") if isinstance(parent, dict) else None
    name, author_id = _author(item)
    url = item.get("permalink_url")
    return FetchedPost(
        external_id=comment_id,
        platform="facebook",
        channel=Channel.COMMENT,
        text=message,
        author_name=name,
        author_external_id=author_id,
        url=url if isinstance(url, str) else None,
        published_at=_parse_time(item.get("created_time")),
        parent_external_id=str(parent_id) if parent_id else post_id,
        raw=item,
    )


@dataclass
class _LastResponse:
    """Status and headers of the latest response (facebook-sdk drops both on errors)."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.status = response.status_code
        self.headers = {k.lower(): v for k, v in response.headers.items()}


def _usage_entries(headers: dict[str, str]) -> Iterator[dict[str, Any]]:
    """Every object inside the JSON usage headers (app, page and business-use-case usage)."""

    def walk(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            yield node
            for child in node.values():
                yield from walk(child)
        elif isinstance(node, list):
            for child in node:
                yield from walk(child)

    for name in USAGE_HEADERS:
        if name in headers:
            try:
                yield from walk(json.loads(headers[name]))
            except ValueError:
                continue


def _estimated_minutes(headers: dict[str, str]) -> float:
    """The largest ``estimated_time_to_regain_access`` (minutes) in the usage headers."""
    values = [
        float(entry["estimated_time_to_regain_access"])
        for entry in _usage_entries(headers)
        if isinstance(entry.get("estimated_time_to_regain_access"), int | float)
    ]
    return max(values, default=0.0)


def _usage_percent(headers: dict[str, str]) -> float:
    """The highest usage percentage the headers report (0 when they report none)."""
    values = [
        float(entry[name])
        for entry in _usage_entries(headers)
        for name in _USAGE_FIELDS
        if isinstance(entry.get(name), int | float)
    ]
    return max(values, default=0.0)


class FacebookConnector(Connector):
    """Pulls a Facebook Page's feed and comments; reports group feeds as without API access."""

    platform: ClassVar[str] = "facebook"

    def __init__(
        self,
        settings: Settings,
        *,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings.connectors.facebook
        self.policy = RetryPolicy.from_settings(
            settings.connectors, self.settings.max_retries, rng=rng, sleep=sleep, now=now
        )
        quiet_leaky_loggers()

    # -- clients and calls -------------------------------------------------------------

    def _graph(self, source: SourceRef) -> tuple[facebook.GraphAPI, _LastResponse, dict[str, str]]:
        """A client for the source's page token, its response recorder and the proof args."""
        if not source.token:
            raise ConfigurationError(
                f"Facebook source {source.id} has no page access token: set one with "
                "`social-monitor accounts set-token`"
            )
        session = mount_adapter(
            requests.Session(),
            timeout=self.settings.timeout_seconds,
            default_base=SDK_BASE_URL,
            configured_base=self.settings.api_base_url,
        )
        last = _LastResponse()
        session.hooks["response"].append(last.hook)
        graph = facebook.GraphAPI(
            access_token=source.token, timeout=self.settings.timeout_seconds, session=session
        )
        version = self.settings.api_version
        graph.version = version if version.startswith("v") else f"v{version}"
        extra: dict[str, str] = {}
        secret = read_secret(self.settings.app_secret_env)
        if secret is not None:
            extra["appsecret_proof"] = hmac.new(
                secret.get_secret_value().encode(), source.token.encode(), hashlib.sha256
            ).hexdigest()
        return graph, last, extra

    def _reset_at(self, headers: dict[str, str]) -> datetime:
        minutes = _estimated_minutes(headers)
        wait = timedelta(minutes=minutes) if minutes > 0 else DEFAULT_RATE_LIMIT_WAIT
        return self.policy.now() + wait

    def _get(
        self,
        client: tuple[facebook.GraphAPI, _LastResponse, dict[str, str]],
        path: str,
        args: dict[str, str],
        what: str,
        *,
        wait_for_quota: bool = True,
    ) -> dict[str, Any]:
        """One GET with retries; raises the connector errors, or ``GraphRefused``.

        A response with usage near 100% holds later calls until the estimated regain time;
        ``wait_for_quota=False`` (the comments of a feed page in hand) goes ahead regardless,
        so the page can be completed and saved before the pause.
        """
        graph, last, extra = client

        def attempt() -> dict[str, Any]:
            last.status, last.headers = 0, {}
            try:
                result = graph.request(f"{graph.version}/{path}", args={**args, **extra})
            except facebook.GraphAPIError as exc:
                raise self._classify(exc, last, what) from None
            except requests.JSONDecodeError:
                raise RetryableFailure(f"HTTP {last.status}, body not JSON") from None
            except requests.RequestException as exc:
                reason = is_network_failure(exc)
                if reason is None:
                    raise TransientError(f"{what}: request failed ({type(exc).__name__})") from None
                raise RetryableFailure(reason) from None
            except KeyError:
                # No content-type header at all (an empty gateway error).
                raise RetryableFailure(f"HTTP {last.status}, empty response") from None
            if not isinstance(result, dict):
                raise RetryableFailure("response was not a JSON object")
            if (
                _usage_percent(last.headers) >= USAGE_BACKOFF_PERCENT
                or _estimated_minutes(last.headers) > 0
            ):
                self.policy.hold(USAGE_KEY, self._reset_at(last.headers))
            return result

        return self.policy.run(attempt, what, USAGE_KEY if wait_for_quota else None)

    def _classify(self, exc: facebook.GraphAPIError, last: _LastResponse, what: str) -> Exception:
        code = exc.code if isinstance(exc.code, int) else None
        result = exc.result if isinstance(exc.result, dict) else {}
        error = result.get("error") if isinstance(result.get("error"), dict) else {}
        assert isinstance(error, dict)
        subcode = error.get("error_subcode")
        subcode = subcode if isinstance(subcode, int) else None
        if code in RATE_LIMIT_CODES:
            return RateLimited(f"{what}: rate limited (code {code})", self._reset_at(last.headers))
        if code in AUTH_CODES or subcode == 463:
            return AuthExpired(f"{what}: token expired or revoked (code {code})")
        if code in TRANSIENT_CODES or error.get("is_transient") is True:
            return RetryableFailure(f"code {code}, HTTP {last.status}")
        if code is None:
            # An HTML gateway page (502) or other non-JSON body: facebook-sdk loses the status.
            return RetryableFailure(f"HTTP {last.status}, not a Graph API answer")
        if last.status >= 500:
            return RetryableFailure(f"code {code}, HTTP {last.status}")
        return GraphRefused(code, subcode, last.status)

    # -- the contract ------------------------------------------------------------------

    def _node(self, source: SourceRef) -> str:
        node = source.external_id or source.handle
        if not node:
            raise ConfigurationError(f"Facebook source {source.id} has no page or group id")
        return node

    def fetch(self, source: SourceRef, cursor: str | None) -> Iterator[FetchedPage]:
        """Yield the feed page by page, each with the comments of its posts."""
        state = FacebookCursor.decode(cursor)
        self.policy.take_waited()  # waits before this fetch belong to no page of it
        node = self._node(source)
        is_group = source.kind == SourceKind.GROUP
        channel = Channel.GROUP if is_group else Channel.PUBLIC
        if is_group and not source.token:
            # Facebook removed the Groups API from every version in April 2024: without even a
            # token to try with, the group is a coverage gap, not a misconfiguration.
            raise NoApiAccess(
                f"Facebook group source {source.id}: the Graph API no longer serves group "
                "feeds; import the group's posts with a jsonl source"
            )
        client = self._graph(source)
        what = f"Facebook feed of source {source.id}"
        if state.next is None:
            started = int(self.policy.now().timestamp())
            lookback = self.settings.comment_lookback_hours * 3600
            floor = state.since - lookback if state.since is not None else None
            args = {"fields": POST_FIELDS, "limit": str(self.settings.page_size)}
            if floor is not None:
                args["since"] = str(floor)
        else:
            started = state.started if state.started is not None else state.since or 0
            floor = state.floor
            args = dict(state.next)
        queries = [args]
        seen: set[tuple[Any, Any]] = set()  # (id, updated_time) of posts yielded by this fetch
        empty_pages = 0
        while True:
            try:
                body = self._get(client, f"{node}/feed", args, what)
            except GraphRefused as exc:
                if is_group:
                    raise NoApiAccess(
                        f"{what}: the Graph API refuses group feeds (code {exc.code}); "
                        "import the group's posts with a jsonl source"
                    ) from None
                if exc.code in PERMISSION_CODES:
                    raise NoApiAccess(
                        f"{what}: permission missing (code {exc.code}); re-link the Page with "
                        "the permissions the app needs"
                    ) from None
                raise ConfigurationError(f"{what}: refused (code {exc.code})") from None
            data = body.get("data")
            items: list[Any] = data if isinstance(data, list) else []
            posts: list[FetchedPost] = []
            skipped: list[SkippedItem] = []
            reached_floor = False
            for item in items:
                if isinstance(item, dict) and (item.get("id"), item.get("updated_time")) in seen:
                    continue  # repeated by a later page, unchanged: comments read already
                if floor is not None and isinstance(item, dict):
                    created = _parse_time(item.get("created_time"))
                    updated = _parse_time(item.get("updated_time"))
                    if created is not None and created.timestamp() < floor:
                        # The feed is newest first: the rest of it was read by earlier passes.
                        reached_floor = True
                        if updated is None or updated.timestamp() < floor:
                            continue
                result = post_to_fetched(item, channel)
                if isinstance(result, SkippedItem):
                    skipped.append(result)
                    continue
                seen.add((item.get("id"), item.get("updated_time")))
                posts.append(result)
                if self._has_comments(item):
                    more, bad = self._comments(client, result.external_id, source)
                    posts.extend(more)
                    skipped.extend(bad)
            empty_pages = empty_pages + 1 if not items else 0
            following = None if reached_floor else next_query(body.get("paging"))
            gap = _paging_gap(following, queries, empty_pages)
            if gap is not None:
                log.warning("%s: %s; the pass ends here", what, gap)
                skipped.append(
                    SkippedItem(reason=f"{gap}: the pass ended early, older posts may be missing")
                )
                following = None
            if following is not None:
                queries.append(following)
                new = FacebookCursor(
                    since=state.since, started=started, floor=floor, next=following
                )
            else:
                new = FacebookCursor(since=started)
            if items or skipped or new != state:
                yield FetchedPage(
                    posts=posts,
                    cursor=new.encode(),
                    skipped=skipped,
                    waited_seconds=self.policy.take_waited(),
                )
            state = new
            if following is None:
                return
            args = following

    @staticmethod
    def _has_comments(item: dict[str, Any]) -> bool:
        """False only when the post's comment summary says there are none (saves a call)."""
        comments = item.get("comments")
        summary = comments.get("summary") if isinstance(comments, dict) else None
        count = summary.get("total_count") if isinstance(summary, dict) else None
        return not (isinstance(count, int) and count == 0)

    def _comments(
        self,
        client: tuple[facebook.GraphAPI, _LastResponse, dict[str, str]],
        post_id: str,
        source: SourceRef,
    ) -> tuple[list[FetchedPost], list[SkippedItem]]:
        """Every comment and reply under one post, following ``paging.next``."""
        what = f"Facebook comments of source {source.id}"
        args = {
            "fields": COMMENT_FIELDS,
            "filter": "stream",
            "order": "chronological",
            "limit": str(self.settings.page_size),
        }
        posts: list[FetchedPost] = []
        skipped: list[SkippedItem] = []
        queries = [args]
        seen: set[str] = set()
        empty_pages = 0
        while True:
            try:
                body = self._get(client, f"{post_id}/comments", args, what, wait_for_quota=False)
            except GraphRefused as exc:
                skipped.append(
                    SkippedItem(
                        reason=f"comments not readable (code {exc.code})", external_id=post_id
                    )
                )
                return posts, skipped
            data = body.get("data")
            items: list[Any] = data if isinstance(data, list) else []
            for item in items:
                result = comment_to_fetched(item, post_id)
                if isinstance(result, SkippedItem):
                    skipped.append(result)
                elif result.external_id not in seen:
                    seen.add(result.external_id)
                    posts.append(result)
            empty_pages = empty_pages + 1 if not items else 0
            following = next_query(body.get("paging"))
            gap = _paging_gap(following, queries, empty_pages)
            if gap is not None:
                log.warning("%s: %s; the thread ends here", what, gap)
                skipped.append(
                    SkippedItem(
                        reason=f"{gap}: later comments of this post may be missing",
                        external_id=post_id,
                    )
                )
            if following is None or gap is not None:
                return posts, skipped
            queries.append(following)
            args = following

    def existing(self, source: SourceRef, external_ids: Iterable[str]) -> set[str] | None:
        """Of ``external_ids``, those the Graph API still returns (``?ids=`` in batches of 50).

        The API fails a whole batch when one id is gone, so such a batch is checked id by id;
        only an id answered with "does not exist" (code 100) counts as deleted. Group sources,
        which the API no longer reads, return None (cannot tell).
        """
        if source.kind == SourceKind.GROUP:
            return None
        ids = list(dict.fromkeys(external_ids))
        client = self._graph(source)
        what = f"Facebook lookup for source {source.id}"
        present: set[str] = set()
        for start in range(0, len(ids), LOOKUP_BATCH):
            batch = ids[start : start + LOOKUP_BATCH]
            try:
                body = self._get(client, "", {"ids": ",".join(batch), "fields": "id"}, what)
                present.update(i for i in batch if i in body)
                continue
            except GraphRefused as exc:
                if exc.code != 100:
                    return None
            for one in batch:
                try:
                    self._get(client, one, {"fields": "id"}, what)
                except GraphRefused as exc:
                    if exc.code != 100:
                        return None
                    continue
                present.add(one)
        return present
