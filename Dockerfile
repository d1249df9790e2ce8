# The portal's image: web (gunicorn), Celery worker and beat all run from it.
FROM python:3.11-slim AS build
WORKDIR /app
COPY pyproject.toml ./
COPY portal ./portal
COPY catalog ./catalog
RUN python -m venv /venv && /venv/bin/pip install --no-cache-dir . gunicorn

FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 portal
COPY --from=build /venv /venv
WORKDIR /app
COPY . .
ENV PATH=/venv/bin:$PATH PORTAL_DATA_DIR=/data PYTHONUNBUFFERED=1
RUN mkdir -p /data && chown portal /data && SECRET_KEY=build python manage.py collectstatic --no-input
USER portal
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2"]
