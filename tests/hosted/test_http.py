"""The shared HTTP client over real HTTP: pagination, ETags, rate limits, retries, timeouts, bad JSON."""

from __future__ import annotations

import gzip
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, TypedDict

import pytest
from werkzeug import Response

from catalog.connectors.http import (
    ApiClient,
    HttpError,
    MemoryCache,
    RateLimited,
    gitlab_next_page,
    link_next_page,
    parse_link_header,
)
from tests.hosted.fakeapi import FakeApi, Paged, json_response


@pytest.fixture
def api(httpserver) -> FakeApi:
    return FakeApi(httpserver, style="github")


def client(api: FakeApi, **kwargs) -> ApiClient:
    return ApiClient(api.base_url, **kwargs)


def test_link_pagination_follows_rel_next(api):
    api.routes["/items"] = Paged(list(range(7)), page_size=3)
    with client(api) as c:
        assert list(c.paginate("items", {"q": "x"})) == list(range(7))
    assert [q.get("page") for _, q, _ in api.log] == [None, "2", "3"]
    assert all(q["q"] == "x" for _, q, _ in api.log)


def test_gitlab_pagination_uses_x_next_page(httpserver):
    api = FakeApi(httpserver, style="gitlab")
    api.routes["/projects"] = Paged(list(range(5)), page_size=2)
    with ApiClient(api.base_url, next_page=gitlab_next_page) as c:
        assert list(c.paginate("projects", per_page=2)) == list(range(5))
    assert [q.get("page") for _, q, _ in api.log] == [None, "2", "3"]


def test_gitlab_pagination_past_10000_rows_goes_on_without_x_next_page(httpserver):
    api = FakeApi(httpserver, style="gitlab")
    api.drop_next_page_after = 1  # as GitLab does past 10,000 rows: no X-Next-Page, no X-Total
    api.routes["/projects"] = Paged(list(range(7)), page_size=2)
    with ApiClient(api.base_url, next_page=gitlab_next_page) as c:
        assert list(c.paginate("projects", per_page=2)) == list(range(7))
    # page 4 holds one row (short): the end, without asking for an empty page 5
    assert [q.get("page") for _, q, _ in api.log] == [None, "2", "3", "4"]


def test_gitlab_pagination_stops_on_an_empty_page_without_headers(httpserver):
    api = FakeApi(httpserver, style="gitlab")
    api.drop_next_page_after = 0
    api.routes["/projects"] = Paged(list(range(4)), page_size=2)
    with ApiClient(api.base_url, next_page=gitlab_next_page) as c:
        assert list(c.paginate("projects", per_page=2)) == list(range(4))
    assert [q.get("page") for _, q, _ in api.log] == [None, "2", "3"]


def test_etag_304_returns_the_stored_body_and_next_page(api):
    api.routes["/items"] = Paged(list(range(5)), page_size=2)
    cache = MemoryCache()
    with client(api, cache=cache) as c:
        first = list(c.paginate("items", shape=lambda n: {"n": n}))
        second = list(c.paginate("items", shape=lambda n: {"n": n}))
        assert c.stats.requests == 6 and c.stats.not_modified == 3
    assert first == second == [{"n": n} for n in range(5)]
    assert [s for _, _, s in api.log] == [200, 200, 200, 304, 304, 304]
    stored = cache.get(api.base_url + "/items?per_page=100")
    assert stored[1]["data"] == [{"n": 0}, {"n": 1}] and stored[1]["next"].endswith("page=2")


def test_a_changed_resource_answers_200_and_replaces_the_stored_body(api):
    cache = MemoryCache()
    api.routes["/thing"] = {"v": 1}
    with client(api, cache=cache) as c:
        assert c.get("thing") == {"v": 1}
        api.routes["/thing"] = {"v": 2}
        assert c.get("thing") == {"v": 2}
        assert c.get("thing") == {"v": 2}
    assert [s for _, _, s in api.log] == [200, 200, 304]


def test_an_answer_without_etag_is_not_stored(api):
    cache = MemoryCache()
    api.routes["/thing"] = lambda request: json_response({"v": 1})
    with client(api, cache=cache) as c:
        c.get("thing")
    assert cache.entries == {}


def test_403_with_remaining_zero_raises_with_the_reset_time(api):
    reset = int(time.time()) + 3600
    api.routes["/thing"] = lambda request: json_response(
        {"message": "API rate limit exceeded"},
        status=403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset), "x-ratelimit-limit": "5000"},
    )
    with client(api) as c, pytest.raises(RateLimited) as raised:
        c.get("thing")
    assert raised.value.reset_at == datetime.fromtimestamp(reset, UTC)
    assert raised.value.status == 403 and raised.value.url == api.base_url + "/thing"
    assert len(api.log) == 1  # never retried in place


def test_429_with_retry_after_seconds(api):
    api.routes["/thing"] = lambda request: json_response(
        {"message": "slow down"}, status=429, headers={"Retry-After": "120"}
    )
    with client(api) as c, pytest.raises(RateLimited) as raised:
        c.get("thing")
    wait = raised.value.reset_at - datetime.now(UTC)
    assert timedelta(seconds=110) < wait <= timedelta(seconds=120)


def test_retry_after_as_an_http_date(api):
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=10)
    api.routes["/thing"] = lambda request: Response(
        "Retry later", status=429, headers={"Retry-After": format_datetime(when, usegmt=True)}
    )
    with client(api) as c, pytest.raises(RateLimited) as raised:
        c.get("thing")
    assert abs(raised.value.reset_at - when) < timedelta(seconds=2)


def test_gitlab_ratelimit_headers(api):
    reset = int(time.time()) + 50
    api.routes["/thing"] = lambda request: Response(
        "Retry later", status=429, headers={"RateLimit-Remaining": "0", "RateLimit-Reset": str(reset)}
    )
    with client(api) as c, pytest.raises(RateLimited) as raised:
        c.get("thing")
    # Retry-After is absent: the reset header names the time.
    assert raised.value.reset_at == datetime.fromtimestamp(reset, UTC)


SECONDARY = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."


def test_github_secondary_limit_without_headers_waits_a_minute(api):
    api.routes["/thing"] = lambda request: json_response({"message": SECONDARY}, status=403)
    with client(api) as c, pytest.raises(RateLimited) as raised:
        c.get("thing")
    wait = raised.value.reset_at - datetime.now(UTC)
    assert timedelta(seconds=50) < wait <= timedelta(seconds=60)
    assert "secondary rate limit" in str(raised.value)


def test_a_permission_403_is_a_plain_error(api):
    api.routes["/thing"] = lambda request: json_response({"message": "Must have admin rights"}, status=403)
    with client(api) as c, pytest.raises(HttpError) as raised:
        c.get("thing")
    assert not isinstance(raised.value, RateLimited)
    assert str(raised.value) == f"GET {api.base_url}/thing answered 403: Must have admin rights"


def test_5xx_is_retried_then_reported(api):
    api.failures["/thing"] = [json_response({"message": "boom"}, status=503)] * 3
    api.routes["/thing"] = {"ok": True}
    with client(api) as c, pytest.raises(HttpError) as raised:
        c.get("thing")
    assert raised.value.status == 503 and len(api.log) == 3  # three tries (the test cap)
    with client(api) as c:
        assert c.get("thing") == {"ok": True}


def test_a_5xx_short_retry_after_is_waited_for(api):
    api.failures["/thing"] = [Response("", status=503, headers={"Retry-After": "1"})]
    api.routes["/thing"] = {"ok": True}
    with client(api) as c:
        assert c.get("thing") == {"ok": True}
        assert c.stats.retries == 1


def test_timeouts_are_retried_then_reported(api):
    def slow(request):
        time.sleep(0.5)
        return {"late": True}

    api.routes["/slow"] = slow
    with client(api, timeout=0.2) as c, pytest.raises(HttpError) as raised:
        c.get("slow")
    assert raised.value.status is None and "timed out" in str(raised.value)
    assert str(raised.value).startswith(f"GET {api.base_url}/slow: timed out")


def test_connection_refused_is_an_error_with_the_url():
    with ApiClient("http://127.0.0.1:9", timeout=1) as c, pytest.raises(HttpError) as raised:
        c.get("x")
    assert "connection failed" in str(raised.value) and "127.0.0.1:9/x" in raised.value.url


def test_malformed_json_and_wrong_shape(api):
    api.routes["/broken"] = lambda request: Response("{not json", content_type="application/json")
    api.routes["/object"] = {"workflows": "not a list"}
    with client(api) as c:
        with pytest.raises(HttpError, match="answered 200: the answer is not valid JSON"):
            c.get("broken")
        with pytest.raises(HttpError, match="does not have the documented shape"):
            list(c.paginate("object", items=lambda b: b["workflows"]))


def test_missing_statuses_give_none(api):
    with client(api) as c:
        assert c.get("nope", missing=(404,)) is None
        with pytest.raises(HttpError, match="answered 404"):
            c.get("nope")


def test_answers_stored_for_other_shapes_are_not_used(api):
    cache = MemoryCache()
    api.routes["/thing"] = {"v": 1}
    with client(api, cache=cache) as c:
        c.get("thing", shape=lambda body: body["v"])
    with client(api, cache=cache, cache_version=2) as c:
        assert c.get("thing", shape=lambda body: {"value": body["v"]}) == {"value": 1}
    assert [s for _, _, s in api.log] == [200, 200]  # no If-None-Match for the old shape
    assert cache.get(api.base_url + "/thing")[1] == {"data": {"value": 1}, "next": None, "v": 2}


def test_a_redirect_loop_on_the_same_host_stops_with_an_error(httpserver):
    httpserver.expect_request("/a").respond_with_response(Response(status=301, headers={"Location": "/b"}))
    httpserver.expect_request("/b").respond_with_response(Response(status=301, headers={"Location": "/a"}))
    with ApiClient(httpserver.url_for("/")) as c, pytest.raises(HttpError, match="more than 5 redirects"):
        c.get("a")
    assert len(httpserver.log) == 6  # the request and its 5 redirects, then no more


def test_requests_carry_the_default_and_the_callers_headers(httpserver):
    httpserver.expect_request("/x").respond_with_json({"ok": True})
    with ApiClient(httpserver.url_for("/"), headers={"Accept": "application/vnd.github+json"}) as c:
        assert c.get("x") == {"ok": True}
    sent = httpserver.log[0][0].headers
    assert sent["Accept"] == "application/vnd.github+json"
    assert sent["User-Agent"] == "ml-portal"
    assert sent["Accept-Encoding"] == "gzip, deflate"
    assert sent["Host"] == f"{httpserver.host}:{httpserver.port}"


def test_a_gzipped_answer_is_decoded(httpserver):
    body = gzip.compress(b'{"ok": true}')
    httpserver.expect_request("/z").respond_with_response(
        Response(body, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
    )
    with ApiClient(httpserver.url_for("/")) as c:
        assert c.get("z") == {"ok": True}


class Run(TypedDict, total=False):
    id: Any
    status: Any


class Page(TypedDict, total=False):
    workflow_runs: list[Run]


def test_a_schema_keeps_only_its_fields_and_names_a_wrong_shape(httpserver):
    httpserver.expect_request("/runs").respond_with_json(
        {"total_count": 1, "workflow_runs": [{"id": 7, "status": "completed", "repository": {"id": 1}}]}
    )
    httpserver.expect_request("/bad").respond_with_json({"workflow_runs": {"id": 7}})
    with ApiClient(httpserver.url_for("/")) as c:
        assert c.get("runs", schema=Page) == {"workflow_runs": [{"id": 7, "status": "completed"}]}
        with pytest.raises(HttpError, match=r"does not have the documented shape: .*\$\.workflow_runs"):
            c.get("bad", schema=Page)


def test_an_answer_that_does_not_decompress_is_an_error_with_the_url(httpserver):
    httpserver.expect_request("/z").respond_with_response(
        Response(b"not gzip at all", headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
    )
    with ApiClient(httpserver.url_for("/")) as c, pytest.raises(HttpError) as raised:
        c.get("z")
    assert "could not be decoded" in str(raised.value) and raised.value.status == 200
    assert raised.value.url.endswith("/z")


def test_each_thread_keeps_its_own_connection_and_close_ends_them(api):
    api.routes["/x"] = {"ok": True}
    c = client(api)
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(lambda _: c.get("x"), range(40))) == [{"ok": True}] * 40
    pools = list(c._pools)
    assert 1 <= len(pools) <= 4
    assert all(len(p.connections) <= 1 for p in pools)
    c.close()
    assert c._pools == [] and all(p.connections == [] for p in pools)


def test_a_base_url_that_is_not_http_is_refused():
    with pytest.raises(ValueError, match="not an http"):
        ApiClient("ftp://example.com/api")


def test_characters_urls_do_not_allow_are_escaped_as_httpx_did(httpserver):
    """A server's ``Location`` (or ``Link``) may hold a space or quotes: they are sent escaped."""
    httpserver.expect_request("/old").respond_with_response(
        Response(status=302, headers={"Location": "/new name"})
    )
    httpserver.expect_request("/new name").respond_with_json({"ok": True})
    with ApiClient(httpserver.url_for("/")) as c:
        assert c.get("old") == {"ok": True}
    assert [entry[0].environ["RAW_URI"] for entry in httpserver.log] == ["/old", "/new%20name"]


def test_host_header_leaves_out_the_default_port_and_keeps_others():
    c = ApiClient("https://GHE.example.com:443/api/v3")
    assert c._target("https://ghe.example.com/api/v3/x")[1] == b"ghe.example.com"
    assert ApiClient("http://[::1]:8080/")._target("http://[::1]:8080/y")[1] == b"[::1]:8080"
    assert c._allowed("https://ghe.example.com:443/z") and not c._allowed("https://other.example.com/z")


def test_international_host_names_match_their_ascii_form():
    c = ApiClient("https://bücher.example/api/v3")
    assert c._allowed("https://xn--bcher-kva.example/api/v3/repos")


def test_a_request_http_refuses_to_send_is_not_retried(api):
    with client(api) as c, pytest.raises(HttpError, match="cannot be sent"):
        c._send(f"{api.base_url}/x", [(b"X-Bad", b"line\r\nbreak")])
    assert c.stats.retries == 0 and api.log == []


def test_a_client_used_after_close_opens_and_closes_a_new_connection(api):
    api.routes["/x"] = {"ok": True}
    c = client(api)
    assert c.get("x") == {"ok": True}
    first = c._pools[0]
    c.close()
    assert c.get("x") == {"ok": True}  # from the same thread: a new pool, tracked again
    [second] = c._pools
    assert second is not first
    c.close()
    assert c._pools == []


@pytest.mark.parametrize(
    "link",
    [
        '<{next}>; rel="next last"',  # several relation types in one rel (RFC 8288 section 3.3)
        "<{next}>; REL=Next",  # parameter names and relation types are case-insensitive
        '<{next}>; title="a=b; c, <d>"; rel="next"',  # a quoted value holding separators
        '<{base}/items?page=9>; rel="last", <{next}> ; rel = "next"',
        ', <{next}>; rel="next"',  # an empty list element (RFC 9110 section 5.6.1), as a blank header makes
        "<https://cdn.example/s.css>; rel=preload; title=main style, <{next}>; rel=next",  # a lax value
        'not a link, <{next}>; rel="next"',
    ],
)
def test_every_form_rfc_8288_allows_for_the_next_link_is_followed(api, link):
    base = api.base_url
    api.routes["/items"] = lambda request: json_response(
        [1, 2], headers={"Link": link.format(next=f"{base}/more", base=base)}
    )
    api.routes["/more"] = [3]
    with client(api) as c:
        assert list(c.paginate("items")) == [1, 2, 3]


def test_link_header_parsing():
    assert parse_link_header('<https://a/x?page=2>; rel="next", <https://a/x?page=5>; rel="last"') == [
        ("https://a/x?page=2", {"rel": "next"}),
        ("https://a/x?page=5", {"rel": "last"}),
    ]
    assert parse_link_header('<u>; Rel="a \\"b"; rel=second') == [("u", {"rel": 'a "b'})]  # first rel counts
    assert parse_link_header("<a,b>;rel=next") == [("a,b", {"rel": "next"})]
    assert parse_link_header("") == parse_link_header("not a link") == parse_link_header(" , ") == []
    assert parse_link_header('<a>; title="x, <y>"; rel=next') == [("a", {"title": "x, <y>", "rel": "next"})]
    # A quote or bracket left open runs to the end (read in linear time, however many follow).
    [(target, params)] = parse_link_header('<a>; rel=next; t="' + '\\"' * 50_000)
    assert (target, params["rel"]) == ("a", "next")
    assert parse_link_header("<" * 100_000) == []


def test_a_next_link_back_to_a_page_already_read_is_an_error_not_a_loop(api):
    base = api.base_url
    api.routes["/a"] = lambda request: json_response([1], headers={"Link": f'<{base}/b>; rel="next"'})
    api.routes["/b"] = lambda request: json_response(
        [2], headers={"Link": f'<{base}/a?per_page=100>; rel="next"'}
    )
    with client(api) as c, pytest.raises(HttpError, match="a pagination loop") as raised:
        list(c.paginate("a"))
    assert raised.value.url == f"{base}/b" and len(api.log) == 2


def test_a_server_that_ignores_the_page_asked_is_an_error_not_a_loop(httpserver):
    api = FakeApi(httpserver, style="gitlab")
    api.routes["/projects"] = [1, 2]  # full pages, no X-Next-Page: the fallback asks for the next one
    with ApiClient(api.base_url, next_page=gitlab_next_page) as c, pytest.raises(HttpError) as raised:
        list(c.paginate("projects", per_page=2))
    assert "repeats the one before" in str(raised.value) and raised.value.url.endswith("per_page=2&page=2")
    assert len(api.log) == 2


@pytest.mark.parametrize("style", ["github", "gitlab"])
def test_a_304_page_whose_list_grew_follows_the_new_next_page(httpserver, style):
    api = FakeApi(httpserver, style=style)
    items = [0, 1]
    api.routes["/items"] = Paged(items, page_size=2)
    next_page = gitlab_next_page if style == "gitlab" else link_next_page
    cache = MemoryCache()
    with ApiClient(api.base_url, cache=cache, next_page=next_page) as c:
        assert list(c.paginate("items", per_page=2)) == [0, 1]
        items += [2, 3, 4]  # page 1 is unchanged (a 304), but now names a page 2
        assert list(c.paginate("items", per_page=2)) == [0, 1, 2, 3, 4]
        assert list(c.paginate("items", per_page=2)) == [0, 1, 2, 3, 4]
    assert [s for _, _, s in api.log] == [200, 304, 200, 200, 304, 304, 304]
    assert cache.get(api.base_url + "/items?per_page=2")[1]["next"].endswith("page=2")


def test_a_304_whose_link_names_no_next_page_keeps_the_stored_one(api):
    cache = MemoryCache()
    etag = '"v1"'

    def items(request):
        if request.headers.get("If-None-Match") == etag:  # a CDN's Link on the 304, not the API's
            return Response(
                status=304, headers={"ETag": etag, "Link": "<https://cdn.example>; rel=preconnect"}
            )
        return json_response([1], headers={"ETag": etag, "Link": f'<{api.base_url}/more>; rel="next"'})

    api.routes["/items"] = items
    api.routes["/more"] = [2]
    with client(api, cache=cache) as c:
        assert list(c.paginate("items")) == list(c.paginate("items")) == [1, 2]
    assert cache.get(api.base_url + "/items?per_page=100")[1]["next"] == api.base_url + "/more"


def test_a_304_without_pagination_headers_keeps_the_stored_next_page(api):
    cache = MemoryCache()
    etag = '"v1"'

    def items(request):
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})  # RFC 9110 does not require Link here
        return json_response([1], headers={"ETag": etag, "Link": f'<{api.base_url}/more>; rel="next"'})

    api.routes["/items"] = items
    api.routes["/more"] = [2]
    with client(api, cache=cache) as c:
        assert list(c.paginate("items")) == list(c.paginate("items")) == [1, 2]
    assert [(path, s) for path, _, s in api.log][2] == ("/items", 304)


@pytest.mark.parametrize(
    "headers",
    [
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "99999999999999"},
        {"Retry-After": "99999999999"},
        {"Retry-After": "9" * 40},
        {"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"},
    ],
)
def test_a_wait_named_beyond_an_hour_is_cut_to_an_hour(api, headers):
    api.routes["/thing"] = lambda request: json_response({"message": "slow"}, status=429, headers=headers)
    with client(api) as c, pytest.raises(RateLimited) as raised:
        c.get("thing")
    wait = raised.value.reset_at - datetime.now(UTC)
    assert timedelta(minutes=59) < wait <= timedelta(hours=1)
    assert raised.value.url == api.base_url + "/thing"


@pytest.mark.parametrize(
    ("reset", "expected"),
    [(None, 60), ("soon", 60), ("nan", 60), ("1e400", 60), ("+600.5", 600.5)],
)
def test_remaining_zero_is_a_rate_limit_whatever_the_reset_says(api, reset, expected):
    headers = {"x-ratelimit-remaining": "0"}
    if reset:
        headers["x-ratelimit-reset"] = reset.replace("+600.5", str(time.time() + 600.5))
    api.routes["/thing"] = lambda request: json_response(
        {"message": "Forbidden"}, status=403, headers=headers
    )
    with client(api) as c, pytest.raises(RateLimited) as raised:
        c.get("thing")
    wait = (raised.value.reset_at - datetime.now(UTC)).total_seconds()
    assert expected - 5 < wait <= expected


def test_a_5xx_retry_after_too_long_to_wait_reschedules_at_that_time(api):
    api.routes["/thing"] = lambda request: Response("down", status=503, headers={"Retry-After": "120"})
    with client(api) as c, pytest.raises(RateLimited) as raised:
        c.get("thing")
    wait = raised.value.reset_at - datetime.now(UTC)
    assert timedelta(seconds=110) < wait <= timedelta(seconds=120)
    assert raised.value.status == 503 and len(api.log) == 1  # no worker sleeps two minutes
