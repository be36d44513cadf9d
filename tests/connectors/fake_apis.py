"""Fake X and Graph APIs at the HTTP level (``responses``), for the real tweepy and facebook-sdk.

Each fake keeps a small world (posts, comments, direct messages), answers the endpoints the
connectors use the way the real APIs do (newest first; X ``since_id``/``next_token``;
Facebook time-based ``paging.next`` links that carry the access token and drop ``since``), and
can be told to answer the next listing requests with failures (429, 401, 5xx, HTML 502,
timeouts). Harnesses at the bottom give the shared conformance suite one way to drive either.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse

import requests
import responses

from connectors.base import Connector
from connectors.facebook import FacebookConnector
from connectors.x import XConnector
from monitor.config import (
    ConnectorsSettings,
    FacebookSettings,
    Settings,
    XSettings,
)
from monitor.domain import ConsentScope, SourceKind, SourceRef

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

X_APP_TOKEN = "x-app-bearer-SECRET-7c1f"
X_USER_TOKEN = "x-user-oauth2-SECRET-99ab"
FB_PAGE_TOKEN = "EAAB-page-token-SECRET-5d2e"
FB_APP_SECRET = "fb-app-secret-SECRET-0a9b"

Reply = tuple[int, dict[str, str], str]

GROUP_REFUSED = (
    "(#100) Object does not exist, cannot be loaded due to missing permission or reviewable "
    "feature, or does not support this operation."
)


class FakeClock:
    """A clock that only moves when the code under test sleeps (or a test advances it)."""

    def __init__(self, now: datetime = T0) -> None:
        self.current = now
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.current += timedelta(seconds=seconds)

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


def json_reply(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    return (
        status,
        {"content-type": "application/json; charset=utf-8", **(headers or {})},
        (json.dumps(body)),
    )


HTML_502: Reply = (
    502,
    {"content-type": "text/html"},
    "<html><body><h1>502 Bad Gateway</h1></body></html>",
)


@dataclass
class Failures:
    """Scripted answers for the next listing requests, consumed one per request."""

    queue: list[Reply | Exception] = field(default_factory=list)

    def take(self) -> Reply | Exception | None:
        return self.queue.pop(0) if self.queue else None


def _params(request: requests.PreparedRequest) -> dict[str, str]:
    return dict(parse_qsl(urlparse(request.url or "").query, keep_blank_values=True))


# --- X ------------------------------------------------------------------------------------


class FakeX:
    """X API v2: user lookup, user timeline, DM events, tweet lookup."""

    def __init__(
        self,
        rsps: responses.RequestsMock,
        *,
        base: str = "https://api.twitter.com",
        user_id: str = "2244994945",
        username: str = "DrRivera",
        clock: FakeClock | None = None,
    ) -> None:
        self.base = base
        self.user = {
            "id": user_id,
            "name": "Dr. Ana Rivera",
            "username": username,
            "description": "Family physician at Maple Clinic. Views my own, not medical advice.",
        }
        self.clock = clock or FakeClock()
        self.tweets: dict[str, dict[str, Any]] = {}
        self.dms: dict[str, dict[str, Any]] = {}
        self.extra_includes: dict[str, list[dict[str, Any]]] = {}
        self.failures = Failures()
        self.dm_forbidden = False
        # What the listings' x-rate-limit-remaining header says (0: the window is used up),
        # and in how many seconds their x-rate-limit-reset falls.
        self.remaining = 1400
        self.reset_in = 900
        self.listing_calls: list[dict[str, str]] = []
        self.requests: list[requests.PreparedRequest] = []
        self._next_id = 1_600_000_000_000_000_000
        rsps.add_callback(
            responses.GET, re.compile(re.escape(base) + r"/2/.*"), callback=self._handle
        )

    # world building
    def new_id(self) -> str:
        self._next_id += 1_000
        return str(self._next_id)

    def post(self, text: str | None = None, **fields: Any) -> str:
        tweet_id = fields.pop("id", None) or self.new_id()
        self.clock.advance(1)
        item: dict[str, Any] = {
            "id": tweet_id,
            "text": text if text is not None else f"Post number {tweet_id[-6:]}",
            "author_id": self.user["id"],
            "created_at": self.clock.now().strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "edit_history_tweet_ids": [tweet_id],
            "lang": "en",
        }
        item.update(fields)
        self.tweets[tweet_id] = item
        return tweet_id

    def dm(self, text: str, sender_id: str | None = None) -> str:
        event_id = self.new_id()
        self.clock.advance(1)
        self.dms[event_id] = {
            "id": event_id,
            "text": text,
            "event_type": "MessageCreate",
            "dm_conversation_id": "1585094756761149440",
            "created_at": self.clock.now().strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "sender_id": sender_id or self.user["id"],
        }
        return event_id

    # wire
    def _handle(self, request: requests.PreparedRequest) -> Reply | Exception:
        self.requests.append(request)
        path = urlparse(request.url or "").path
        params = _params(request)
        if path.startswith("/2/users/by/username/"):
            name = path.rsplit("/", 1)[1]
            if name.lower() == self.user["username"].lower():
                return json_reply(200, {"data": self.user})
            return json_reply(
                200,
                {
                    "errors": [
                        {
                            "value": name,
                            "detail": f"Could not find user with username: [{name}].",
                            "title": "Not Found Error",
                            "resource_type": "user",
                            "parameter": "username",
                            "resource_id": name,
                            "type": "https://api.twitter.com/2/problems/resource-not-found",
                        }
                    ]
                },
            )
        if path == "/2/tweets":
            return self._lookup(params)
        self.listing_calls.append(params)
        scripted = self.failures.take()
        if scripted is not None:
            return scripted
        if path == f"/2/users/{self.user['id']}/tweets":
            return self._listing(self.tweets, params, server_since=True)
        if path == "/2/dm_events":
            if self.dm_forbidden:
                return json_reply(
                    403,
                    {
                        "title": "Forbidden",
                        "type": "about:blank",
                        "status": 403,
                        "detail": "Forbidden",
                    },
                )
            return self._listing(self.dms, params, server_since=False)
        return json_reply(404, {"title": "Not Found Error", "status": 404})

    def _listing(
        self, world: dict[str, dict[str, Any]], params: dict[str, str], *, server_since: bool
    ) -> Reply:
        ids = sorted(world, key=int, reverse=True)
        if server_since and params.get("since_id"):
            ids = [i for i in ids if int(i) > int(params["since_id"])]
        token = params.get("pagination_token")
        if token:
            if not token.startswith("tok-"):
                return json_reply(400, {"title": "Invalid Request", "status": 400})
            ids = [i for i in ids if int(i) < int(token[4:])]
        size = int(params.get("max_results", "100"))
        page = ids[:size]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta["newest_id"] = page[0]
            meta["oldest_id"] = page[-1]
        if len(ids) > size:
            meta["next_token"] = f"tok-{page[-1]}"
        body: dict[str, Any] = {"meta": meta}
        if page:
            body["data"] = [world[i] for i in page]
            body["includes"] = {"users": [self.user], **self.extra_includes}
        return json_reply(
            200,
            body,
            {
                "x-rate-limit-limit": "1500",
                "x-rate-limit-remaining": str(self.remaining),
                "x-rate-limit-reset": str(int(self.clock.now().timestamp()) + self.reset_in),
            },
        )

    def _lookup(self, params: dict[str, str]) -> Reply:
        ids = params.get("ids", "").split(",")
        data = [{"id": i, "text": self.tweets[i]["text"]} for i in ids if i in self.tweets]
        errors = [
            {
                "value": i,
                "detail": f"Could not find tweet with ids: [{i}].",
                "title": "Not Found Error",
                "resource_type": "tweet",
                "parameter": "ids",
                "resource_id": i,
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
            for i in ids
            if i not in self.tweets
        ]
        body: dict[str, Any] = {}
        if data:
            body["data"] = data
        if errors:
            body["errors"] = errors
        return json_reply(200, body)

    # failures, shaped like the real ones (see tests/fixtures/x/ERROR_SHAPES.md)
    def rate_limited(self, reset_in: float = 900) -> Reply:
        reset = int(self.clock.now().timestamp() + reset_in)
        return json_reply(
            429,
            {
                "title": "Too Many Requests",
                "type": "about:blank",
                "status": 429,
                "detail": "Too Many Requests",
            },
            {
                "x-rate-limit-limit": "1500",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(reset),
            },
        )

    @staticmethod
    def unauthorized() -> Reply:
        return json_reply(
            401,
            {
                "title": "Unauthorized",
                "type": "about:blank",
                "status": 401,
                "detail": "Unauthorized",
            },
        )

    @staticmethod
    def server_error() -> Reply:
        return json_reply(
            503,
            {
                "title": "Service Unavailable",
                "type": "about:blank",
                "status": 503,
                "detail": "Service Unavailable",
            },
        )


# --- Facebook -----------------------------------------------------------------------------


class FakeGraph:
    """Graph API: page and group feeds, comments, ``?ids=`` lookups."""

    def __init__(
        self,
        rsps: responses.RequestsMock,
        *,
        base: str = "https://graph.facebook.com",
        page_id: str = "19292868552",
        clock: FakeClock | None = None,
    ) -> None:
        self.base = base
        self.page_id = page_id
        self.page = {"id": page_id, "name": "Maple Clinic"}
        self.clock = clock or FakeClock()
        self.feeds: dict[str, list[dict[str, Any]]] = {page_id: []}
        self.comments: dict[str, list[dict[str, Any]]] = {}
        self.refused: set[str] = set()
        # Usage headers on every feed page (the real API sends x-app-usage with each answer).
        self.usage_headers: dict[str, str] = {
            "x-app-usage": json.dumps({"call_count": 3, "total_cputime": 1, "total_time": 2})
        }
        self.failures = Failures()
        self.comment_failures = Failures()  # the same, for comment listings
        self.listing_calls: list[dict[str, str]] = []
        self.requests: list[requests.PreparedRequest] = []
        self._serial = 10158400000000000
        rsps.add_callback(responses.GET, re.compile(re.escape(base) + r"/.*"), self._handle)

    def _new(self) -> str:
        self._serial += 1
        return str(self._serial)

    def post(self, message: str | None = None, *, node: str | None = None, **fields: Any) -> str:
        node = node or self.page_id
        post_id = fields.pop("id", None) or f"{node}_{self._new()}"
        self.clock.advance(60)
        stamp = self.clock.now().strftime("%Y-%m-%dT%H:%M:%S+0000")
        item: dict[str, Any] = {
            "id": post_id,
            "message": message if message is not None else f"Clinic update {post_id[-5:]}",
            "created_time": stamp,
            "updated_time": stamp,
            "from": self.page,
            "permalink_url": f"https://www.facebook.com/{node}/posts/{post_id.split('_')[-1]}/",
            "status_type": "mobile_status_update",
            "comments": {"data": [], "summary": {"total_count": 0, "can_comment": True}},
        }
        item.update(fields)
        self.feeds.setdefault(node, []).insert(0, item)
        return post_id

    def comment(
        self,
        post_id: str,
        message: str,
        *,
        author: dict[str, str] | None = None,
        parent: str | None = None,
    ) -> str:
        comment_id = f"{post_id.split('_')[-1]}_{self._new()}"
        self.clock.advance(60)
        item: dict[str, Any] = {
            "id": comment_id,
            "message": message,
            "created_time": self.clock.now().strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "from": author or self.page,
            "comment_count": 0,
            "permalink_url": f"https://www.facebook.com/{post_id}?comment_id={comment_id}",
        }
        if parent:
            item["parent"] = {"id": parent}
        self.comments.setdefault(post_id, []).append(item)
        for items in self.feeds.values():
            for post in items:
                if post["id"] == post_id:
                    # Page posts' updated_time moves with their latest comment.
                    post["comments"]["summary"]["total_count"] += 1
                    post["updated_time"] = item["created_time"]
        return comment_id

    def all_ids(self) -> set[str]:
        ids = {p["id"] for items in self.feeds.values() for p in items}
        return ids | {c["id"] for items in self.comments.values() for c in items}

    def delete(self, object_id: str) -> None:
        for items in [*self.feeds.values(), *self.comments.values()]:
            items[:] = [i for i in items if i["id"] != object_id]

    # wire
    def _link(self, path: str, query: dict[str, str]) -> str:
        return f"{self.base}{path}?{urlencode({'access_token': FB_PAGE_TOKEN, **query})}"

    def _handle(self, request: requests.PreparedRequest) -> Reply | Exception:
        self.requests.append(request)
        url = urlparse(request.url or "")
        parts = url.path.strip("/").split("/")
        params = _params(request)
        if not re.fullmatch(r"v\d+\.\d+", parts[0]):
            return json_reply(
                400,
                {
                    "error": {
                        "message": "Unknown path components",
                        "code": 2500,
                        "type": "OAuthException",
                    }
                },
            )
        if params.get("access_token") != FB_PAGE_TOKEN:
            return self.expired()
        if len(parts) == 3 and parts[2] == "feed":
            self.listing_calls.append(params)
            scripted = self.failures.take()
            if scripted is not None:
                return scripted
            if parts[1] in self.refused:
                return json_reply(
                    400,
                    {
                        "error": {
                            "message": GROUP_REFUSED,
                            "type": "OAuthException",
                            "code": 100,
                            "fbtrace_id": "AQt_hJ68vFybS4T",
                        }
                    },
                )
            return self._feed(url.path, parts[1], params)
        if len(parts) == 3 and parts[2] == "comments":
            scripted = self.comment_failures.take()
            if scripted is not None:
                return scripted
            return self._comments(url.path, parts[1], params)
        if len(parts) == 1 and "ids" in params:
            ids = params["ids"].split(",")
            known = self.all_ids()
            gone = [i for i in ids if i not in known]
            if gone:
                return self.missing(gone[0], many=True)
            return json_reply(200, {i: {"id": i} for i in ids})
        if len(parts) == 2:
            if parts[1] in self.all_ids():
                return json_reply(200, {"id": parts[1]})
            return self.missing(parts[1])
        return json_reply(404, {"error": {"message": "unknown", "code": 100}})

    def _feed(self, path: str, node: str, params: dict[str, str]) -> Reply:
        items = list(self.feeds.get(node, []))
        if params.get("since"):
            floor = int(params["since"])
            items = [i for i in items if _fb_ts(i["created_time"]) >= floor]
        if params.get("__paging_token"):
            ids = [i["id"] for i in items]
            after = (
                ids.index(params["__paging_token"]) + 1 if params["__paging_token"] in ids else 0
            )
            items = items[after:]
        limit = int(params.get("limit", "25"))
        page = items[:limit]
        body: dict[str, Any] = {"data": page}
        if len(items) > limit:
            query = {
                k: v for k, v in params.items() if k not in ("access_token", "appsecret_proof")
            }
            # Like the real links: until and __paging_token set, since dropped (left blank).
            query.update(
                {
                    "until": str(_fb_ts(page[-1]["created_time"])),
                    "since": "",
                    "__paging_token": page[-1]["id"],
                }
            )
            body["paging"] = {"next": self._link(path, query)}
        return json_reply(200, body, self.usage_headers)

    def _comments(self, path: str, post_id: str, params: dict[str, str]) -> Reply:
        items = self.comments.get(post_id, [])
        start = int(params.get("after", "0"))
        limit = int(params.get("limit", "25"))
        page = items[start : start + limit]
        body: dict[str, Any] = {
            "data": page,
            "summary": {"order": "chronological", "total_count": len(items)},
        }
        paging: dict[str, Any] = {"cursors": {"before": str(start), "after": str(start + limit)}}
        if start + limit < len(items):
            query = {
                k: v for k, v in params.items() if k not in ("access_token", "appsecret_proof")
            }
            query["after"] = str(start + limit)
            paging["next"] = self._link(path, query)
        body["paging"] = paging
        return json_reply(200, body)

    # failures, shaped like the real ones (see tests/fixtures/facebook/ERROR_SHAPES.md)
    def rate_limited(self, code: int = 4, regain_minutes: int = 30) -> Reply:
        messages = {
            4: "(#4) Application request limit reached",
            17: "(#17) User request limit reached",
            32: "(#32) Page request limit reached",
            613: "(#613) Calls to this api have exceeded the rate limit.",
        }
        usage = {
            self.page_id: [
                {
                    "type": "pages",
                    "call_count": 100,
                    "total_cputime": 20,
                    "total_time": 25,
                    "estimated_time_to_regain_access": regain_minutes,
                }
            ]
        }
        return json_reply(
            403 if code == 4 else 400,
            {
                "error": {
                    "message": messages.get(code, "limit"),
                    "type": "OAuthException",
                    "code": code,
                    "fbtrace_id": "A1b2C3",
                }
            },
            {
                "x-business-use-case-usage": json.dumps(usage),
                "x-app-usage": json.dumps({"call_count": 100, "total_cputime": 9, "total_time": 9}),
            },
        )

    @staticmethod
    def expired(code: int = 190, subcode: int = 463) -> Reply:
        return json_reply(
            400,
            {
                "error": {
                    "error_subcode": subcode,
                    "type": "OAuthException",
                    "code": code,
                    "message": "Error validating access token: Session has expired on Monday, "
                    "05-Jan-26 09:00:00 PST. The current time is Monday, 05-Jan-26 10:00:00 PST.",
                }
            },
        )

    @staticmethod
    def server_error() -> Reply:
        return json_reply(
            500,
            {
                "error": {
                    "message": "An unexpected error has occurred. Please retry your request later.",
                    "type": "OAuthException",
                    "is_transient": True,
                    "code": 2,
                    "fbtrace_id": "Ax9",
                }
            },
        )

    @staticmethod
    def missing(object_id: str, *, many: bool = False) -> Reply:
        if many:
            message = f"(#100) Some of the aliases you requested do not exist: {object_id}"
            return json_reply(
                404, {"error": {"message": message, "type": "OAuthException", "code": 100}}
            )
        return json_reply(
            400,
            {
                "error": {
                    "message": f"Unsupported get request. Object with ID '{object_id}' "
                    "does not exist, cannot be loaded due to missing permissions, "
                    "or does not support this operation.",
                    "type": "GraphMethodException",
                    "code": 100,
                    "error_subcode": 33,
                }
            },
        )


def _fb_ts(value: str) -> int:
    return int(datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").timestamp())


# --- harnesses for the conformance suite --------------------------------------------------


def _leaky(kind: type[Exception], secret: str) -> Exception:
    """A transport error whose message holds a token, as urllib3's messages hold the URL."""
    return kind(
        "HTTPSConnectionPool(host='api.example', port=443): Read timed out. "
        f"(url: /v21.0/1/feed?access_token={secret})"
    )


def settings_for_tests(**overrides: Any) -> Settings:
    """Small pages, the default retry budget, backoff in whole seconds."""
    return Settings(
        connectors=ConnectorsSettings(
            x=XSettings(**{"page_size": 10, **overrides.get("x", {})}),
            facebook=FacebookSettings(
                **{"page_size": 10, "comment_lookback_hours": 0, **overrides.get("facebook", {})}
            ),
            backoff_base_seconds=1.0,
            backoff_max_seconds=8.0,
            max_inline_wait_seconds=60.0,
        )
    )


class Harness:
    """One platform, faked, as the conformance suite drives it."""

    name: str
    secrets: tuple[str, ...]
    clock: FakeClock
    fake: FakeX | FakeGraph

    def connector(self, settings: Settings | None = None, seed: int = 7) -> Connector:
        raise NotImplementedError

    def source(self) -> SourceRef:
        raise NotImplementedError

    def seed(self, count: int) -> list[str]:
        """Publish ``count`` new items; their external ids."""
        raise NotImplementedError

    def seed_malformed(self) -> None:
        raise NotImplementedError

    def fail_next(self, kind: str, times: int = 1) -> None:
        """Answer the next ``times`` listing requests with a failure of ``kind``."""
        raise NotImplementedError

    def listing_calls(self) -> int:
        return len(self.fake.listing_calls)


class XHarness(Harness):
    name = "x"
    secrets = (X_APP_TOKEN, X_USER_TOKEN)

    def __init__(self, rsps: responses.RequestsMock, monkeypatch: Any) -> None:
        self.clock = FakeClock()
        self.fake = FakeX(rsps, clock=self.clock)
        monkeypatch.setenv("X_BEARER_TOKEN", X_APP_TOKEN)

    def connector(self, settings: Settings | None = None, seed: int = 7) -> Connector:
        import random

        return XConnector(
            settings or settings_for_tests(),
            rng=random.Random(seed),
            sleep=self.clock.sleep,
            now=self.clock.now,
        )

    def source(self) -> SourceRef:
        assert isinstance(self.fake, FakeX)
        return SourceRef(
            id=11,
            platform="x",
            kind=SourceKind.PROFILE,
            external_id=self.fake.user["id"],
            handle=self.fake.user["username"],
            token=X_USER_TOKEN,
            consent=ConsentScope.PUBLIC,
        )

    def seed(self, count: int) -> list[str]:
        assert isinstance(self.fake, FakeX)
        return [self.fake.post() for _ in range(count)]

    def seed_malformed(self) -> None:
        assert isinstance(self.fake, FakeX)
        tweet_id = self.fake.post()
        del self.fake.tweets[tweet_id]["text"]

    def fail_next(self, kind: str, times: int = 1) -> None:
        assert isinstance(self.fake, FakeX)
        make: Callable[[], Reply | Exception] = {
            "rate_limit": lambda: self.fake.rate_limited(),  # type: ignore[union-attr]
            "auth": FakeX.unauthorized,
            "server_error": FakeX.server_error,
            "timeout": lambda: _leaky(requests.exceptions.ReadTimeout, X_APP_TOKEN),
            "reset": lambda: _leaky(requests.exceptions.ConnectionError, X_APP_TOKEN),
        }[kind]
        self.fake.failures.queue.extend(make() for _ in range(times))


class FacebookHarness(Harness):
    name = "facebook"
    secrets = (FB_PAGE_TOKEN, FB_APP_SECRET)

    def __init__(self, rsps: responses.RequestsMock, monkeypatch: Any) -> None:
        self.clock = FakeClock()
        self.fake = FakeGraph(rsps, clock=self.clock)
        monkeypatch.setenv("FACEBOOK_APP_SECRET", FB_APP_SECRET)

    def connector(self, settings: Settings | None = None, seed: int = 7) -> Connector:
        import random

        return FacebookConnector(
            settings or settings_for_tests(),
            rng=random.Random(seed),
            sleep=self.clock.sleep,
            now=self.clock.now,
        )

    def source(self) -> SourceRef:
        assert isinstance(self.fake, FakeGraph)
        return SourceRef(
            id=12,
            platform="facebook",
            kind=SourceKind.PAGE,
            external_id=self.fake.page_id,
            token=FB_PAGE_TOKEN,
        )

    def seed(self, count: int) -> list[str]:
        assert isinstance(self.fake, FakeGraph)
        ids = [self.fake.post() for _ in range(count)]
        self.clock.advance(1)  # the next pass starts after these were published
        return ids

    def seed_malformed(self) -> None:
        assert isinstance(self.fake, FakeGraph)
        post_id = self.fake.post()
        self.fake.feeds[self.fake.page_id][0]["message"] = {"not": "text"}
        assert self.fake.feeds[self.fake.page_id][0]["id"] == post_id
        del self.fake.feeds[self.fake.page_id][0]["id"]

    def fail_next(self, kind: str, times: int = 1) -> None:
        assert isinstance(self.fake, FakeGraph)
        fake = self.fake
        make: Callable[[], Reply | Exception] = {
            "rate_limit": lambda: fake.rate_limited(4),
            "auth": FakeGraph.expired,
            "server_error": lambda: HTML_502,
            "timeout": lambda: _leaky(requests.exceptions.ReadTimeout, FB_PAGE_TOKEN),
            "reset": lambda: _leaky(requests.exceptions.ConnectionError, FB_PAGE_TOKEN),
        }[kind]
        fake.failures.queue.extend(make() for _ in range(times))
