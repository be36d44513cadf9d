"""The one suite every platform connector passes, through its real client library.

Each harness (``fake_apis``) fakes a platform at the HTTP level; the tests only use the
``Connector`` contract: pages arrive with the cursor to save, resuming from any saved cursor
continues exactly after that page, failures come out as the ``ConnectorError`` family with no
secret in them, and nothing here sleeps for real.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses
from fake_apis import FacebookHarness, Harness, XHarness, settings_for_tests

from connectors.base import (
    AuthExpired,
    ConfigurationError,
    Connector,
    ConnectorError,
    RateLimited,
    TransientError,
)
from monitor.domain import FetchedPage, SourceRef

HARNESSES = {"x": XHarness, "facebook": FacebookHarness}


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield HARNESSES[request.param](rsps, monkeypatch)


def drain(connector: Connector, source: SourceRef, cursor: str | None = None) -> list[FetchedPage]:
    return list(connector.fetch(source, cursor))


def ids_of(pages: list[FetchedPage]) -> list[str]:
    return [post.external_id for page in pages for post in page.posts]


def error_text(exc: BaseException) -> str:
    """Everything a log line or traceback could show of an exception and what it chains."""
    parts = []
    seen: BaseException | None = exc
    while seen is not None:
        parts.append(f"{seen!s} {seen!r}")
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)
    return " ".join(parts)


def test_when_backlog_spans_several_pages_then_every_item_arrives_exactly_once(
    harness: Harness,
) -> None:
    seeded = harness.seed(25)

    pages = drain(harness.connector(), harness.source())

    assert len(pages) >= 3
    assert sorted(ids_of(pages)) == sorted(seeded)
    assert len(set(ids_of(pages))) == len(ids_of(pages))
    for page in pages:
        assert page.cursor is not None
        assert not any(secret in page.cursor for secret in harness.secrets)


def test_when_rate_limited_mid_pagination_then_resuming_from_saved_cursor_loses_and_repeats_nothing(
    harness: Harness,
) -> None:
    seeded = harness.seed(25)
    source = harness.source()
    fetch = harness.connector().fetch(source, None)
    first = next(fetch)
    harness.fail_next("rate_limit")

    with pytest.raises(RateLimited) as caught:
        next(fetch)

    assert (caught.value.reset_at - harness.clock.now()).total_seconds() > 60
    rest = drain(harness.connector(), source, first.cursor)
    fetched = ids_of([first, *rest])
    assert sorted(fetched) == sorted(seeded)
    assert len(set(fetched)) == len(fetched)


def test_when_process_stops_between_pages_then_rerun_from_last_cursor_has_no_loss_or_duplicate(
    harness: Harness,
) -> None:
    seeded = harness.seed(25)
    source = harness.source()
    fetch = harness.connector().fetch(source, None)
    committed = [next(fetch), next(fetch)]
    fetch.close()  # the process died before asking for the third page

    rest = drain(harness.connector(), source, committed[-1].cursor)

    fetched = ids_of([*committed, *rest])
    assert sorted(fetched) == sorted(seeded)
    assert len(set(fetched)) == len(fetched)


def test_when_resuming_from_any_page_cursor_then_exactly_the_later_pages_follow(
    harness: Harness,
) -> None:
    harness.seed(25)
    source = harness.source()
    pages = drain(harness.connector(), source)

    for index, page in enumerate(pages):
        resumed = drain(harness.connector(), source, page.cursor)
        assert ids_of(resumed) == ids_of(pages[index + 1 :]), f"after page {index}"


def test_when_new_items_arrive_after_a_complete_pass_then_only_they_are_fetched(
    harness: Harness,
) -> None:
    harness.seed(12)
    source = harness.source()
    pages = drain(harness.connector(), source)
    harness.clock.advance(3600)
    fresh = harness.seed(3)

    again = drain(harness.connector(), source, pages[-1].cursor)

    assert sorted(ids_of(again)) == sorted(fresh)


def test_when_token_is_expired_then_auth_expired_names_no_secret(harness: Harness) -> None:
    harness.seed(3)
    harness.fail_next("auth")

    with pytest.raises(AuthExpired) as caught:
        drain(harness.connector(), harness.source())

    assert not any(secret in error_text(caught.value) for secret in harness.secrets)


@pytest.mark.parametrize("kind", ["server_error", "timeout", "reset"])
def test_when_a_transient_failure_clears_then_the_pass_completes_and_reports_the_wait(
    harness: Harness, kind: str
) -> None:
    seeded = harness.seed(15)
    harness.fail_next(kind, times=2)

    pages = drain(harness.connector(), harness.source())

    assert sorted(ids_of(pages)) == sorted(seeded)
    assert len(harness.clock.sleeps) == 2
    assert pages[0].waited_seconds == pytest.approx(sum(harness.clock.sleeps))


@pytest.mark.parametrize("kind", ["server_error", "timeout", "reset"])
def test_when_a_transient_failure_persists_then_transient_error_after_bounded_retries(
    harness: Harness, kind: str
) -> None:
    harness.seed(3)
    harness.fail_next(kind, times=20)
    settings = settings_for_tests()

    with pytest.raises(TransientError) as caught:
        drain(harness.connector(settings), harness.source())

    retries = getattr(settings.connectors, harness.name).max_retries
    assert harness.listing_calls() == retries + 1
    assert len(harness.clock.sleeps) == retries
    assert all(0 <= s <= settings.connectors.backoff_max_seconds for s in harness.clock.sleeps)
    assert not any(secret in error_text(caught.value) for secret in harness.secrets)


def test_when_random_is_seeded_then_backoff_waits_are_reproducible(harness: Harness) -> None:
    harness.seed(3)
    waits = []
    for _ in range(2):
        harness.clock.sleeps.clear()
        harness.fail_next("server_error", times=3)
        drain(harness.connector(seed=42), harness.source())
        waits.append(list(harness.clock.sleeps))

    assert waits[0] == waits[1]
    assert len(waits[0]) == 3


def test_when_an_item_is_malformed_then_it_is_skipped_alone(harness: Harness) -> None:
    before = harness.seed(3)
    harness.seed_malformed()
    after = harness.seed(3)

    pages = drain(harness.connector(), harness.source())

    assert sorted(ids_of(pages)) == sorted(before + after)
    assert sum(len(page.skipped) for page in pages) == 1


@pytest.mark.parametrize("kind", ["rate_limit", "auth", "server_error", "timeout", "reset"])
def test_when_any_request_fails_then_no_secret_reaches_the_exception(
    harness: Harness, kind: str
) -> None:
    harness.seed(3)
    harness.fail_next(kind, times=20)

    with pytest.raises(ConnectorError) as caught:
        drain(harness.connector(), harness.source())

    text = error_text(caught.value)
    assert not any(secret in text for secret in harness.secrets)


def test_when_the_saved_cursor_is_garbage_then_configuration_error(harness: Harness) -> None:
    with pytest.raises(ConfigurationError):
        drain(harness.connector(), harness.source(), '{"v": 99}')
