"""The X connector through the real tweepy ``Client``, HTTP faked with ``responses``.

Payloads come from ``tests/fixtures/x`` (recorded by tweepy and python-twitter) or from the
``FakeX`` world, which answers like X API v2 does.
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlparse

import pytest
import requests
import responses
from fake_apis import (
    HTML_502,
    X_APP_TOKEN,
    X_USER_TOKEN,
    FakeClock,
    FakeX,
    Reply,
    json_reply,
    settings_for_tests,
)

from connectors.base import (
    AuthExpired,
    ConfigurationError,
    ConnectorError,
    NoApiAccess,
    RateLimited,
    TransientError,
)
from connectors.x import XConnector, XCursor
from monitor.config import ConnectorsSettings, Settings, XSettings
from monitor.domain import Channel, ConsentScope, FetchedPage, SourceKind, SourceRef

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "x"
TIMELINE = "https://api.twitter.com/2/users/2244994945/tweets"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def cassette_body(name: str) -> Any:
    return load(f"tweepy-cassettes/{name}.json")[0]["body"]


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(rsps: responses.RequestsMock, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> FakeX:
    monkeypatch.setenv("X_BEARER_TOKEN", X_APP_TOKEN)
    return FakeX(rsps, clock=clock)


def connector(clock: FakeClock, settings: Settings | None = None) -> XConnector:
    return XConnector(
        settings or settings_for_tests(), rng=random.Random(1), sleep=clock.sleep, now=clock.now
    )


def source(**overrides: Any) -> SourceRef:
    values: dict[str, Any] = {
        "id": 5,
        "platform": "x",
        "kind": SourceKind.PROFILE,
        "external_id": "2244994945",
        "handle": "DrRivera",
        "token": None,
        "consent": ConsentScope.PUBLIC,
    }
    values.update(overrides)
    return SourceRef(**values)


def posts_of(pages: list[FetchedPage]) -> list[Any]:
    return [post for page in pages for post in page.posts]


def test_when_timeline_pages_are_recorded_payloads_then_posts_and_cursor_follow_them(
    rsps: responses.RequestsMock, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", X_APP_TOKEN)
    first = load("python-twitter/timeline_tweets.json")
    second = cassette_body("test_client_get_users_tweets")
    second["meta"].pop("next_token")
    rsps.get(TIMELINE, json=first)
    rsps.get(TIMELINE, json=second)

    pages = list(connector(clock, Settings()).fetch(source(), None))

    posts = posts_of(pages)
    assert [p.external_id for p in posts] == [t["id"] for t in first["data"] + second["data"]]
    assert posts[0].text == first["data"][0]["text"]
    assert posts[0].published_at == datetime(2021, 2, 23, 18, 7, 7, tzinfo=UTC)
    assert all(p.channel is Channel.PUBLIC and p.platform == "x" for p in posts)
    assert json.loads(pages[0].cursor or "") == {
        "v": 1,
        "posts": {"top": first["meta"]["newest_id"], "token": first["meta"]["next_token"]},
    }
    assert json.loads(pages[-1].cursor or "") == {
        "v": 1,
        "posts": {"since": first["meta"]["newest_id"]},
    }
    calls = [c.request.params for c in rsps.calls]  # type: ignore[union-attr]
    assert "pagination_token" not in calls[0] and "since_id" not in calls[0]
    assert calls[1]["pagination_token"] == first["meta"]["next_token"]
    assert calls[0]["max_results"] == "100"
    for field in ("created_at", "conversation_id", "referenced_tweets", "edit_history_tweet_ids"):
        assert field in calls[0]["tweet.fields"].split(",")
    assert "attachments.media_keys" in calls[0]["expansions"].split(",")


def test_when_posts_are_replies_with_media_then_parent_and_expansions_are_kept(
    rsps: responses.RequestsMock, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", X_APP_TOKEN)
    body = load("python-twitter/search_tweets_query.json")
    body["includes"]["media"] = [{"media_key": "16_1276035971193044992", "type": "photo"}]
    rsps.get(TIMELINE, json=body)

    posts = posts_of(list(connector(clock).fetch(source(), None)))

    assert len(posts) == 4
    reply = posts[0]
    assert reply.parent_external_id == "1275653067283759104"
    assert not reply.is_repost
    assert reply.raw["includes"]["media"] == [
        {"media_key": "16_1276035971193044992", "type": "photo"}
    ]
    assert reply.raw["entities"]["mentions"][0]["username"] == "snowman"
    assert reply.author_external_id == "63046977"


def test_when_a_post_is_a_repost_then_it_is_marked_and_carries_the_whole_reposted_text(
    fake: FakeX, clock: FakeClock
) -> None:
    original = "Flu shots are in: walk-ins welcome all week at every clinic, no appointment needed."
    fake.extra_includes["tweets"] = [{"id": "1500", "text": original}]
    fake.post(
        "RT @MapleClinic: Flu shots are in: walk-ins welcome all week at every clinic, no appoi",
        referenced_tweets=[{"type": "retweeted", "id": "1500"}],
    )

    [post] = posts_of(list(connector(clock).fetch(source(), None)))

    assert post.is_repost
    assert post.parent_external_id == "1500"
    assert post.text == "RT @MapleClinic: " + original


def test_when_a_post_was_edited_then_it_keeps_its_first_id_and_gets_an_edit_time(
    fake: FakeX, clock: FakeClock
) -> None:
    first = fake.new_id()
    latest = fake.post("Edited wording", edit_history_tweet_ids=[first, "placeholder"])
    fake.tweets[latest]["edit_history_tweet_ids"] = [first, latest]

    [post] = posts_of(list(connector(clock).fetch(source(), None)))

    assert post.external_id == first
    assert post.updated_at is not None and post.updated_at == post.published_at
    assert post.url == f"https://x.com/DrRivera/status/{latest}"
    assert post.author_name == "Dr. Ana Rivera"
    assert "not medical advice" in post.author_bio


def test_when_source_has_only_a_handle_then_the_user_id_is_looked_up_once(
    fake: FakeX, clock: FakeClock
) -> None:
    fake.post()
    conn = connector(clock)
    ref = source(external_id=None, handle="@drrivera")

    assert conn.resolve_user_id(ref) == "2244994945"
    list(conn.fetch(ref, None))
    list(conn.fetch(ref, None))

    lookups = [r for r in fake.requests if "/2/users/by/username/" in (r.url or "")]
    assert len(lookups) == 1


def test_when_the_handle_does_not_exist_then_configuration_error(
    fake: FakeX, clock: FakeClock
) -> None:
    with pytest.raises(ConfigurationError):
        list(connector(clock).fetch(source(external_id=None, handle="nobody_here"), None))


def test_when_consent_covers_direct_messages_then_only_the_accounts_own_come_as_direct(
    fake: FakeX, clock: FakeClock
) -> None:
    fake.post("Public post")
    mine = [fake.dm("Sure, see you Tuesday at 3."), fake.dm("Bring your insurance card.")]
    newest = fake.dm("Hi doctor, my results?", sender_id="906948460078698496")
    ref = source(token=X_USER_TOKEN, consent=ConsentScope.PUBLIC_AND_DIRECT)

    pages = list(connector(clock).fetch(ref, None))

    direct = [p for p in posts_of(pages) if p.channel is Channel.DIRECT]
    assert sorted(p.external_id for p in direct) == sorted(f"dm:{i}" for i in mine)
    assert all(p.author_external_id == "2244994945" for p in direct)
    auth = {
        (r.url or "").split("?")[0].rsplit("/", 1)[1]: r.headers["Authorization"]
        for r in fake.requests
    }
    assert auth["tweets"] == f"Bearer {X_APP_TOKEN}"
    assert auth["dm_events"] == f"Bearer {X_USER_TOKEN}"
    assert json.loads(pages[-1].cursor or "")["dms"] == {"since": newest}


def test_when_consent_is_public_only_then_direct_messages_are_never_requested(
    fake: FakeX, clock: FakeClock
) -> None:
    fake.post()
    fake.dm("private")

    list(connector(clock).fetch(source(token=X_USER_TOKEN), None))

    assert not any("dm_events" in (r.url or "") for r in fake.requests)


def test_when_new_direct_messages_arrive_then_the_next_pass_reads_only_those(
    fake: FakeX, clock: FakeClock
) -> None:
    for n in range(12):
        fake.dm(f"message {n}")
    ref = source(token=X_USER_TOKEN, consent=ConsentScope.PUBLIC_AND_DIRECT)
    pages = list(connector(clock).fetch(ref, None))
    fresh = [fake.dm("newer one"), fake.dm("newest one")]
    fake.listing_calls.clear()

    again = list(connector(clock).fetch(ref, pages[-1].cursor))

    assert sorted(p.external_id for p in posts_of(again)) == sorted(f"dm:{i}" for i in fresh)
    dm_calls = [c for c in fake.listing_calls if "dm_event.fields" in c]
    assert len(dm_calls) == 1  # the first page already reached what was stored


def test_when_the_token_cannot_read_direct_messages_then_a_gap_is_recorded_and_posts_kept(
    fake: FakeX, clock: FakeClock
) -> None:
    posted = fake.post()
    fake.dm_forbidden = True
    ref = source(token=X_USER_TOKEN, consent=ConsentScope.PUBLIC_AND_DIRECT)

    pages = list(connector(clock).fetch(ref, None))

    assert [p.external_id for p in posts_of(pages)] == [posted]
    [gap] = [s for page in pages for s in page.skipped]
    assert "dm.read" in gap.reason
    assert json.loads(pages[-1].cursor or "")["posts"] == {"since": posted}


def test_when_the_rate_limit_resets_soon_then_it_is_waited_in_place(
    fake: FakeX, clock: FakeClock
) -> None:
    ids = [fake.post() for _ in range(15)]
    fake.failures.queue.append(fake.rate_limited(reset_in=30))

    pages = list(connector(clock).fetch(source(), None))

    assert sorted(p.external_id for p in posts_of(pages)) == sorted(ids)
    assert clock.sleeps == [31.0]
    assert pages[0].waited_seconds == 31.0


def test_when_rate_limited_then_reset_time_is_the_headers(fake: FakeX, clock: FakeClock) -> None:
    fake.post()
    reply = fake.rate_limited(reset_in=900)
    fake.failures.queue.append(reply)

    with pytest.raises(RateLimited) as caught:
        list(connector(clock).fetch(source(), None))

    assert caught.value.reset_at.timestamp() == int(reply[1]["x-rate-limit-reset"])


def test_when_base_url_is_configured_then_every_request_goes_there_with_a_timeout(
    rsps: responses.RequestsMock, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", X_APP_TOKEN)
    fake = FakeX(rsps, base="http://x-proxy.internal:8080", clock=clock)
    fake.post()
    settings = Settings(
        connectors=ConnectorsSettings(
            x=XSettings(api_base_url="http://x-proxy.internal:8080/", timeout_seconds=7.5)
        )
    )

    posts = posts_of(list(connector(clock, settings).fetch(source(external_id=None), None)))

    assert len(posts) == 1
    assert len(fake.requests) == 2
    for call in rsps.calls:
        assert (call.request.url or "").startswith("http://x-proxy.internal:8080/2/")
        assert call.request.req_kwargs["timeout"] == (7.5, 7.5)  # type: ignore[union-attr]


def test_when_a_saved_pagination_token_is_refused_then_the_pass_restarts_from_the_newest(
    fake: FakeX, clock: FakeClock
) -> None:
    old = fake.post()
    new = [fake.post() for _ in range(3)]
    cursor = json.dumps({"v": 1, "posts": {"since": old, "token": "stale"}})
    assert XCursor.decode(cursor).posts.token == "stale"

    posts = posts_of(list(connector(clock).fetch(source(), cursor)))

    assert sorted(p.external_id for p in posts) == sorted(new)


def test_when_the_lookup_reports_an_id_not_found_then_only_that_one_is_missing(
    fake: FakeX, clock: FakeClock
) -> None:
    kept = [fake.post(), fake.post()]
    gone = fake.new_id()

    shown = connector(clock).existing(source(), [*kept, gone, "dm:123"])

    assert shown == {*kept, "dm:123"}


def test_when_recorded_lookup_payload_lists_both_ids_then_both_exist(
    rsps: responses.RequestsMock, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", X_APP_TOKEN)
    rsps.get("https://api.twitter.com/2/tweets", json=cassette_body("test_client_get_tweets"))
    ids = ["1293593516040269825", "1293595870563381249"]

    assert connector(clock).existing(source(), ids) == set(ids)


def test_when_no_token_is_available_then_configuration_error_names_the_variable(
    fake: FakeX, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("X_BEARER_TOKEN")

    with pytest.raises(ConfigurationError, match="X_BEARER_TOKEN"):
        list(connector(clock).fetch(source(), None))


def test_when_debug_logging_is_on_then_no_token_or_post_text_is_logged(
    fake: FakeX, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    fake.post("Saw Mrs. Example in room 4 today")
    caplog.set_level(logging.DEBUG)
    for name in ("tweepy", "urllib3.connectionpool"):
        logging.getLogger(name).setLevel(logging.NOTSET)  # as in a fresh process
    conn = connector(clock)  # raises the client libraries' loggers above DEBUG

    list(conn.fetch(source(), None))

    assert X_APP_TOKEN not in caplog.text
    assert "room 4" not in caplog.text


# -- misbehaviour, scripted at the wire ----------------------------------------------------


class Timeline:
    """Timeline answers keyed by the ``pagination_token`` asked for (None: the first page).

    A list of answers is served in order, its last one repeating; every call's query is kept.
    Keying by token lets a test build loops the way a misbehaving server would.
    """

    def __init__(self, rsps: responses.RequestsMock, pages: dict[str | None, Any]) -> None:
        self.pages = {k: v if isinstance(v, list) else [v] for k, v in pages.items()}
        self.calls: list[dict[str, str]] = []
        rsps.add_callback(responses.GET, re.compile(re.escape(TIMELINE) + r".*"), self._answer)

    def _answer(self, request: requests.PreparedRequest) -> Reply:
        query = dict(parse_qsl(urlparse(request.url or "").query))
        self.calls.append(query)
        answers = self.pages[query.get("pagination_token")]
        return answers.pop(0) if len(answers) > 1 else answers[0]


def tweet(n: int) -> dict[str, Any]:
    return {
        "id": str(n),
        "text": f"post {n}",
        "author_id": "2244994945",
        "created_at": "2026-01-05T09:00:00.000Z",
        "edit_history_tweet_ids": [str(n)],
    }


def page(*ids: int, next_token: str | None = None, remaining: int = 1400) -> Reply:
    """A 200 timeline page holding tweets ``ids`` in the order given, meta as X writes it."""
    meta: dict[str, Any] = {"result_count": len(ids)}
    if ids:
        meta.update(newest_id=str(ids[0]), oldest_id=str(ids[-1]))
    if next_token:
        meta["next_token"] = next_token
    body: dict[str, Any] = {"meta": meta}
    if ids:
        body["data"] = [tweet(n) for n in ids]
    return json_reply(
        200, body, {"x-rate-limit-remaining": str(remaining), "x-rate-limit-reset": "1767604500"}
    )


def ids_of(pages: list[FetchedPage]) -> list[str]:
    return [p.external_id for p in posts_of(pages)]


def problem(status: int, kind: str, title: str, detail: str) -> Reply:
    return json_reply(
        status,
        {
            "title": title,
            "detail": detail,
            "type": f"https://api.twitter.com/2/problems/{kind}",
            "status": status,
        },
    )


def errors_only(kind: str, title: str, detail: str) -> Reply:
    return json_reply(
        200,
        {
            "errors": [
                {
                    "value": "2244994945",
                    "detail": detail,
                    "title": title,
                    "resource_type": "user",
                    "parameter": "id",
                    "resource_id": "2244994945",
                    "type": f"https://api.twitter.com/2/problems/{kind}",
                }
            ]
        },
    )


LEGACY_88 = {"errors": [{"code": 88, "message": "Rate limit exceeded"}]}
UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401}

REFUSALS: dict[str, tuple[Reply, type[ConnectorError]]] = {
    "429 legacy code 88": (json_reply(429, LEGACY_88), RateLimited),
    "420 enhance your calm": (json_reply(420, LEGACY_88), RateLimited),
    "200 legacy code 88": (json_reply(200, LEGACY_88), RateLimited),
    "401 flat": (json_reply(401, {**UNAUTHORIZED, "detail": "Unauthorized"}), AuthExpired),
    "401 nested": (json_reply(401, {"errors": {**UNAUTHORIZED, "detail": "x"}}), AuthExpired),
    "401 not json": ((401, {"content-type": "application/json"}, "[]"), AuthExpired),
    "429 usage-capped": (
        json_reply(
            429,
            {
                "title": "UsageCapExceeded",
                "detail": "Usage cap exceeded: Monthly product cap",
                "type": "https://api.twitter.com/2/problems/usage-capped",
                "period": "Monthly",
                "scope": "Product",
            },
            {"x-rate-limit-remaining": "39999", "x-rate-limit-reset": "1767604500"},
        ),
        TransientError,
    ),
    "403 client-forbidden": (
        problem(403, "client-forbidden", "Client Forbidden", "App not attached to a Project"),
        NoApiAccess,
    ),
    "403 not-authorized-for-resource": (
        problem(403, "not-authorized-for-resource", "Forbidden", "Not authorized"),
        NoApiAccess,
    ),
    "200 only errors, protected account": (
        errors_only(
            "not-authorized-for-resource",
            "Authorization Error",
            "Sorry, you are not authorized to see the user with id: [2244994945].",
        ),
        NoApiAccess,
    ),
    "200 only errors, account gone": (
        errors_only(
            "resource-not-found",
            "Not Found Error",
            "Could not find user with id: [2244994945].",
        ),
        ConfigurationError,
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_when_x_refuses_with_a_problem_body_then_the_matching_error_after_one_call(
    rsps: responses.RequestsMock, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", X_APP_TOKEN)
    reply, expected = REFUSALS[case]
    timeline = Timeline(rsps, {None: reply})

    with pytest.raises(ConnectorError) as caught:
        list(connector(clock).fetch(source(), None))

    assert type(caught.value) is expected
    assert len(timeline.calls) == 1 and clock.sleeps == []  # no retry, no in-place wait
    assert X_APP_TOKEN not in f"{caught.value!s} {caught.value!r}"
    if expected is RateLimited:
        assert isinstance(caught.value, RateLimited)
        assert caught.value.reset_at > clock.now()


def test_when_a_429_has_no_reset_header_then_it_waits_one_window_without_hammering(
    rsps: responses.RequestsMock, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", X_APP_TOKEN)
    body = {"title": "Too Many Requests", "type": "about:blank", "status": 429}
    timeline = Timeline(rsps, {None: json_reply(429, body)})

    with pytest.raises(RateLimited) as caught:
        list(connector(clock).fetch(source(), None))

    assert caught.value.reset_at == clock.now() + timedelta(minutes=15)
    assert len(timeline.calls) == 1


def test_when_a_page_says_no_requests_remain_then_the_next_page_waits_for_the_reset(
    fake: FakeX, clock: FakeClock
) -> None:
    ids = [fake.post() for _ in range(25)]
    fake.remaining = 0
    reset = int(clock.now().timestamp()) + fake.reset_in
    fetch = connector(clock).fetch(source(), None)
    first = next(fetch)

    with pytest.raises(RateLimited) as caught:
        next(fetch)

    assert caught.value.reset_at.timestamp() == reset
    assert len(fake.listing_calls) == 1  # the used-up window was not asked again
    clock.advance(fake.reset_in + 1)
    fake.remaining = 1400
    rest = list(connector(clock).fetch(source(), first.cursor))
    assert sorted(ids_of([first, *rest])) == sorted(ids)
    assert len(ids_of([first, *rest])) == len(ids)


def test_when_the_used_up_window_resets_soon_then_the_next_page_waits_in_place(
    fake: FakeX, clock: FakeClock
) -> None:
    ids = [fake.post() for _ in range(25)]
    fake.remaining, fake.reset_in = 0, 30

    pages = list(connector(clock).fetch(source(), None))

    assert sorted(ids_of(pages)) == sorted(ids)
    assert clock.sleeps == [31.0, 31.0]  # before pages 2 and 3, never after the last
    assert len(fake.listing_calls) == 3


@pytest.mark.parametrize(
    "reply",
    [
        json_reply(500, {"title": "Internal Server Error", "status": 500}),
        HTML_502,
        (504, {"content-type": "text/plain"}, "upstream request timeout"),
        (503, {"content-type": "application/json"}, '"Service Unavailable"'),
        (200, {"content-type": "text/html"}, "<html><body>Over capacity</body></html>"),
    ],
    ids=["500", "502 html", "504 text", "503 json string", "200 html"],
)
def test_when_x_answers_a_transient_failure_then_the_call_is_retried(
    fake: FakeX, clock: FakeClock, reply: Reply
) -> None:
    ids = [fake.post() for _ in range(3)]
    fake.failures.queue.append(reply)

    pages = list(connector(clock).fetch(source(), None))

    assert sorted(ids_of(pages)) == sorted(ids)
    assert len(clock.sleeps) == 1


def test_when_a_page_carries_errors_alongside_data_then_every_post_is_kept(
    rsps: responses.RequestsMock, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", X_APP_TOKEN)
    body = json.loads(page(30, 29)[2])
    body["errors"] = [
        {
            "value": "1500",
            "detail": "Sorry, you are not authorized to see the Tweet with id: [1500].",
            "title": "Authorization Error",
            "resource_type": "tweet",
            "parameter": "referenced_tweets.id",
            "resource_id": "1500",
            "type": "https://api.twitter.com/2/problems/not-authorized-for-resource",
        }
    ]
    Timeline(rsps, {None: json_reply(200, body)})

    pages = list(connector(clock).fetch(source(), None))

    assert ids_of(pages) == ["30", "29"]
    assert not any(page.skipped for page in pages)


def test_when_a_page_mid_pass_carries_only_errors_then_nothing_is_lost_on_resume(
    fake: FakeX, clock: FakeClock
) -> None:
    ids = [fake.post() for _ in range(25)]
    fetch = connector(clock).fetch(source(), None)
    first = next(fetch)
    fake.failures.queue.extend(
        errors_only("about:blank", "Service Unavailable", "try again") for _ in range(20)
    )

    with pytest.raises(TransientError):
        next(fetch)

    fake.failures.queue.clear()
    rest = list(connector(clock).fetch(source(), first.cursor))
    fetched = ids_of([first, *rest])
    assert sorted(fetched) == sorted(ids) and len(set(fetched)) == len(fetched)


def test_when_a_page_has_no_results_but_a_next_token_then_paging_goes_on(
    rsps: responses.RequestsMock, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", X_APP_TOKEN)
    Timeline(
        rsps,
        {None: page(30, 29, next_token="A"), "A": page(next_token="B"), "B": page(28, 27)},
    )

    pages = list(connector(clock).fetch(source(), None))

    assert ids_of(pages) == ["30", "29", "28", "27"]
    assert json.loads(pages[-1].cursor or "") == {"v": 1, "posts": {"since": "30"}}


def test_when_x_repeats_a_pagination_token_then_the_pass_ends_once_with_a_recorded_gap(
    rsps: responses.RequestsMock, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", X_APP_TOKEN)
    timeline = Timeline(
        rsps,
        {
            None: page(30, 29, next_token="A"),
            "A": page(28, 27, next_token="B"),
            "B": page(26, next_token="A"),
        },
    )

    pages = list(connector(clock).fetch(source(), None))

    assert ids_of(pages) == ["30", "29", "28", "27", "26"]
    assert len(timeline.calls) == 3
    [gap] = [s for p in pages for s in p.skipped]
    assert "repeated a pagination token" in gap.reason
    assert json.loads(pages[-1].cursor or "") == {"v": 1, "posts": {"since": "30"}}


def test_when_a_post_repeats_on_a_later_page_then_it_is_yielded_once(
    rsps: responses.RequestsMock, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", X_APP_TOKEN)
    Timeline(rsps, {None: page(30, 29, next_token="A"), "A": page(29, 28)})

    pages = list(connector(clock).fetch(source(), None))

    assert ids_of(pages) == ["30", "29", "28"]


def test_when_posts_come_out_of_id_order_then_the_next_pass_starts_above_the_newest(
    rsps: responses.RequestsMock, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", X_APP_TOKEN)
    timeline = Timeline(rsps, {None: [page(28, 30, 29), page()]})
    pages = list(connector(clock).fetch(source(), None))

    again = list(connector(clock).fetch(source(), pages[-1].cursor))

    assert sorted(ids_of(pages)) == ["28", "29", "30"] and ids_of(again) == []
    assert timeline.calls[1]["since_id"] == "30"


def test_when_the_server_ignores_since_id_then_stored_posts_are_not_read_again(
    rsps: responses.RequestsMock, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", X_APP_TOKEN)
    timeline = Timeline(
        rsps,
        {None: [page(30, 29, next_token="A"), page(31, 30, 29, next_token="A")], "A": page(28)},
    )
    first = list(connector(clock).fetch(source(), None))

    again = list(connector(clock).fetch(source(), first[-1].cursor))

    assert ids_of(first) == ["30", "29", "28"] and ids_of(again) == ["31"]
    assert len(timeline.calls) == 3  # the second pass stopped at what was stored
    assert json.loads(again[-1].cursor or "") == {"v": 1, "posts": {"since": "31"}}


def test_when_an_edit_and_its_first_version_both_come_then_only_the_edit_is_yielded(
    rsps: responses.RequestsMock, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", X_APP_TOKEN)
    body = json.loads(page(31, 30, next_token="A")[2])
    body["data"][0].update(text="post 29, corrected", edit_history_tweet_ids=["29", "31"])
    Timeline(rsps, {None: json_reply(200, body), "A": page(29, 28)})

    posts = posts_of(list(connector(clock).fetch(source(), None)))

    assert [(p.external_id, p.text) for p in posts] == [
        ("29", "post 29, corrected"),
        ("30", "post 30"),
        ("28", "post 28"),
    ]
