"""One HTTP client for the connectors that read REST APIs (GitHub, GitLab, later MLflow).

``ApiClient`` is thread-safe (connectors share one across a thread pool): each thread that uses it gets
its own HTTP/1.1 keep-alive connection, through httpcore, the transport layer of httpx. Answers are
``httpx.Response`` objects (headers, ``Link`` parsing, gzip and deflate decoding). On top it adds:

- **conditional requests**: with a cache (``HttpCache``), a GET sends the stored ``ETag`` as
  ``If-None-Match``; a ``304 Not Modified`` returns the stored body (GitHub does not count it against the
  rate limit). The cache stores what ``shape`` kept of the JSON body, plus the next page's URL.
- **pagination**: GitHub's ``Link: <...>; rel="next"`` (RFC 8288: any link whose relation types include
  ``next``), or GitLab's ``X-Next-Page``, which is missing past 10,000 rows: then the next page is
  ``X-Page`` + 1 while pages come back full. A 304 that names a next page is followed there (the list may
  have grown behind an unchanged page). A next page already read, or a page repeating the one before,
  is an error, not an endless sync.
- **rate limits**: a 403 or 429 with ``x-ratelimit-remaining: 0`` (or ``RateLimit-Remaining``),
  ``retry-after``, or GitHub's secondary-limit message raises ``RateLimited`` with the time the API names
  (``x-ratelimit-reset`` epoch seconds, ``retry-after`` seconds or HTTP date; one minute when it names
  none, as GitHub's docs ask; at most an hour ahead, then it is asked again). The caller reschedules:
  nothing here sleeps until a reset.
- **retries**: timeouts, connection errors and 5xx answers are retried with exponential backoff and jitter
  (stamina), a bounded number of times; a 5xx whose ``Retry-After`` is longer than 30 seconds raises
  ``RateLimited`` at that time instead.
- **one origin**: every request goes to the scheme, host and port of ``base_url`` (or its https upgrade),
  so a source's token never reaches another server. A next page named on another host (an alias or IP
  of a GitHub Enterprise server, or a hostile answer) is read from ``base_url``'s origin with the same
  path and query; a redirect elsewhere raises ``HttpError``.
- **CPU**: a sync sends thousands of requests, and on a 2-core machine their CPU, not the network, sets
  its pace (``benchmarks/ci_sync.py``). So requests go straight to a per-thread ``httpcore``
  connection pool: ``httpx.Client`` adds URL merging, cookies, auth flows and hooks (none needed here),
  a pool shared by threads takes a lock and polls every idle socket on each request, and parsing each
  request's URL into an ``httpx.URL`` validated it character by character: together about a third of
  the sync's CPU. Bodies are decoded with ``orjson``, or with a ``msgspec`` type that keeps only the
  fields a connector reads (GitHub's run pages: 30 runs weigh ~360 KB, of which ~5% is read).
- **errors** (``HttpError``) carry the method, URL and status; tokens travel in headers, never in URLs.

Specs: https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api,
https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api,
https://docs.gitlab.com/ee/api/rest/#pagination, https://docs.gitlab.com/ee/security/rate_limits.html
"""

from __future__ import annotations

import email.utils
import functools
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote, urlencode, urljoin, urlsplit, urlunsplit

import httpcore
import httpx
import msgspec
import orjson
import stamina

__all__ = [
    "ApiClient",
    "HttpCache",
    "HttpError",
    "MemoryCache",
    "RateLimited",
    "gitlab_next_page",
    "link_next_page",
]

DEFAULT_TIMEOUT = 30.0  # seconds per request (connect, read, write, pool)
RETRY_ATTEMPTS = 4  # tries of one request that times out or gets a 5xx
RETRY_BUDGET = 60.0  # seconds: retries of one request stop after this
RETRY_AFTER_CAP = 30.0  # seconds: a 5xx's Retry-After longer than this is not waited for
DEFAULT_RATE_LIMIT_WAIT = timedelta(minutes=1)
MAX_RATE_LIMIT_WAIT = timedelta(hours=1)  # a longer wait named by an API is cut to this (then asked again)
MAX_REDIRECTS = 5  # same-host hops followed for one request (a renamed repository takes one)
DEFAULT_HEADERS = {  # sent with every request; the connectors' own headers override them
    "Accept": "application/json",
    "Accept-Encoding": "gzip, deflate",
    "User-Agent": "ml-portal",
}
SECONDARY_LIMIT_MARKERS = ("secondary rate limit", "abuse detection", "rate limit exceeded")


class HttpError(Exception):
    """A request failed: ``url``, ``status`` (None when no answer came) and what went wrong."""

    def __init__(self, message: str, *, url: str, status: int | None = None, method: str = "GET") -> None:
        self.url, self.status, self.method, self.reason = url, status, method, message
        answered = f" answered {status}" if status is not None else ""
        super().__init__(f"{method} {url}{answered}: {message}")


class RateLimited(HttpError):
    """The API refused for a rate limit (or, with a 5xx, asked to come back later); retry at ``reset_at``
    (aware UTC)."""

    def __init__(self, message: str, *, url: str, status: int, reset_at: datetime, method: str = "GET"):
        self.reset_at = reset_at
        super().__init__(
            f"{message}; retry at {reset_at:%Y-%m-%d %H:%M:%S} UTC", url=url, status=status, method=method
        )


class _ServerError(HttpError):
    """A 5xx answer: retried. ``retry_after`` in seconds when the server named one."""

    def __init__(self, message: str, *, url: str, status: int, retry_after: float | None) -> None:
        self.retry_after = retry_after
        super().__init__(message, url=url, status=status)


class HttpCache(Protocol):
    """Stored answers for conditional requests, keyed by the full URL (query included)."""

    def get(self, url: str) -> tuple[str, Any] | None:
        """The stored ``(etag, body)`` for ``url``, or None."""
        ...

    def put(self, url: str, etag: str, body: Any) -> None:
        """Store ``body`` (JSON-serialisable) as the answer to ``url`` with ``etag``."""
        ...


class MemoryCache:
    """An ``HttpCache`` in a dict, safe to share between threads."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[str, Any]] = {}
        self._lock = threading.Lock()

    def get(self, url: str) -> tuple[str, Any] | None:
        with self._lock:
            return self.entries.get(url)

    def put(self, url: str, etag: str, body: Any) -> None:
        with self._lock:
            self.entries[url] = (etag, body)


@dataclass
class Stats:
    """What a client sent: ``requests`` answered (retries included) and how many were 304s."""

    requests: int = 0
    not_modified: int = 0
    retries: int = 0


# Pagination: each function gets the answer, the URL asked, the page's items and the page size asked,
# and returns the next page's URL or None.
NextPage = Callable[[httpx.Response, str, list, int], str | None]


def link_next_page(response: httpx.Response, url: str, items: list, per_page: int) -> str | None:
    """GitHub: the target of the ``Link`` header's link whose relation types include ``next``."""
    for target, params in parse_link_header(", ".join(response.headers.get_list("link"))):
        if "next" in params.get("rel", "").lower().split():
            return urljoin(url, target)
    return None


# RFC 8288 section 3: link-value = "<" URI-Reference ">" *( OWS ";" OWS link-param ), link-param =
# token BWS [ "=" BWS ( token / quoted-string ) ]; link-values are separated by commas (RFC 9110's lists:
# empty elements allowed). Runs of anything but the separator, with quoted strings and <targets> whole;
# one left open runs to the end, so that no match is retried from each quote (linear time).
_QUOTED = r'"(?:[^"\\]|\\.)*(?:"|\\?\Z)'
_LINK_ELEMENT = re.compile(rf"(?:{_QUOTED}|<[^>]*(?:>|\Z)|[^,])+", re.DOTALL)
_LINK_PARAM = re.compile(rf"(?:{_QUOTED}|[^;])+", re.DOTALL)
_LINK_TARGET = re.compile(r"\s*<([^>]*)>(.*)", re.DOTALL)


def parse_link_header(value: str) -> list[tuple[str, dict[str, str]]]:
    """The links of a ``Link`` header (RFC 8288): ``(target, params)`` each, in order, with parameter
    names lowercased, quoted values unquoted, and only the first of a repeated parameter kept (as the
    RFC says for ``rel``). Leniently, as browsers read it: an element that is not a link is skipped and
    an unquoted value may hold spaces; the links around them still count.
    """
    links: list[tuple[str, dict[str, str]]] = []
    for element in _LINK_ELEMENT.findall(value):
        link = _LINK_TARGET.match(element)
        if not link:
            continue
        params: dict[str, str] = {}
        for param in _LINK_PARAM.findall(link[2]):
            name, _, raw = param.partition("=")
            raw = raw.strip()
            if len(raw) > 1 and raw[0] == raw[-1] == '"':
                raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
            if name.strip():
                params.setdefault(name.strip().lower(), raw)
        links.append((link[1].strip(), params))
    return links


def gitlab_next_page(response: httpx.Response, url: str, items: list, per_page: int) -> str | None:
    """GitLab: ``X-Next-Page`` (empty on the last page). Past 10,000 rows GitLab may leave the header out:
    then ``X-Page`` (or the ``page`` asked) + 1, while pages come back full.
    """
    if "x-next-page" in response.headers:
        following = response.headers["x-next-page"].strip()
    elif items and len(items) >= per_page:
        current = response.headers.get("x-page") or httpx.URL(url).params.get("page") or "1"
        following = str(int(current) + 1) if current.strip().isdigit() else ""
    else:
        following = ""
    return str(httpx.URL(url).copy_merge_params({"page": following})) if following else None


class ApiClient:
    """A JSON REST client with ETags, pagination, rate limits and retries (see the module docstring).

    ``base_url`` prefixes relative paths; ``headers`` go with every request (tokens included: they are
    never logged or put in messages). ``cache`` enables conditional requests; ``cache_version`` names the
    shapes the caller keeps (bump it when a shape changes: answers stored under another are not used).
    Each thread that sends keeps one connection until ``close``. ``stats`` counts what was sent.
    """

    def __init__(
        self,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        cache: HttpCache | None = None,
        next_page: NextPage = link_next_page,
        timeout: float = DEFAULT_TIMEOUT,
        attempts: int = RETRY_ATTEMPTS,
        cache_version: int = 1,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self._origin = _origin(self.base_url)
        if self._origin is None:
            raise ValueError(f"{base_url!r} is not an http(s) URL with a host")
        self.cache_version = cache_version
        self.cache = cache
        self.next_page = next_page
        self.attempts = attempts
        self.stats = Stats()
        self._lock = threading.Lock()
        merged = httpx.Headers({**DEFAULT_HEADERS, **(headers or {})})
        self._headers = [(name, value) for name, value in merged.raw if name.lower() != b"host"]
        self._timeout = httpx.Timeout(timeout).as_dict()
        self._ssl_context = httpx.create_ssl_context()  # loading the CA bundle costs ~80 ms: once
        self._local = threading.local()
        self._pools: list[httpcore.ConnectionPool] = []
        self._generation = 0  # bumped by close: a thread's pool from before is not used again

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every thread's connection; a request after this opens a new one (closed again here)."""
        with self._lock:
            pools, self._pools = self._pools, []
            self._generation += 1
        for pool in pools:
            pool.close()

    def _pool(self) -> httpcore.ConnectionPool:
        """The calling thread's connection pool: one keep-alive connection per thread."""
        generation, pool = getattr(self._local, "pool", (-1, None))
        if generation != self._generation:
            pool = httpcore.ConnectionPool(
                ssl_context=self._ssl_context, max_connections=1, max_keepalive_connections=1
            )
            with self._lock:
                self._pools.append(pool)
                self._local.pool = (self._generation, pool)
        return pool

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        """The absolute URL of ``path`` (relative to ``base_url``, or absolute) with ``params`` sorted."""
        url = path if "://" in path else self.base_url + path.lstrip("/")
        if params:
            query = urlencode(sorted((k, str(v)) for k, v in params.items() if v is not None))
            url = f"{url}{'&' if '?' in url else '?'}{query}"
        return url

    def get(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        shape: Callable[[Any], Any] | None = None,
        schema: Any = None,
        missing: tuple[int, ...] = (),
    ) -> Any:
        """GET one JSON document; return ``shape(body)`` (or the body), or None when the status is in
        ``missing`` (e.g. 404 for a file that may not exist). ``schema``, a type msgspec decodes (a
        ``TypedDict`` naming the fields kept), replaces plain JSON parsing: what it does not name is
        skipped. Raises ``RateLimited``, or ``HttpError`` for any other failure (after retries for timeouts
        and 5xx), including a body that is not JSON or not of the ``schema``.
        """
        body, _ = self._get(self.url(path, params), shape=shape, schema=schema, missing=missing, per_page=0)
        return body

    def paginate(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        per_page: int = 100,
        items: Callable[[Any], list] | None = None,
        shape: Callable[[Any], Any] | None = None,
        schema: Any = None,
        max_pages: int | None = None,
    ) -> Iterator[Any]:
        """Yield every item of a paginated list, page by page (each page is one conditional request).

        ``items`` picks the list from a page's body (default: the body is the list, as on GitLab and in
        most GitHub lists; ``lambda b: b["workflow_runs"]`` for GitHub's wrapped ones); ``shape`` is
        applied to each item before it is cached and yielded; ``schema`` is a page's type, as in ``get``.
        ``max_pages`` stops early. Raises as ``get``, and ``HttpError`` when a next page would read again
        a page already read (a ``Link`` back to it, or a page ignored by a server that repeats the last).
        """
        url: str | None = self.url(path, {**(params or {}), "per_page": per_page})
        seen: set[str] = set()
        previous: list | None = None

        def page_shape(body: Any) -> list:
            rows = items(body) if items else body
            if not isinstance(rows, list):
                raise ValueError(f"expected a list, got {type(rows).__name__}")
            return [shape(row) for row in rows] if shape else rows

        pages = 0
        while url and (max_pages is None or pages < max_pages):
            seen.add(url)
            rows, following = self._get(url, shape=page_shape, schema=schema, missing=(), per_page=per_page)
            if following in seen:
                raise HttpError(
                    f"the next page is one already read ({following}): a pagination loop", url=url
                )
            if len(rows) > 1 and rows == previous:
                repeat = "the page repeats the one before: the server ignores the page asked"
                raise HttpError(repeat, url=url)
            pages += 1
            yield from rows
            url, previous = following, rows

    # The request itself

    def _get(
        self,
        url: str,
        *,
        shape: Callable[[Any], Any] | None,
        schema: Any,
        missing: tuple[int, ...],
        per_page: int,
    ) -> tuple[Any, str | None]:
        cached = self.cache.get(url) if self.cache is not None else None
        if cached and cached[1].get("v") != self.cache_version:
            cached = None  # stored by another version of the connector's shapes: ask for the full answer
        headers = [(b"If-None-Match", cached[0].encode())] if cached else []
        response = self._send(url, headers)
        if response.status_code == 304 and cached:
            stored = cached[1]
            following = stored.get("next")
            if per_page and _PAGINATION_HEADERS.intersection(response.headers):
                # The page is the same, but the list may have grown: a next page the answer names counts
                # (one it does not name may just be left out of a 304, or of a CDN's Link).
                named = self._on_origin(self.next_page(response, url, stored["data"], per_page))
                if named is not None and named != following:
                    following = named
                    if self.cache is not None:
                        self.cache.put(url, cached[0], {**stored, "next": following})
            return stored["data"], following
        if response.status_code in missing:
            return None, None
        if response.status_code >= 400:
            raise HttpError(_reason(response), url=url, status=response.status_code)
        try:
            body = _decoder(schema).decode(response.content) if schema else orjson.loads(response.content)
        except (orjson.JSONDecodeError, msgspec.DecodeError) as exc:
            if isinstance(exc, msgspec.ValidationError):
                raise HttpError(
                    f"the answer does not have the documented shape: {exc}",
                    url=url,
                    status=response.status_code,
                ) from None
            raise HttpError(
                f"the answer is not valid JSON: {exc}", url=url, status=response.status_code
            ) from None
        try:
            data = shape(body) if shape else body
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise HttpError(
                f"the answer does not have the documented shape: {exc!r}",
                url=url,
                status=response.status_code,
            ) from None
        following = self._on_origin(self.next_page(response, url, data, per_page)) if per_page else None
        etag = response.headers.get("etag")
        if self.cache is not None and etag:
            self.cache.put(url, etag, {"data": data, "next": following, "v": self.cache_version})
        return data, following

    def _send(self, url: str, headers: list[tuple[bytes, bytes]]) -> httpx.Response:
        """One GET, retried on timeouts, connection errors and 5xx; raises RateLimited or HttpError."""
        try:
            for attempt in stamina.retry_context(
                on=_retry_backoff,
                attempts=self.attempts,
                timeout=RETRY_BUDGET,
                wait_initial=0.5,
                wait_max=8.0,
            ):
                with attempt:
                    if attempt.num > 1:
                        self._count(retry=True)
                    try:
                        response = self._request(url, headers)
                    except (httpcore.LocalProtocolError, httpcore.UnsupportedProtocol) as exc:
                        raise _Unsendable(f"the request cannot be sent: {exc}", url=url) from exc
                    except httpcore.TimeoutException as exc:
                        raise HttpError(f"timed out ({type(exc).__name__})", url=url) from exc
                    except _CONNECTION_ERRORS as exc:
                        raise HttpError(f"connection failed: {exc or type(exc).__name__}", url=url) from exc
                    self._count(not_modified=response.status_code == 304)
                    _raise_for_limits(response, url)
                    return response
        except _ServerError as exc:
            raise HttpError(exc.reason, url=url, status=exc.status) from exc
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    def _request(self, url: str, headers: list[tuple[bytes, bytes]]) -> httpx.Response:
        """One GET through the calling thread's connection, its body read and decoded; redirects on the
        API's own host followed. Raises httpcore's errors, or HttpError (a URL or redirect elsewhere, a
        body whose Content-Encoding does not decode).
        """
        for _ in range(MAX_REDIRECTS + 1):
            target, host = self._target(url)
            request = httpcore.Request(
                b"GET",
                target,
                headers=[(b"Host", host), *self._headers, *headers],
                extensions={"timeout": self._timeout},
            )
            raw = self._pool().handle_request(request)
            try:
                content = raw.read()
            finally:
                raw.close()
            try:
                response = httpx.Response(raw.status, headers=raw.headers, content=content)
            except httpx.DecodingError as exc:
                raise HttpError(
                    f"the answer could not be decoded: {exc}", url=url, status=raw.status
                ) from None
            if not response.has_redirect_location:
                return response
            location = urljoin(url, response.headers["location"])
            if not self._allowed(location):
                parts = urlsplit(location)
                raise HttpError(
                    f"redirected to {parts.scheme}://{parts.netloc}, another host: not followed",
                    url=url,
                    status=response.status_code,
                )
            url = location
        raise HttpError(f"more than {MAX_REDIRECTS} redirects", url=url, status=response.status_code)

    def _on_origin(self, url: str | None) -> str | None:
        """``url`` (a next page) as a URL on the API's origin: one elsewhere keeps its path and query."""
        if url is None or self._allowed(url):
            return url
        parts = urlsplit(url)
        return urlunsplit((*urlsplit(self.base_url)[:2], parts.path, parts.query, ""))

    def _allowed(self, url: str) -> bool:
        """Whether ``url`` is on the API's origin, or its https upgrade (the same host)."""
        origin = _origin(url)
        if origin is None:
            return False
        if origin == self._origin:
            return True
        return origin[1] == self._origin[1] and (self._origin[0], origin[0]) == ("http", "https")

    def _target(self, url: str) -> tuple[httpcore.URL, bytes]:
        """httpcore's URL of ``url`` and its ``Host`` header; raises HttpError for a URL off the API's host
        (a ``Link`` to another server, say)."""
        if not self._allowed(url):
            raise HttpError(f"not on the API's host ({self.base_url}): not requested", url=url)
        parts = urlsplit(url)
        scheme, host, port = _origin(url)  # type: ignore[misc]  # _allowed checked it is an http(s) URL
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if _NOT_IN_URLS.search(target):  # a space or quote in a server's Link or Location: as httpx did
            target = quote(target, safe=_URL_CHARACTERS)
        target_url = httpcore.URL(
            scheme=scheme.encode(), host=host.encode(), port=port, target=target.encode("ascii")
        )
        named = f"[{host}]" if ":" in host else host
        if port != _DEFAULT_PORTS[scheme]:
            named = f"{named}:{port}"
        return target_url, named.encode()

    def _count(self, *, not_modified: bool = False, retry: bool = False) -> None:
        with self._lock:
            if retry:
                self.stats.retries += 1
                return
            self.stats.requests += 1
            self.stats.not_modified += not_modified


# What httpcore raises when no answer came (timeouts are caught apart).
_CONNECTION_ERRORS = (
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.ProxyError,
    httpcore.UnsupportedProtocol,
    httpcore.ConnectionNotAvailable,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Headers that name a next page (GitHub's and GitLab's): a 304 that carries one is read for it.
_PAGINATION_HEADERS = frozenset(("link", "x-next-page", "x-page"))
# RFC 3986's characters (unreserved, reserved, and "%" of the escapes already made); others are escaped.
_URL_CHARACTERS = "-._~:/?#[]@!$&'()*+,;=%"
_NOT_IN_URLS = re.compile(r"[^A-Za-z0-9" + re.escape(_URL_CHARACTERS) + "]")


class _Unsendable(HttpError):
    """The request itself is malformed (a URL character HTTP refuses, say): not retried."""


def _origin(url: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an http(s) URL: lowercased, an international host name in its ASCII
    (IDNA) form, the port made explicit; None for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
        host = (parts.hostname or "").encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    return scheme, host.lower(), port or _DEFAULT_PORTS[scheme]


@functools.cache
def _decoder(schema: Any) -> msgspec.json.Decoder:
    """A msgspec JSON decoder of ``schema``, made once per type (making one compiles the type)."""
    return msgspec.json.Decoder(schema)


def _retry_backoff(exc: Exception) -> bool | float:
    """stamina's hook: retry 5xx and failures without an answer; a 5xx's short Retry-After is honoured."""
    if isinstance(exc, _ServerError):
        if exc.retry_after is None:
            return True
        return exc.retry_after if exc.retry_after <= RETRY_AFTER_CAP else False
    if isinstance(exc, (RateLimited, _Unsendable)):
        return False
    return isinstance(exc, HttpError) and exc.status is None


def _raise_for_limits(response: httpx.Response, url: str) -> None:
    """Raise RateLimited for a rate-limit answer, _ServerError for a 5xx; return otherwise."""
    status = response.status_code
    retry_after = retry_after_seconds(response)
    if status >= 500:
        if retry_after is not None and retry_after > RETRY_AFTER_CAP:
            # Too long to wait in a worker: the task is retried at the time the server names.
            raise RateLimited(
                f"unavailable: {_reason(response)}",
                url=url,
                status=status,
                reset_at=_at(time.time() + retry_after),
            )
        raise _ServerError(_reason(response), url=url, status=status, retry_after=retry_after)
    if status not in (403, 429):
        return
    headers = response.headers
    remaining = headers.get("x-ratelimit-remaining", headers.get("ratelimit-remaining"))
    reason = _reason(response)
    minute_from_now = time.time() + DEFAULT_RATE_LIMIT_WAIT.total_seconds()
    if retry_after is not None:
        reset_at = _at(time.time() + retry_after)
    elif remaining is not None and remaining.strip() == "0":
        # GitHub and GitLab send the reset as epoch seconds; without a readable one, wait a minute.
        reset = _epoch_seconds(headers.get("x-ratelimit-reset", headers.get("ratelimit-reset")))
        reset_at = _at(reset if reset is not None else minute_from_now)
    elif status == 429 or any(marker in reason.lower() for marker in SECONDARY_LIMIT_MARKERS):
        reset_at = _at(minute_from_now)
    else:
        return  # a 403 that is about permissions, not limits
    raise RateLimited(f"rate limited: {reason}", url=url, status=status, reset_at=reset_at)


def _at(epoch: float) -> datetime:
    """``epoch`` (seconds) as an aware UTC datetime, kept between now and ``MAX_RATE_LIMIT_WAIT`` ahead."""
    now = time.time()
    return datetime.fromtimestamp(min(max(epoch, now), now + MAX_RATE_LIMIT_WAIT.total_seconds()), UTC)


def _epoch_seconds(value: str | None) -> float | None:
    """A reset header's epoch seconds (an integer, or a decimal); None when absent or not a number."""
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    return seconds if seconds is not None and math.isfinite(seconds) else None


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds (RFC 9110: a number or an HTTP date); None when absent or unreadable."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)  # a huge one is capped by the callers
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _reason(response: httpx.Response) -> str:
    """The API's own message (GitHub's and GitLab's ``message`` or ``error``), else the reason phrase."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict):
        for key in ("message", "error_description", "error"):
            if isinstance(body.get(key), str) and body[key].strip():
                return body[key].strip()[:300]
    return response.reason_phrase or f"HTTP {response.status_code}"
