"""Structured logs: one JSON object per line, carrying the ids of the work at hand.

``log_context(**fields)`` binds fields for the code it wraps (a contextvar: each thread, request and
Celery task has its own); ``ContextFilter`` puts them on every record, so the JSON formatter writes them
out: ``request_id`` (web requests, and the tasks they queued), ``sync_run_id`` and ``source`` (inside
``catalog.sync.sync_source``), ``task_id`` and ``task`` (inside a Celery task).

``RequestLogMiddleware`` takes the request id from the ``X-Request-ID`` header when it is a plain token
(at most 128 letters, digits, ``.``, ``_``, ``:``, ``-``), else makes one; echoes it in the response's
``X-Request-ID``; and logs one line per request (method, path without the query string, status, user id,
duration in milliseconds). Nothing else of the request is logged: no headers, cookies or query strings.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from celery import signals
from django.http import HttpRequest, HttpResponse

_context: ContextVar[dict[str, Any]] = ContextVar("portal_log_context", default={})  # noqa: B039 (never mutated)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
REQUEST_ID_HEADER = "X-Request-ID"

request_logger = logging.getLogger("portal.request")


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Bind ``fields`` to every log record made inside the block (nested blocks add to the outer ones)."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def current(field: str) -> Any:
    """The value bound to ``field`` here, or None."""
    return _context.get().get(field)


class ContextFilter(logging.Filter):
    """Copies the bound fields onto each record (a handler's filter, so it sees propagated records too)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class RedactFilter(logging.Filter):
    """Keeps requests' secrets out of every record: Django's loggers attach the request itself, whose text
    carries the query string (where a token may sit), so it is replaced by its method and path. A record
    of ``django.security`` (a bad Host header, a suspicious operation: the client's fault, not a fault of
    the portal) loses its traceback and becomes a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if isinstance(request, HttpRequest):
            record.request = f"{request.method} {request.path}"
        if record.name.startswith("django.security"):
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class RequestLogMiddleware:
    """Binds the request id for the request, echoes it, and logs the request once it is answered."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        request.request_id = request_id
        start = time.perf_counter()
        with log_context(request_id=request_id):
            response = self.get_response(request)
            user = getattr(request, "user", None)
            request_logger.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "user_id": user.pk if user is not None and user.is_authenticated else None,
                    "duration_ms": round((time.perf_counter() - start) * 1000, 1),
                },
            )
        response[REQUEST_ID_HEADER] = request_id
        return response


# Celery: the request id of the request that queued a task travels in the task's headers.

_task_contexts: dict[str, contextlib.ExitStack] = {}


@signals.before_task_publish.connect
def _add_request_id(headers: dict | None = None, **kwargs: Any) -> None:
    request_id = current("request_id")
    if request_id and headers is not None:
        headers.setdefault("request_id", request_id)


@signals.task_prerun.connect
def _bind_task(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    fields = {"task_id": task_id, "task": getattr(task, "name", None)}
    request_id = getattr(getattr(task, "request", None), "request_id", None)
    if request_id:
        fields["request_id"] = request_id
    stack = contextlib.ExitStack()
    stack.enter_context(log_context(**fields))
    _task_contexts[task_id or ""] = stack


@signals.task_postrun.connect
def _unbind_task(task_id: str | None = None, **kwargs: Any) -> None:
    stack = _task_contexts.pop(task_id or "", None)
    if stack is not None:
        stack.close()


@signals.setup_logging.connect
def _keep_django_logging(**kwargs: Any) -> None:
    """Celery leaves logging alone when this signal has a receiver: Django's ``LOGGING`` stays in force."""
