"""One HTTP client for the connectors that read REST APIs (GitHub, GitLab, later MLflow).

``ApiClient`` sends through one ``httpx.HTTPTransport`` (thread-safe: connectors share it across a thread
pool; HTTP/1.1 keep-alive, its pool sized to the concurrency) and adds:

- **conditional requests**: with a cache (``HttpCache``), a GET sends the stored ``ETag`` as
  ``If-None-Match``; a ``304 Not Modified`` returns the stored body (GitHub does not count it against the
  rate limit). The cache stores what ``shape`` kept of the JSON body, plus the next page's URL.
- **pagination**: GitHub's ``Link: <...>; rel="next"`` (RFC 8288), or GitLab's ``X-Next-Page``, which
  is missing past 10,000 rows: then the next page is ``X-Page`` + 1 while pages come back full.
- **rate limits**: a 403 or 429 with ``x-ratelimit-remaining: 0`` (or ``RateLimit-Remaining``),
  ``retry-after``, or GitHub's secondary-limit message raises ``RateLimited`` with the time the API names
  (``x-ratelimit-reset`` epoch seconds, ``retry-after`` seconds or HTTP date; one minute when it names
  none, as GitHub's docs ask). The caller reschedules: nothing here sleeps until a reset.
- **retries**: timeouts, connection errors and 5xx answers are retried with exponential backoff and jitter
  (stamina), a bounded number of times.
- **redirects** are followed on the same host only; one to another host raises ``HttpError``.
  The transport is called directly, not through ``httpx.Client``: the client's per-request layers (URL
  merging, cookie jar, auth flow, hooks) cost about a third of a request's CPU, and none is needed here.
- **errors** (``HttpError``) carry the method, URL and status; tokens travel in headers, never in URLs.

Specs: https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api,
https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api,
https://docs.gitlab.com/ee/api/rest/#pagination, https://docs.gitlab.com/ee/security/rate_limits.html
"""

from __future__ import annotations

import email.utils
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlencode, urljoin

import httpx
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
    """The API refused for a rate limit; retry at ``reset_at`` (aware UTC)."""

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
    """GitHub: the ``rel="next"`` target of the ``Link`` header (RFC 8288)."""
    target = response.links.get("next", {}).get("url")
    return urljoin(url, target) if target else None


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
    ``concurrency`` bounds the connections kept (use as many threads). ``stats`` counts what was sent.
    """

    def __init__(
        self,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        cache: HttpCache | None = None,
        next_page: NextPage = link_next_page,
        timeout: float = DEFAULT_TIMEOUT,
        concurrency: int = 16,
        attempts: int = RETRY_ATTEMPTS,
        cache_version: int = 1,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.cache_version = cache_version
        self.cache = cache
        self.next_page = next_page
        self.attempts = attempts
        self.stats = Stats()
        self._lock = threading.Lock()
        self._headers = {**DEFAULT_HEADERS, **(headers or {})}
        self._timeout = httpx.Timeout(timeout).as_dict()
        self._transport = httpx.HTTPTransport(
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            http2=False,
        )

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._transport.close()

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        """The absolute URL of ``path`` (relative to ``base_url``, or absolute) with ``params`` sorted."""
        url = path if "://" in path else urljoin(self.base_url, path.lstrip("/"))
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
        missing: tuple[int, ...] = (),
    ) -> Any:
        """GET one JSON document; return ``shape(body)`` (or the body), or None when the status is in
        ``missing`` (e.g. 404 for a file that may not exist). Raises ``RateLimited``, or ``HttpError``
        for any other failure (after retries for timeouts and 5xx), including a body that is not JSON.
        """
        body, _ = self._get(self.url(path, params), shape=shape, missing=missing, per_page=0)
        return body

    def paginate(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        per_page: int = 100,
        items: Callable[[Any], list] | None = None,
        shape: Callable[[Any], Any] | None = None,
        max_pages: int | None = None,
    ) -> Iterator[Any]:
        """Yield every item of a paginated list, page by page (each page is one conditional request).

        ``items`` picks the list from a page's body (default: the body is the list, as on GitLab and in
        most GitHub lists; ``lambda b: b["workflow_runs"]`` for GitHub's wrapped ones); ``shape`` is
        applied to each item before it is cached and yielded. ``max_pages`` stops early. Raises as ``get``.
        """
        url: str | None = self.url(path, {**(params or {}), "per_page": per_page})

        def page_shape(body: Any) -> list:
            rows = items(body) if items else body
            if not isinstance(rows, list):
                raise ValueError(f"expected a list, got {type(rows).__name__}")
            return [shape(row) for row in rows] if shape else rows

        pages = 0
        while url and (max_pages is None or pages < max_pages):
            rows, url = self._get(url, shape=page_shape, missing=(), per_page=per_page)
            pages += 1
            yield from rows

    # The request itself

    def _get(
        self, url: str, *, shape: Callable[[Any], Any] | None, missing: tuple[int, ...], per_page: int
    ) -> tuple[Any, str | None]:
        cached = self.cache.get(url) if self.cache is not None else None
        if cached and cached[1].get("v") != self.cache_version:
            cached = None  # stored by another version of the connector's shapes: ask for the full answer
        headers = {"If-None-Match": cached[0]} if cached else {}
        response = self._send(url, headers)
        if response.status_code == 304 and cached:
            stored = cached[1]
            return stored["data"], stored.get("next")
        if response.status_code in missing:
            return None, None
        if response.status_code >= 400:
            raise HttpError(_reason(response), url=url, status=response.status_code)
        try:
            body = orjson.loads(response.content)  # a run page of GitHub's weighs ~400 KB: parse it fast
        except orjson.JSONDecodeError as exc:
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
        following = self.next_page(response, url, data, per_page) if per_page else None
        etag = response.headers.get("etag")
        if self.cache is not None and etag:
            self.cache.put(url, etag, {"data": data, "next": following, "v": self.cache_version})
        return data, following

    def _send(self, url: str, headers: dict[str, str]) -> httpx.Response:
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
                    except httpx.TimeoutException as exc:
                        raise HttpError(f"timed out ({type(exc).__name__})", url=url) from exc
                    except httpx.TransportError as exc:
                        raise HttpError(f"connection failed: {exc}", url=url) from exc
                    self._count(not_modified=response.status_code == 304)
                    _raise_for_limits(response, url)
                    return response
        except _ServerError as exc:
            raise HttpError(exc.reason, url=url, status=exc.status) from exc
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    def _request(self, url: str, headers: dict[str, str]) -> httpx.Response:
        """One GET through the transport, its body read; same-host redirects followed (see
        ``refuse_redirect_to_other_host``). Raises httpx's transport errors, or HttpError.
        """
        for _ in range(MAX_REDIRECTS + 1):
            request = httpx.Request(
                "GET", url, headers={**self._headers, **headers}, extensions={"timeout": self._timeout}
            )
            response = self._transport.handle_request(request)
            response.request = request
            try:
                response.read()
            finally:
                response.close()
            if not response.has_redirect_location:
                return response
            refuse_redirect_to_other_host(response)
            url = str(response.url.join(response.headers["location"]))
        raise HttpError(f"more than {MAX_REDIRECTS} redirects", url=url, status=response.status_code)

    def _count(self, *, not_modified: bool = False, retry: bool = False) -> None:
        with self._lock:
            if retry:
                self.stats.retries += 1
                return
            self.stats.requests += 1
            self.stats.not_modified += not_modified


def refuse_redirect_to_other_host(response: httpx.Response) -> None:
    """Raise HttpError for a redirect to another host (or port, or down to http); return otherwise.

    Same-host redirects (a renamed repository on GitHub, http -> https) are followed; one elsewhere could
    point a source's reads, and its token, at any server the portal reaches, so it is refused.
    """
    if not response.has_redirect_location:
        return
    source, target = response.url, response.url.join(response.headers["location"])
    upgrade = (source.scheme, target.scheme) == ("http", "https")
    same_origin = target.scheme == source.scheme and target.port == source.port
    if target.host.lower() != source.host.lower() or not (same_origin or upgrade):
        raise HttpError(
            f"redirected to {target.scheme}://{target.netloc.decode()}, another host: not followed",
            url=str(source),
            status=response.status_code,
        )


def _retry_backoff(exc: Exception) -> bool | float:
    """stamina's hook: retry 5xx and failures without an answer; a 5xx's short Retry-After is honoured."""
    if isinstance(exc, _ServerError):
        if exc.retry_after is None:
            return True
        return exc.retry_after if exc.retry_after <= RETRY_AFTER_CAP else False
    return isinstance(exc, HttpError) and exc.status is None and not isinstance(exc, RateLimited)


def _raise_for_limits(response: httpx.Response, url: str) -> None:
    """Raise RateLimited for a rate-limit answer, _ServerError for a 5xx; return otherwise."""
    status = response.status_code
    if status >= 500:
        raise _ServerError(
            _reason(response), url=url, status=status, retry_after=retry_after_seconds(response)
        )
    if status not in (403, 429):
        return
    now = datetime.now(UTC)
    headers = response.headers
    remaining = headers.get("x-ratelimit-remaining", headers.get("ratelimit-remaining"))
    reset = headers.get("x-ratelimit-reset", headers.get("ratelimit-reset"))
    retry_after = retry_after_seconds(response)
    reason = _reason(response)
    if retry_after is not None:
        reset_at = now + timedelta(seconds=retry_after)
    elif remaining is not None and remaining.strip() == "0" and reset and reset.strip().isdigit():
        # GitHub sends epoch seconds; GitLab's RateLimit-Reset is epoch seconds too.
        reset_at = max(now, datetime.fromtimestamp(int(reset), UTC))
    elif status == 429 or any(marker in reason.lower() for marker in SECONDARY_LIMIT_MARKERS):
        reset_at = now + DEFAULT_RATE_LIMIT_WAIT
    else:
        return  # a 403 that is about permissions, not limits
    raise RateLimited(f"rate limited: {reason}", url=url, status=status, reset_at=reset_at)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds (RFC 9110: a number or an HTTP date); None when absent or unreadable."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
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
