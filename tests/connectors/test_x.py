"""The X connector through the real tweepy ``Client``, HTTP faked with ``responses``.

Payloads come from ``tests/fixtures/x`` (recorded by tweepy and python-twitter) or from the
``FakeX`` world, which answers like X API v2 does.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import responses
from fake_apis import X_APP_TOKEN, X_USER_TOKEN, FakeClock, FakeX, settings_for_tests

from connectors.base import ConfigurationError, RateLimited
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
