"""Stored answers of REST APIs, for conditional requests (``ETag`` / ``If-None-Match``)."""

from django.db import models


class HttpCacheEntry(models.Model):
    """The last answer of one GET of a source's API: its ``ETag`` and what the connector kept of it.

    ``key`` is the SHA-256 (hex) of ``url`` (the full URL, query included), so the natural key
    ``(source, key)`` stays short; ``body`` is the JSON the connector kept (``{"data": ..., "next": url}``).
    ``fetched_at`` is when the answer last came with a body (a 304 does not change it).
    """

    source = models.ForeignKey("catalog.Source", on_delete=models.CASCADE, related_name="http_cache")
    key = models.CharField(max_length=64)
    url = models.TextField()
    etag = models.CharField(max_length=512)
    body = models.JSONField()
    fetched_at = models.DateTimeField()

    class Meta:
        verbose_name = "HTTP cache entry"
        verbose_name_plural = "HTTP cache entries"
        constraints = [models.UniqueConstraint(fields=["source", "key"], name="catalog_httpcache_key")]

    def __str__(self) -> str:
        return self.url
