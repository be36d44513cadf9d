"""The X (Twitter) connector: a staff member's posts, and their direct messages where allowed.

Talks to X API v2 through ``tweepy.Client`` with ``return_type=dict`` (tweepy's models raise on
one odd item and lose the whole page), never with ``wait_on_rate_limit`` (it sleeps inside the
calling thread). Each item is validated alone; a malformed one becomes a ``SkippedItem``.

The cursor is a small JSON object with one *stream* per listing (``posts``, ``dms``)::

    {"v": 1, "posts": {"since": "1577…", "top": "1580…", "token": "7140…"}, "dms": {...}}

``since`` is the newest id already stored in full; ``top`` and ``token`` exist only while a
pass is in progress: ``top`` is the newest id that pass has seen, ``token`` the pagination
token of its next page. X lists newest first, so a pass starts at the newest post and pages
down towards ``since``; ``since`` moves up to ``top`` only with the page that ends the pass.
A crash or a rate limit mid-pass therefore resumes the same backlog where it stopped, and no
post older than ``since`` is ever read twice (X bills per post read). Items at or below
``since`` are dropped even if the server returns them, and the pass stops there.

X misbehaves in ways the pass survives: a page with ``result_count: 0`` can still carry a
``next_token`` (followed); a token can come back again (the pass ends there, recorded as a
skipped item, instead of looping); a post can repeat on a later page (yielded once); a 200 can
carry only ``errors`` (raised as the matching error, never read as "nothing new"). A 200 with
``x-rate-limit-remaining: 0`` holds the next call on that endpoint until the reset.

Direct messages (only with a user token, when the staff member's consent covers them) have no
``since_id`` parameter: the pass pages down until it meets an id at or below ``since``. Only
the messages the account itself sent are kept: what staff write is what the policy governs.
Their external ids carry a ``dm:`` prefix, which ``existing`` uses to leave them alone.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, ClassVar, TypeVar

import requests
import tweepy

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
from monitor.domain import (
    Channel,
    ConsentScope,
    FetchedPage,
    FetchedPost,
    SkippedItem,
    SourceRef,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

# The host tweepy hard-codes; a configured ``api_base_url`` replaces it on the wire.
TWEEPY_BASE_URL = "https://api.twitter.com"
DM_PREFIX = "dm:"
# X's rate-limit windows are 15 minutes: the wait when a 429 comes without a reset header.
DEFAULT_RATE_LIMIT_WINDOW = timedelta(minutes=15)
LOOKUP_BATCH = 100
# Consecutive empty pages that still carry a next_token before a pass gives up on the chain.
MAX_EMPTY_PAGES = 10
# Legacy v1.1 error codes still seen in v2 bodies: 88 rate limit; 32, 89, 215 bad token.
LEGACY_RATE_LIMIT_CODES = frozenset({88})
LEGACY_AUTH_CODES = frozenset({32, 89, 215})
# Problem types (``https://api.x.com/2/problems/<kind>``) that retrying will not fix.
NO_ACCESS_PROBLEMS = frozenset(
    {"not-authorized-for-resource", "client-forbidden", "resource-unavailable"}
)

TWEET_FIELDS = [
    "id",
    "text",
    "author_id",
    "created_at",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
    "entities",
    "attachments",
    "edit_history_tweet_ids",
    "lang",
]
TWEET_EXPANSIONS = [
    "author_id",
    "attachments.media_keys",
    "referenced_tweets.id",
    "referenced_tweets.id.author_id",
]
MEDIA_FIELDS = ["media_key", "type", "url", "preview_image_url", "alt_text"]
USER_FIELDS = ["id", "name", "username", "description"]
DM_EVENT_FIELDS = [
    "id",
    "text",
    "event_type",
    "created_at",
    "dm_conversation_id",
    "sender_id",
    "participant_ids",
    "referenced_tweets",
    "attachments",
]
DM_EXPANSIONS = ["sender_id", "attachments.media_keys", "referenced_tweets.id"]


@dataclass(frozen=True, slots=True)
class Stream:
    """Progress through one newest-first listing (see the module docstring)."""

    since: str | None = None
    top: str | None = None
    token: str | None = None

    def as_json(self) -> dict[str, str]:
        return {
            k: v for k, v in (("since", self.since), ("top", self.top), ("token", self.token)) if v
        }


@dataclass(frozen=True, slots=True)
class XCursor:
    """The saved position of an X source: one stream for posts, one for direct messages."""

    posts: Stream = Stream()
    dms: Stream = Stream()

    def encode(self) -> str:
        body: dict[str, Any] = {"v": 1}
        for name, stream in (("posts", self.posts), ("dms", self.dms)):
            if stream.as_json():
                body[name] = stream.as_json()
        return json.dumps(body, separators=(",", ":"), sort_keys=True)

    @classmethod
    def decode(cls, cursor: str | None) -> XCursor:
        """Parse a saved cursor; ``None`` or empty means "from the beginning"."""
        if not cursor:
            return cls()
        try:
            body = json.loads(cursor)
            if not isinstance(body, dict) or body.get("v") != 1:
                raise ValueError("unknown cursor version")
            streams = []
            for name in ("posts", "dms"):
                raw = body.get(name) or {}
                if not isinstance(raw, dict):
                    raise ValueError(name)
                values = {k: raw.get(k) for k in ("since", "top", "token")}
                if any(v is not None and not isinstance(v, str) for v in values.values()):
                    raise ValueError(name)
                streams.append(Stream(**values))
        except ValueError:
            raise ConfigurationError("the saved X cursor is not valid") from None
        return cls(posts=streams[0], dms=streams[1])


def _id_int(value: Any) -> int | None:
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _newest(ids: Iterable[Any]) -> str | None:
    best: int | None = None
    for value in ids:
        number = _id_int(value)
        if number is not None and (best is None or number > best):
            best = number
    return None if best is None else str(best)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _index(items: Any, key: str) -> dict[str, dict[str, Any]]:
    if not isinstance(items, list):
        return {}
    return {str(i[key]): i for i in items if isinstance(i, dict) and key in i}


@dataclass(frozen=True, slots=True)
class _Includes:
    """A page's ``includes``, indexed by id, for attaching expansions to each item."""

    users: dict[str, dict[str, Any]]
    tweets: dict[str, dict[str, Any]]
    media: dict[str, dict[str, Any]]

    @classmethod
    def of(cls, body: dict[str, Any]) -> _Includes:
        inc = body.get("includes")
        inc = inc if isinstance(inc, dict) else {}
        return cls(
            users=_index(inc.get("users"), "id"),
            tweets=_index(inc.get("tweets"), "id"),
            media=_index(inc.get("media"), "media_key"),
        )

    def related(self, item: dict[str, Any]) -> dict[str, Any]:
        """The expansions one item refers to (its media and referenced posts)."""
        out: dict[str, Any] = {}
        attachments = item.get("attachments")
        keys = attachments.get("media_keys") if isinstance(attachments, dict) else None
        media = [self.media[k] for k in keys or [] if isinstance(k, str) and k in self.media]
        if media:
            out["media"] = media
        ref_ids = _references(item).values()
        tweets = [self.tweets[i] for i in ref_ids if i in self.tweets]
        if tweets:
            out["tweets"] = tweets
        return out


def _references(item: dict[str, Any]) -> dict[str, str]:
    refs = item.get("referenced_tweets")
    if not isinstance(refs, list):
        return {}
    return {
        str(r["type"]): str(r["id"])
        for r in refs
        if isinstance(r, dict) and isinstance(r.get("type"), str) and "id" in r
    }


def tweet_to_post(item: Any, includes: _Includes) -> FetchedPost | SkippedItem:
    """Normalize one tweet, or say why it cannot be: never raises on odd input.

    An edited post keeps the id of its first version as ``external_id`` (X gives each edit a
    new id and lists them in ``edit_history_tweet_ids``), so an edit becomes a new version of
    the same stored post; ``updated_at`` is then the edit's time.
    """
    if not isinstance(item, dict):
        return SkippedItem(reason="X post is not an object")
    if _id_int(item.get("id")) is None:
        return SkippedItem(reason="X post without a valid id", raw=item)
    tweet_id = str(item["id"])
    text = item.get("text")
    if not isinstance(text, str):
        return SkippedItem(reason="X post without text", external_id=tweet_id, raw=item)
    history = item.get("edit_history_tweet_ids")
    first = history[0] if isinstance(history, list) and history else tweet_id
    external_id = str(first) if _id_int(first) is not None else tweet_id
    created = _parse_time(item.get("created_at"))
    refs = _references(item)
    is_repost = "retweeted" in refs
    if is_repost:
        # A repost's text is cut to 140 characters; the expansion has the reposted words whole.
        original = includes.tweets.get(refs["retweeted"], {}).get("text")
        if isinstance(original, str) and text.startswith("RT @") and ": " in text:
            text = text.split(": ", 1)[0] + ": " + original
    parent = refs.get("retweeted") or refs.get("replied_to") or refs.get("quoted")
    author_id = item.get("author_id")
    author = includes.users.get(str(author_id), {}) if author_id is not None else {}
    username = author.get("username")
    raw = dict(item)
    related = includes.related(item)
    if related:
        raw["includes"] = related
    return FetchedPost(
        external_id=external_id,
        platform="x",
        channel=Channel.PUBLIC,
        text=text,
        author_name=str(author.get("name") or username or ""),
        author_external_id=str(author_id) if author_id is not None else None,
        author_bio=str(author.get("description") or ""),
        url=f"https://x.com/{username}/status/{tweet_id}" if username else None,
        published_at=created,
        updated_at=created if external_id != tweet_id else None,
        is_repost=is_repost,
        parent_external_id=parent,
        raw=raw,
    )


def dm_to_post(item: Any, includes: _Includes) -> FetchedPost | SkippedItem:
    """Normalize one direct-message event (``dm:``-prefixed id, channel ``direct``)."""
    if not isinstance(item, dict):
        return SkippedItem(reason="X direct message is not an object")
    if _id_int(item.get("id")) is None:
        return SkippedItem(reason="X direct message without a valid id", raw=item)
    event_id = str(item["id"])
    text = item.get("text")
    if not isinstance(text, str):
        return SkippedItem(
            reason="X direct message without text", external_id=DM_PREFIX + event_id, raw=item
        )
    sender_id = item.get("sender_id")
    sender = includes.users.get(str(sender_id), {}) if sender_id is not None else {}
    raw = dict(item)
    related = includes.related(item)
    if related:
        raw["includes"] = related
    return FetchedPost(
        external_id=DM_PREFIX + event_id,
        platform="x",
        channel=Channel.DIRECT,
        text=text,
        author_name=str(sender.get("name") or sender.get("username") or ""),
        author_external_id=str(sender_id) if sender_id is not None else None,
        author_bio=str(sender.get("description") or ""),
        published_at=_parse_time(item.get("created_at")),
        raw=raw,
    )


def _status(exc: tweepy.HTTPException) -> int:
    return int(getattr(exc.response, "status_code", 0) or 0)


def _problems(body: Any) -> tuple[set[str], set[int]]:
    """The problem kinds (last segment of each ``type``) and legacy ``code``s of an X body.

    Reads the top-level problem, an ``errors`` list and the ``{"errors": {...}}`` form.
    """
    kinds: set[str] = set()
    codes: set[int] = set()
    if not isinstance(body, dict):
        return kinds, codes
    errors = body.get("errors")
    entries = [body, *(errors if isinstance(errors, list) else [errors])]
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        kind = entry.get("type")
        if isinstance(kind, str) and kind:
            kinds.add(kind.rstrip("/").rsplit("/", 1)[-1])
        code = entry.get("code")
        if isinstance(code, int):
            codes.add(code)
    return kinds, codes


def _body_of(exc: tweepy.HTTPException) -> Any:
    try:
        return exc.response.json()
    except ValueError:
        return None


def _usage_capped(what: str) -> TransientError:
    """X's monthly usage cap: no retry inside the run (each call would be refused alike)."""
    return TransientError(
        f"{what}: the X usage cap is reached (usage-capped); reads resume when the cap "
        "resets or the plan is raised"
    )


@dataclass(frozen=True, slots=True)
class _Api:
    """A tweepy client and whose token it holds (``app`` or one user): X counts rate limits
    per endpoint and token."""

    client: tweepy.Client
    scope: str


class XConnector(Connector):
    """Pulls an X account's posts (and, where consented, its direct messages)."""

    platform: ClassVar[str] = "x"

    def __init__(
        self,
        settings: Settings,
        *,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings.connectors.x
        self.policy = RetryPolicy.from_settings(
            settings.connectors, self.settings.max_retries, rng=rng, sleep=sleep, now=now
        )
        self._user_ids: dict[tuple[int, str], str] = {}
        # Status and headers of the latest response (tweepy's dict results drop the headers).
        self._last_status = 0
        self._last_headers: dict[str, str] = {}
        quiet_leaky_loggers()

    # -- clients and calls -------------------------------------------------------------

    def _client(self, bearer_token: str, scope: str) -> _Api:
        client = tweepy.Client(
            bearer_token=bearer_token, return_type=dict, wait_on_rate_limit=False
        )
        mount_adapter(
            client.session,
            timeout=self.settings.timeout_seconds,
            default_base=TWEEPY_BASE_URL,
            configured_base=self.settings.api_base_url,
        )
        client.session.hooks["response"].append(self._record_response)
        return _Api(client, scope)

    def _record_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._last_status = response.status_code
        self._last_headers = {k.lower(): v for k, v in response.headers.items()}

    def _public_client(self, source: SourceRef) -> _Api:
        """A client for public reads: the app bearer token, else the account's own token."""
        app_token = read_secret(self.settings.bearer_token_env)
        if app_token is not None:
            return self._client(app_token.get_secret_value(), "app")
        if source.token:
            return self._client(source.token, f"user {source.id}")
        raise ConfigurationError(
            f"no X token: set {self.settings.bearer_token_env} or link the account with a token"
        )

    def _reset_at(self, headers: Mapping[str, str] | None) -> datetime:
        """The ``x-rate-limit-reset`` time (epoch seconds), else one window from now."""
        header = headers.get("x-rate-limit-reset") if headers is not None else None
        if isinstance(header, str) and header.strip().isdigit():
            return datetime.fromtimestamp(int(header), tz=self.policy.now().tzinfo)
        return self.policy.now() + DEFAULT_RATE_LIMIT_WINDOW

    def _listing_problem(self, body: dict[str, Any], what: str) -> Exception:
        """The error for a 200 that carries ``errors`` and no ``data``: never "nothing new"."""
        kinds, codes = _problems(body)
        if "rate-limit-exceeded" in kinds or codes & LEGACY_RATE_LIMIT_CODES:
            return RateLimited(f"{what}: rate limited", self._reset_at(self._last_headers))
        if "usage-capped" in kinds:
            return _usage_capped(what)
        if codes & LEGACY_AUTH_CODES:
            return AuthExpired(f"{what}: token rejected")
        if kinds & NO_ACCESS_PROBLEMS:
            found = sorted(kinds & NO_ACCESS_PROBLEMS)[0]
            return NoApiAccess(f"{what}: not readable ({found})")
        if "resource-not-found" in kinds:
            return ConfigurationError(f"{what}: the account was not found on X")
        return RetryableFailure("answer carried only errors")

    def _call(
        self, api: _Api, fn: Callable[[], Any], what: str, *, endpoint: str, listing: bool = False
    ) -> dict[str, Any]:
        """Run one API call with retries; map rate limits, auth and transport failures.

        Other HTTP errors (400, 403, 404) come out as tweepy exceptions for the caller to map
        in context; nothing raised here carries a URL, a token or response text. ``endpoint``
        names the rate-limit bucket (per token); a ``listing`` that answers with only
        ``errors`` raises the matching error.
        """
        key = f"{endpoint} ({api.scope})"

        def attempt() -> dict[str, Any]:
            self._last_status, self._last_headers = 0, {}
            try:
                body = fn()
            except tweepy.HTTPException as exc:
                kinds, codes = _problems(_body_of(exc))
                if "usage-capped" in kinds:
                    raise _usage_capped(what) from None
                status = _status(exc)
                if status in (420, 429) or codes & LEGACY_RATE_LIMIT_CODES:
                    reset = self._reset_at(exc.response.headers)
                    raise RateLimited(f"{what}: rate limited (HTTP {status})", reset) from None
                if status == 401:
                    raise AuthExpired(f"{what}: token rejected (HTTP 401)") from None
                if status >= 500:
                    raise RetryableFailure(f"HTTP {status}") from None
                raise
            except requests.JSONDecodeError:
                raise RetryableFailure("response was not JSON") from None
            except requests.RequestException as exc:
                reason = is_network_failure(exc)
                if reason is None:
                    raise TransientError(f"{what}: request failed ({type(exc).__name__})") from None
                raise RetryableFailure(reason) from None
            except (AttributeError, TypeError, ValueError):
                # tweepy chokes on an error body that is JSON but not an object, or on a
                # reset header that is not a number: decide by the status it recorded.
                status = self._last_status
                if status < 400:
                    raise
                if status == 429:
                    reset = self._reset_at(None)
                    raise RateLimited(f"{what}: rate limited (HTTP 429)", reset) from None
                if status == 401:
                    raise AuthExpired(f"{what}: token rejected (HTTP 401)") from None
                if status >= 500:
                    raise RetryableFailure(f"HTTP {status}") from None
                raise TransientError(f"{what}: HTTP {status} with an unreadable body") from None
            if not isinstance(body, dict):
                raise RetryableFailure("response was not a JSON object")
            if listing and "data" not in body and body.get("errors"):
                raise self._listing_problem(body, what)
            if self._last_headers.get("x-rate-limit-remaining", "").strip() == "0":
                self.policy.hold(key, self._reset_at(self._last_headers))
            return body

        return self.policy.run(attempt, what, key)

    # -- the contract ------------------------------------------------------------------

    def resolve_user_id(self, source: SourceRef) -> str:
        """The account's numeric user id: ``source.external_id``, else looked up from the handle.

        Looked up once per connector and source; the sync service should save the result as
        the source's ``external_id`` so later runs skip the lookup (and its cost).
        """
        if source.external_id:
            return source.external_id
        handle = (source.handle or "").strip().lstrip("@")
        if not handle:
            raise ConfigurationError(f"X source {source.id} has neither a user id nor a handle")
        key = (source.id, handle.lower())
        if key not in self._user_ids:
            api = self._public_client(source)
            try:
                body = self._call(
                    api,
                    lambda: api.client.get_user(username=handle, user_fields=USER_FIELDS),
                    "X user lookup",
                    endpoint="user lookup",
                )
            except (tweepy.BadRequest, tweepy.NotFound):
                body = {}
            except tweepy.Forbidden:
                raise NoApiAccess(f"X source {source.id}: the account is not readable") from None
            data = body.get("data")
            user_id = data.get("id") if isinstance(data, dict) else None
            if _id_int(user_id) is None:
                raise ConfigurationError(f"X source {source.id}: no such handle on X")
            self._user_ids[key] = str(user_id)
        return self._user_ids[key]

    def resolve_external_id(self, source: SourceRef) -> str | None:
        return None if source.external_id else self.resolve_user_id(source)

    def _wants_dms(self, source: SourceRef) -> bool:
        return bool(
            self.settings.fetch_direct_messages
            and source.token
            and ConsentScope(source.consent).covers(Channel.DIRECT)
        )

    def fetch(self, source: SourceRef, cursor: str | None) -> Iterator[FetchedPage]:
        """Yield the account's new posts page by page, then its new direct messages."""
        state = XCursor.decode(cursor)
        self.policy.take_waited()  # waits before this fetch belong to no page of it
        user_id = self.resolve_user_id(source)
        api = self._public_client(source)
        for page, stream in self._pages(
            api,
            "user timeline",
            state.posts,
            lambda s: api.client.get_users_tweets(
                user_id,
                since_id=s.since,
                pagination_token=s.token,
                max_results=self.settings.page_size,
                tweet_fields=TWEET_FIELDS,
                expansions=TWEET_EXPANSIONS,
                media_fields=MEDIA_FIELDS,
                user_fields=USER_FIELDS,
            ),
            what=f"X posts of source {source.id}",
            normalize=tweet_to_post,
            keep=lambda _: True,
        ):
            state = replace(state, posts=stream)
            yield replace(page, cursor=state.encode())
        if not self._wants_dms(source):
            return
        assert source.token is not None
        dm_api = self._client(source.token, f"user {source.id}")
        try:
            for page, stream in self._pages(
                dm_api,
                "dm events",
                state.dms,
                lambda s: dm_api.client.get_direct_message_events(
                    user_auth=False,
                    pagination_token=s.token,
                    max_results=self.settings.page_size,
                    event_types="MessageCreate",
                    dm_event_fields=DM_EVENT_FIELDS,
                    expansions=DM_EXPANSIONS,
                    media_fields=MEDIA_FIELDS,
                    user_fields=USER_FIELDS,
                ),
                what=f"X direct messages of source {source.id}",
                normalize=dm_to_post,
                keep=lambda item: str(item.get("sender_id")) == user_id,
            ):
                state = replace(state, dms=stream)
                yield replace(page, cursor=state.encode())
        except NoApiAccess:
            # The token lacks dm.read: a visible gap, but the posts above stay covered.
            yield FetchedPage(
                posts=[],
                cursor=state.encode(),
                skipped=[
                    SkippedItem(
                        reason="X direct messages not readable with this account's token "
                        "(HTTP 403): re-link it with the dm.read scope"
                    )
                ],
                waited_seconds=self.policy.take_waited(),
            )

    def _pages(
        self,
        api: _Api,
        endpoint: str,
        stream: Stream,
        request: Callable[[Stream], Any],
        *,
        what: str,
        normalize: Callable[[Any, _Includes], FetchedPost | SkippedItem],
        keep: Callable[[dict[str, Any]], bool],
    ) -> Iterator[tuple[FetchedPage, Stream]]:
        """Page one newest-first listing from ``stream``; yield each page and the stream after it.

        The caller builds the saved cursor from the stream; see the module docstring for why
        ``since`` only moves when a pass ends, and for the misbehaviours survived here.
        """
        restarted = False
        tokens = {stream.token} if stream.token else set()
        newest_of: dict[str, int] = {}  # external id -> newest item id yielded (repeats, edits)
        empty_pages = 0
        while True:
            current = stream
            try:
                body = self._call(
                    api, partial(request, current), what, endpoint=endpoint, listing=True
                )
            except tweepy.BadRequest:
                if current.token and not restarted:
                    # A stale pagination token: start the pass again from the newest post;
                    # the store's upsert absorbs what is read twice.
                    log.warning("%s: pagination token refused, restarting the pass", what)
                    stream = replace(current, token=None)
                    restarted = True
                    continue
                raise ConfigurationError(f"{what}: the request was refused (HTTP 400)") from None
            except tweepy.NotFound:
                raise ConfigurationError(f"{what}: not found (HTTP 404)") from None
            except tweepy.Forbidden:
                raise NoApiAccess(f"{what}: not readable (HTTP 403)") from None
            except tweepy.HTTPException as exc:
                raise TransientError(f"{what}: unexpected HTTP {_status(exc)}") from None
            data = body.get("data")
            items: list[Any] = data if isinstance(data, list) else []
            meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
            assert isinstance(meta, dict)
            since = _id_int(current.since)
            ids = [i.get("id") for i in items if isinstance(i, dict)]
            reached_since = False
            if since is not None:
                # X filters by since_id itself (posts); DMs have no such parameter; either
                # way an item at or below ``since`` was stored by an earlier pass.
                old = {i for i in ids if (_id_int(i) or 0) <= since}
                reached_since = bool(old)
                items = [i for i in items if not (isinstance(i, dict) and i.get("id") in old)]
            # The pass's top is the newest id its first page holds (not meta.newest_id, and
            # not the page's first item: items can come out of order). A higher id on a later
            # page is read again next pass rather than letting ``since`` jump over a gap.
            top = current.top or _newest(ids)
            next_token = meta.get("next_token")
            if not isinstance(next_token, str) or reached_since:
                next_token = None
            empty_pages = 0 if ids else empty_pages + 1
            gap = None
            if next_token and next_token in tokens:
                gap = "X repeated a pagination token"
            elif next_token and empty_pages >= MAX_EMPTY_PAGES:
                gap = f"X sent {MAX_EMPTY_PAGES} empty pages in a row"
            more = bool(next_token) and gap is None
            if more:
                assert next_token is not None
                tokens.add(next_token)
                stream = Stream(since=current.since, top=top, token=next_token)
            else:
                stream = Stream(since=_newest([top, current.since]))
            includes = _Includes.of(body)
            posts: list[FetchedPost] = []
            skipped: list[SkippedItem] = []
            for item in items:
                if isinstance(item, dict) and not keep(item):
                    continue
                result = normalize(item, includes)
                if isinstance(result, SkippedItem):
                    skipped.append(result)
                    continue
                number = _id_int(item.get("id")) or 0
                if newest_of.get(result.external_id, -1) >= number:
                    continue  # already yielded by this pass, or an older version of it
                newest_of[result.external_id] = number
                posts.append(result)
            if gap is not None:
                log.warning("%s: %s; the pass ends here", what, gap)
                skipped.append(
                    SkippedItem(reason=f"{gap}: the pass ended early, older items may be missing")
                )
            if items or skipped or stream != current:
                page = FetchedPage(
                    posts=posts,
                    cursor=None,
                    skipped=skipped,
                    waited_seconds=self.policy.take_waited(),
                )
                yield page, stream
            if not more:
                return

    def existing(self, source: SourceRef, external_ids: Iterable[str]) -> set[str] | None:
        """Of ``external_ids``, those X does not report as missing (``get_tweets`` lookup).

        Only ids X explicitly reports as "not found" are left out; protected or suspended
        posts, and direct messages (which cannot be looked up), count as still there.
        """
        ids = list(dict.fromkeys(external_ids))
        present = {i for i in ids if i.startswith(DM_PREFIX) or _id_int(i) is None}
        lookup = [i for i in ids if i not in present]
        if not lookup:
            return present
        api = self._public_client(source)
        for start in range(0, len(lookup), LOOKUP_BATCH):
            batch = lookup[start : start + LOOKUP_BATCH]
            try:
                body = self._call(
                    api,
                    partial(api.client.get_tweets, ids=batch, tweet_fields=["id"]),
                    f"X lookup for source {source.id}",
                    endpoint="post lookup",
                )
            except tweepy.HTTPException:
                return None
            missing = set()
            errors = body.get("errors")
            for error in errors if isinstance(errors, list) else []:
                if not isinstance(error, dict):
                    continue
                kind = str(error.get("type", ""))
                if kind.endswith("resource-not-found") or error.get("title") == "Not Found Error":
                    missing.add(str(error.get("resource_id") or error.get("value") or ""))
            present.update(i for i in batch if i not in missing)
        return present
