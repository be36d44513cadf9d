"""The Facebook connector through the real facebook-sdk ``GraphAPI``, HTTP faked with responses.

Payloads come from ``tests/fixtures/facebook`` (recorded by python-facebook) or from the
``FakeGraph`` world, which pages and fails the way the Graph API does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse

import pytest
import requests
import responses
from fake_apis import (
    FB_APP_SECRET,
    FB_PAGE_TOKEN,
    FakeClock,
    FakeGraph,
    Reply,
    json_reply,
    settings_for_tests,
)

from connectors.base import (
    AuthExpired,
    ConfigurationError,
    NoApiAccess,
    RateLimited,
    TransientError,
)
from connectors.facebook import FacebookConnector
from monitor.config import ConnectorsSettings, FacebookSettings, Settings
from monitor.domain import Channel, FetchedPage, SourceKind, SourceRef

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "facebook" / "python-facebook"
GRAPH = "https://graph.facebook.com"
PAGE = "19292868552"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(rsps: responses.RequestsMock, clock: FakeClock) -> FakeGraph:
    return FakeGraph(rsps, clock=clock)


def connector(clock: FakeClock, settings: Settings | None = None) -> FacebookConnector:
    return FacebookConnector(
        settings or settings_for_tests(), rng=random.Random(1), sleep=clock.sleep, now=clock.now
    )


def source(**overrides: Any) -> SourceRef:
    values: dict[str, Any] = {
        "id": 8,
        "platform": "facebook",
        "kind": SourceKind.PAGE,
        "external_id": PAGE,
        "token": FB_PAGE_TOKEN,
    }
    values.update(overrides)
    return SourceRef(**values)


def posts_of(pages: list[FetchedPage]) -> list[Any]:
    return [post for page in pages for post in page.posts]


def test_when_feed_and_comments_are_recorded_payloads_then_all_are_normalized(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    feed = [load("feeds_default_fields_p1.json"), load("feeds_default_fields_p2.json")]
    first_post = feed[0]["data"][0]["id"]
    second_post = feed[0]["data"][1]["id"]
    comments_p1 = load("comments_p1.json")  # real items that came back without an id
    comments_p1["paging"]["next"] = comments_p1["paging"]["next"].replace(
        "19292868552_10158407654328553", second_post
    )
    served: dict[str, list[Any]] = {
        first_post: [{"data": list(load("comments_info.json").values())}],
        second_post: [comments_p1, load("comments_p2.json")],
    }

    def comments(request: Any) -> Any:
        post_id = (request.url or "").split("/")[4]
        pages = served.get(post_id) or [{"data": []}]
        return json_reply(200, pages.pop(0) if len(pages) > 1 else pages[0])

    rsps.get(f"{GRAPH}/v21.0/{PAGE}/feed", json=feed[0])
    rsps.get(f"{GRAPH}/v21.0/{PAGE}/feed", json=feed[1])
    rsps.add_callback(responses.GET, re.compile(rf"{GRAPH}/v21.0/\d+_\d+/comments"), comments)

    pages = list(connector(clock, Settings()).fetch(source(), None))

    posts = posts_of(pages)
    feed_posts = [p for p in posts if p.channel is Channel.PUBLIC]
    assert [p.external_id for p in feed_posts] == [i["id"] for f in feed for i in f["data"]]
    top = feed_posts[0]
    assert top.text == feed[0]["data"][0]["message"]
    assert top.published_at == datetime(2021, 7, 9, 19, 9, 52, tzinfo=UTC)
    assert top.updated_at == datetime(2021, 7, 12, 1, 3, 23, tzinfo=UTC)
    assert top.url == "https://www.facebook.com/19292868552/posts/10158349356748553/"
    replies = [p for p in posts if p.channel is Channel.COMMENT]
    assert [r.text for r in replies] == ["This is really nice", replies[1].text]
    assert all(r.parent_external_id == first_post for r in replies)
    skipped = [s for page in pages for s in page.skipped]
    assert len(skipped) == 15  # comments_p1 (10) and comments_p2 (5) items have no id
    assert all(s.reason == "Facebook comment without an id" for s in skipped)
    feed_calls = [c.request for c in rsps.calls if "/feed" in (c.request.url or "")]
    assert feed_calls[1].params["after"] == "after"  # type: ignore[attr-defined]
    assert feed_calls[1].params["access_token"] == FB_PAGE_TOKEN  # type: ignore[attr-defined]
    for page in pages:
        assert FB_PAGE_TOKEN not in (page.cursor or "")


def test_when_a_group_feed_is_refused_then_no_api_access(fake: FakeGraph, clock: FakeClock) -> None:
    fake.refused.add("2260975870792283")

    with pytest.raises(NoApiAccess, match="group"):
        list(
            connector(clock).fetch(
                source(kind=SourceKind.GROUP, external_id="2260975870792283"), None
            )
        )


def test_when_a_group_feed_is_readable_then_its_posts_come_as_group_posts(
    fake: FakeGraph, clock: FakeClock
) -> None:
    posted = fake.post("Shift swap anyone?", node="2260975870792283")

    pages = list(
        connector(clock).fetch(source(kind=SourceKind.GROUP, external_id="2260975870792283"), None)
    )

    [post] = posts_of(pages)
    assert post.external_id == posted and post.channel is Channel.GROUP


def test_when_staff_reply_in_a_long_comment_thread_then_every_comment_arrives_with_its_parent(
    fake: FakeGraph, clock: FakeClock
) -> None:
    post = fake.post("Thanks for the kind reviews!")
    review = fake.comment(post, "Great care for my mom", author={"id": "77", "name": "Pat Doe"})
    reply = fake.comment(post, "So glad her hip is healing well!", parent=review)
    rest = [fake.comment(post, f"comment {n}") for n in range(22)]

    pages = list(connector(clock).fetch(source(), None))

    comments = {p.external_id: p for p in posts_of(pages) if p.channel is Channel.COMMENT}
    assert set(comments) == {review, reply, *rest}
    assert comments[reply].parent_external_id == review
    assert comments[review].parent_external_id == post
    assert comments[review].author_name == "Pat Doe"
    assert comments[review].author_external_id == "77"


def test_when_posts_have_no_comments_then_no_comment_request_is_made(
    fake: FakeGraph, clock: FakeClock
) -> None:
    fake.post()
    fake.post()

    list(connector(clock).fetch(source(), None))

    assert not any("/comments" in (r.url or "") for r in fake.requests)


def test_when_a_comment_arrives_on_a_recent_post_then_the_lookback_pass_picks_it_up(
    fake: FakeGraph, clock: FakeClock
) -> None:
    post = fake.post("Open house Saturday")
    clock.advance(1)
    settings = settings_for_tests(facebook={"comment_lookback_hours": 72})
    pages = list(connector(clock, settings).fetch(source(), None))
    clock.advance(3600)
    late = fake.comment(post, "Staff reply: yes, your son's follow-up is at 10")
    clock.advance(1)

    again = list(connector(clock, settings).fetch(source(), pages[-1].cursor))

    assert late in {p.external_id for p in posts_of(again)}
    since = json.loads(pages[-1].cursor or "")["since"]
    feed_call = [c for c in fake.listing_calls][-1]
    assert int(feed_call["since"]) == since - 72 * 3600


def test_when_a_post_is_edited_then_updated_at_follows_updated_time(
    fake: FakeGraph, clock: FakeClock
) -> None:
    post_id = fake.post("Clinic closes at 5")
    edited = (clock.now() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+0000")
    fake.feeds[PAGE][0].update(message="Clinic closes at 6", updated_time=edited)

    [post] = posts_of(list(connector(clock).fetch(source(), None)))

    assert post.external_id == post_id and post.text == "Clinic closes at 6"
    assert post.updated_at == clock.now().replace(microsecond=0) + timedelta(hours=2)


@pytest.mark.parametrize("code", [4, 17, 32, 613])
def test_when_a_rate_limit_code_comes_then_rate_limited_until_the_usage_estimate(
    fake: FakeGraph, clock: FakeClock, code: int
) -> None:
    fake.post()
    fake.failures.queue.append(fake.rate_limited(code, regain_minutes=45))

    with pytest.raises(RateLimited) as caught:
        list(connector(clock).fetch(source(), None))

    assert caught.value.reset_at == clock.now() + timedelta(minutes=45)


def test_when_a_rate_limit_has_no_estimate_then_it_waits_an_hour(
    fake: FakeGraph, clock: FakeClock
) -> None:
    fake.post()
    fake.failures.queue.append(
        json_reply(
            400,
            {
                "error": {
                    "message": "(#17) User request limit reached",
                    "code": 17,
                    "type": "OAuthException",
                }
            },
            {"x-app-usage": json.dumps({"call_count": 100, "total_time": 40})},
        )
    )

    with pytest.raises(RateLimited) as caught:
        list(connector(clock).fetch(source(), None))

    assert caught.value.reset_at == clock.now() + timedelta(hours=1)


def test_when_the_graph_api_says_retry_later_then_the_request_is_retried(
    fake: FakeGraph, clock: FakeClock
) -> None:
    posted = fake.post()
    fake.failures.queue.append(fake.server_error())

    pages = list(connector(clock).fetch(source(), None))

    assert [p.external_id for p in posts_of(pages)] == [posted]
    assert len(clock.sleeps) == 1


@pytest.mark.parametrize(
    ("code", "subcode"), [(190, 463), (190, 460), (190, 458), (190, 467), (102, None)]
)
def test_when_the_token_is_expired_or_revoked_then_auth_expired(
    fake: FakeGraph, clock: FakeClock, code: int, subcode: int | None
) -> None:
    fake.post()
    reply = fake.expired(code, subcode or 0)
    fake.failures.queue.append(reply)

    with pytest.raises(AuthExpired):
        list(connector(clock).fetch(source(), None))


def test_when_the_request_is_refused_for_a_page_then_configuration_error(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    rsps.get(f"{GRAPH}/v21.0/{PAGE}/feed", json=load("error.json"), status=400)

    with pytest.raises(ConfigurationError, match="code 100"):
        list(connector(clock).fetch(source(), None))


def test_when_version_base_url_and_app_secret_are_set_then_every_request_uses_them(
    rsps: responses.RequestsMock, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FB_SECRET_FOR_TEST", FB_APP_SECRET)
    fake = FakeGraph(rsps, base="http://graph-proxy.internal:9000", clock=clock)
    post = fake.post()
    fake.comment(post, "hello")
    settings = Settings(
        connectors=ConnectorsSettings(
            facebook=FacebookSettings(
                api_version="19.0",
                api_base_url="http://graph-proxy.internal:9000",
                app_secret_env="FB_SECRET_FOR_TEST",
                timeout_seconds=4.0,
            )
        )
    )

    posts = posts_of(list(connector(clock, settings).fetch(source(), None)))

    assert len(posts) == 2
    proof = hmac.new(FB_APP_SECRET.encode(), FB_PAGE_TOKEN.encode(), hashlib.sha256).hexdigest()
    assert len(rsps.calls) == 2
    for call in rsps.calls:
        assert (call.request.url or "").startswith("http://graph-proxy.internal:9000/v19.0/")
        assert call.request.params["appsecret_proof"] == proof  # type: ignore[attr-defined]
        assert call.request.req_kwargs["timeout"] == 4.0  # type: ignore[attr-defined]


def test_when_one_id_of_a_batch_is_gone_then_only_it_is_missing(
    fake: FakeGraph, clock: FakeClock
) -> None:
    kept = fake.post()
    comment = fake.comment(kept, "still here")
    gone = fake.post()
    fake.delete(gone)

    shown = connector(clock).existing(source(), [kept, comment, gone])

    assert shown == {kept, comment}


def test_when_no_id_is_gone_then_one_batched_request_answers(
    fake: FakeGraph, clock: FakeClock
) -> None:
    ids = [fake.post() for _ in range(3)]

    assert connector(clock).existing(source(), ids) == set(ids)
    assert len(fake.requests) == 1


def test_when_the_source_is_a_group_then_existing_cannot_tell(
    fake: FakeGraph, clock: FakeClock
) -> None:
    assert connector(clock).existing(source(kind=SourceKind.GROUP), ["1_2"]) is None


def test_when_the_page_has_no_token_then_configuration_error(
    fake: FakeGraph, clock: FakeClock
) -> None:
    with pytest.raises(ConfigurationError, match="set-token"):
        list(connector(clock).fetch(source(token=None), None))


# -- misbehaviour ----------------------------------------------------------------------------


def ids_of(pages: list[FetchedPage]) -> list[str]:
    return [p.external_id for p in posts_of(pages)]


def graph_error(status: int, code: int, message: str, **extra: Any) -> Reply:
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Ab1"}
    return json_reply(status, {"error": {**error, **extra}})


@pytest.mark.parametrize(
    "reply",
    [
        graph_error(400, 1, "An unknown error has occurred.", is_transient=True),
        graph_error(400, 2, "Service temporarily unavailable", is_transient=True),
        graph_error(400, 3000, "Please retry your request later.", is_transient=True),
        (200, {"content-type": "application/json; charset=UTF-8"}, '{"data": [{"id": "1_'),
        (200, {"content-type": "text/html"}, "<html><body>Sorry, something went wrong.</body>"),
    ],
    ids=["code 1", "code 2", "is_transient", "cut-off json", "html on 200"],
)
def test_when_the_graph_api_fails_transiently_with_any_status_then_it_is_retried(
    fake: FakeGraph, clock: FakeClock, reply: Reply
) -> None:
    posted = fake.post()
    fake.failures.queue.append(reply)

    pages = list(connector(clock).fetch(source(), None))

    assert ids_of(pages) == [posted]
    assert len(clock.sleeps) == 1


def test_when_a_rate_limit_is_flagged_transient_then_it_is_still_a_rate_limit(
    fake: FakeGraph, clock: FakeClock
) -> None:
    fake.post()
    fake.failures.queue.append(
        graph_error(403, 4, "(#4) Application request limit reached", is_transient=True)
    )

    with pytest.raises(RateLimited):
        list(connector(clock).fetch(source(), None))

    assert len(fake.listing_calls) == 1


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (403, 10, "(#10) This endpoint requires the 'pages_read_engagement' permission"),
        (400, 200, "(#200) Permissions error"),
        (400, 283, "(#283) Requires pages_read_user_content permission"),
    ],
)
def test_when_a_permission_is_missing_then_no_api_access_after_one_call(
    fake: FakeGraph, clock: FakeClock, status: int, code: int, message: str
) -> None:
    fake.post()
    fake.failures.queue.append(graph_error(status, code, message))

    with pytest.raises(NoApiAccess, match=f"code {code}"):
        list(connector(clock).fetch(source(), None))

    assert len(fake.listing_calls) == 1 and clock.sleeps == []


def _buc(percent: int, regain_minutes: int) -> str:
    entry = {
        "type": "pages",
        "call_count": percent,
        "total_cputime": 10,
        "total_time": 10,
        "estimated_time_to_regain_access": regain_minutes,
    }
    return json.dumps({PAGE: [entry]})


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"x-app-usage": json.dumps({"call_count": 100, "total_cputime": 5})}, timedelta(hours=1)),
        ({"x-app-usage": json.dumps({"call_count": 9, "total_time": 97})}, timedelta(hours=1)),
        ({"x-business-use-case-usage": _buc(96, 30)}, timedelta(minutes=30)),
        ({"x-business-use-case-usage": _buc(12, 20)}, timedelta(minutes=20)),
    ],
    ids=["app calls 100", "app time 97", "page near limit", "page throttled"],
)
def test_when_usage_headers_near_the_limit_then_the_next_page_waits_and_nothing_is_lost(
    fake: FakeGraph, clock: FakeClock, headers: dict[str, str], wait: timedelta
) -> None:
    posted = [fake.post() for _ in range(25)]
    fake.usage_headers = headers
    fetch = connector(clock).fetch(source(), None)
    first = next(fetch)

    with pytest.raises(RateLimited) as caught:
        next(fetch)

    assert caught.value.reset_at == clock.now() + wait
    assert len(fake.listing_calls) == 1  # no call into the throttle
    clock.advance(wait.total_seconds())
    fake.usage_headers = {}
    rest = list(connector(clock).fetch(source(), first.cursor))
    fetched = ids_of([first, *rest])
    assert sorted(fetched) == sorted(posted) and len(set(fetched)) == len(fetched)


def test_when_usage_is_near_the_limit_briefly_then_the_next_page_waits_in_place(
    fake: FakeGraph, clock: FakeClock
) -> None:
    posted = [fake.post() for _ in range(25)]
    fake.usage_headers = {"x-business-use-case-usage": _buc(99, 1)}

    pages = list(connector(clock).fetch(source(), None))

    assert sorted(ids_of(pages)) == sorted(posted)
    assert clock.sleeps == [61.0, 61.0]  # before pages 2 and 3


def test_when_usage_is_near_the_limit_then_the_comments_of_the_page_in_hand_still_come(
    fake: FakeGraph, clock: FakeClock
) -> None:
    post = fake.post("Open house")
    reply = fake.comment(post, "See you there")
    fake.usage_headers = {"x-app-usage": json.dumps({"call_count": 99})}

    pages = list(connector(clock).fetch(source(), None))

    assert ids_of(pages) == [post, reply]


class Feed:
    """Feed answers keyed by the ``after`` cursor asked for (None: the first page), each
    linking the next with a ``paging.next`` URL that carries the token, like the real API."""

    def __init__(self, rsps: responses.RequestsMock, pages: dict[str | None, Any]) -> None:
        self.pages = pages
        self.calls: list[dict[str, str]] = []
        rsps.add_callback(
            responses.GET, re.compile(rf"{GRAPH}/v21.0/{PAGE}/feed.*"), callback=self._answer
        )

    def _answer(self, request: requests.PreparedRequest) -> Reply:
        query = dict(parse_qsl(urlparse(request.url or "").query))
        self.calls.append(query)
        posts, after = self.pages[query.get("after")]
        body: dict[str, Any] = {"data": [feed_post(n) for n in posts]}
        if after is not None:
            link = {k: v for k, v in query.items() if k != "appsecret_proof"}
            link.update(access_token=FB_PAGE_TOKEN, after=after)
            body["paging"] = {
                "cursors": {"before": "b", "after": after},
                "next": f"{GRAPH}/v21.0/{PAGE}/feed?{urlencode(link)}",
            }
        return json_reply(200, body)


def feed_post(n: int) -> dict[str, Any]:
    stamp = (datetime(2026, 1, 5, tzinfo=UTC) - timedelta(hours=n)).strftime(
        "%Y-%m-%dT%H:%M:%S+0000"
    )
    return {
        "id": f"{PAGE}_{n}",
        "message": f"post {n}",
        "created_time": stamp,
        "updated_time": stamp,
        "comments": {"data": [], "summary": {"total_count": 0}},
    }


def test_when_a_feed_page_is_empty_but_links_a_next_one_then_paging_goes_on(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    Feed(rsps, {None: ([1, 2], "A"), "A": ([], "B"), "B": ([3], None)})

    pages = list(connector(clock).fetch(source(), None))

    assert ids_of(pages) == [f"{PAGE}_{n}" for n in (1, 2, 3)]
    assert "next" not in json.loads(pages[-1].cursor or "")


def test_when_the_graph_api_repeats_a_paging_link_then_the_pass_ends_once_with_a_gap(
    rsps: responses.RequestsMock, clock: FakeClock
) -> None:
    feed = Feed(rsps, {None: ([1, 2], "A"), "A": ([3, 4], "B"), "B": ([5], "A")})

    pages = list(connector(clock).fetch(source(), None))

    assert ids_of(pages) == [f"{PAGE}_{n}" for n in (1, 2, 3, 4, 5)]
    assert len(feed.calls) == 3
    [gap] = [s for p in pages for s in p.skipped]
    assert "repeated a paging link" in gap.reason
    assert json.loads(pages[-1].cursor or "") == {"v": 1, "since": int(clock.now().timestamp())}


def test_when_a_post_repeats_on_a_later_page_then_it_and_its_comments_come_once(
    fake: FakeGraph, clock: FakeClock
) -> None:
    older = [fake.post() for _ in range(10)]
    commented = fake.post("Thanks all")
    reply = fake.comment(commented, "You're welcome")
    newer = [fake.post() for _ in range(9)]
    real_feed = fake._feed

    def repeat_first_post_of_page_one(path: str, node: str, params: dict[str, str]) -> Reply:
        status, headers, body = real_feed(path, node, params)
        data = json.loads(body)
        if params.get("__paging_token"):  # page 2 starts with the last post of page 1
            data["data"].insert(0, fake.feeds[PAGE][9])
        return status, headers, json.dumps(data)

    fake._feed = repeat_first_post_of_page_one  # type: ignore[method-assign]

    pages = list(connector(clock).fetch(source(), None))

    fetched = ids_of(pages)
    assert sorted(fetched) == sorted([*older, commented, reply, *newer])
    assert len(fetched) == len(set(fetched))
    comment_calls = [r for r in fake.requests if "/comments" in (r.url or "")]
    assert len(comment_calls) == 1


def test_when_comments_fail_mid_pagination_then_the_page_is_not_saved_and_resume_loses_nothing(
    fake: FakeGraph, clock: FakeClock
) -> None:
    older = [fake.post() for _ in range(5)]
    commented = fake.post("Flu clinic moved to Friday")
    reply = fake.comment(commented, "Which room?")
    newer = [fake.post() for _ in range(14)]
    fetch = connector(clock).fetch(source(), None)
    first = next(fetch)
    fake.comment_failures.queue.extend(fake.server_error() for _ in range(20))

    with pytest.raises(TransientError):
        next(fetch)

    fake.comment_failures.queue.clear()
    rest = list(connector(clock).fetch(source(), first.cursor))
    fetched = ids_of([first, *rest])
    assert sorted(fetched) == sorted([*older, commented, reply, *newer])
    assert len(fetched) == len(set(fetched))


def test_when_comment_paging_repeats_a_link_then_the_thread_ends_once_with_a_gap(
    fake: FakeGraph, clock: FakeClock
) -> None:
    post = fake.post("Holiday hours")
    first, second = (fake.comment(post, f"comment {n}") for n in range(2))
    link = f"{GRAPH}/v21.0/{post}/comments?access_token={FB_PAGE_TOKEN}&after=QVFIUa"
    for comment in (first, second):
        item = next(c for c in fake.comments[post] if c["id"] == comment)
        fake.comment_failures.queue.append(
            json_reply(
                200, {"data": [item], "paging": {"cursors": {"after": "QVFIUa"}, "next": link}}
            )
        )

    pages = list(connector(clock).fetch(source(), None))

    assert ids_of(pages) == [post, first, second]
    [gap] = [s for p in pages for s in p.skipped]
    assert "repeated a paging link" in gap.reason and gap.external_id == post
    assert len([r for r in fake.requests if "/comments" in (r.url or "")]) == 2
