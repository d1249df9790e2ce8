"""A stand-in for GitHub's and GitLab's REST APIs on pytest-httpserver: routes by path, real pagination
headers, ETags with 304s, and a log of every request. Payload shapes come from ``payloads.py``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from werkzeug import Request, Response


@dataclass
class Paged:
    """A list served page by page. ``wrap`` names the key of GitHub's wrapped lists (``workflow_runs``)."""

    items: list
    wrap: str | None = None
    page_size: int | None = None  # caps pages whatever per_page asks, to paginate few items


class FakeApi:
    """Serves ``routes``: path -> a JSON-able body, a ``Paged`` list, or ``callable(request)`` returning
    either (served with an ETag) or a Response (served as is).

    ``style`` is ``"github"`` (``Link`` headers) or ``"gitlab"`` (``X-Next-Page`` etc.).
    ``failures[path]`` is a list of Responses served (and consumed) before the route. ``log`` keeps
    ``(path, query, status)``.
    """

    def __init__(self, httpserver, *, style: str, prefix: str = "") -> None:
        self.server, self.style, self.prefix = httpserver, style, prefix
        self.routes: dict[str, object] = {}
        self.failures: dict[str, list[Response]] = {}
        self.log: list[tuple[str, dict, int]] = []
        self.drop_next_page_after: int | None = None  # GitLab: leave X-Next-Page out past this page
        httpserver.expect_request(re.compile(".*")).respond_with_handler(self.handle)

    @property
    def base_url(self) -> str:
        return self.server.url_for(self.prefix or "/").rstrip("/")

    def requests(self, pattern: str = "") -> list[tuple[str, dict, int]]:
        return [entry for entry in self.log if re.search(pattern, entry[0])]

    def handle(self, request: Request) -> Response:
        # The raw path: GitLab's ids are URL-encoded paths (ml%2Fplatform), which routing must keep.
        path = urlsplit(request.environ.get("RAW_URI") or request.path).path.removeprefix(self.prefix)
        query = dict(request.args)
        response = self._answer(request, path, query)
        self.log.append((path, query, response.status_code))
        return response

    def _answer(self, request: Request, path: str, query: dict) -> Response:
        if self.failures.get(path):
            return self.failures[path].pop(0)
        route = self.routes.get(path)
        if route is None:
            return json_response({"message": "Not Found"}, status=404)
        if callable(route):
            route = route(request)
            if isinstance(route, Response):
                return route
        headers = {}
        body = route
        if isinstance(route, Paged):
            body, headers = self._page(request, path, query, route)
        payload = json.dumps(body)
        etag = f'W/"{hashlib.sha1(payload.encode()).hexdigest()}"'
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag, **headers})
        return Response(
            payload, status=200, content_type="application/json", headers={"ETag": etag, **headers}
        )

    def _page(self, request: Request, path: str, query: dict, paged: Paged):
        per_page = int(query.get("per_page", 30))
        if paged.page_size:
            per_page = min(per_page, paged.page_size)
        page = int(query.get("page", 1))
        rows = paged.items[(page - 1) * per_page : page * per_page]
        more = page * per_page < len(paged.items)
        headers = {}
        if self.style == "github":
            if more:
                following = urlencode({**query, "page": page + 1})
                headers["Link"] = f'<{self.server.url_for(self.prefix + path)}?{following}>; rel="next"'
        else:
            headers = {"X-Page": str(page), "X-Per-Page": str(per_page)}
            if self.drop_next_page_after is None or page <= self.drop_next_page_after:
                headers["X-Next-Page"] = str(page + 1) if more else ""
                headers["X-Total"] = str(len(paged.items))
        body = {"total_count": len(paged.items), paged.wrap: rows} if paged.wrap else rows
        return body, headers


def json_response(body, *, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json", headers=headers or {})
