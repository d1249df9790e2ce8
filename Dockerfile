# The portal's image: the web app (gunicorn), Celery workers and Celery beat all run from it.
# Build: docker build -t ml-portal .   (docker-compose.yml builds it for you)

# 1. Dependencies in a virtual environment, and the static files collected with hashed names.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
RUN python -m venv /venv && /venv/bin/pip install uv
COPY pyproject.toml ./
RUN /venv/bin/uv pip compile --quiet pyproject.toml -o requirements.txt \
    && /venv/bin/uv pip install --python /venv/bin/python -r requirements.txt \
    && /venv/bin/pip uninstall --yes uv
COPY manage.py ./
COPY portal ./portal
COPY catalog ./catalog
COPY templates ./templates
COPY static ./static
RUN SECRET_KEY=collectstatic-only PORTAL_DATA_DIR=/tmp/data PORTAL_STATIC_MANIFEST=true \
    /venv/bin/python manage.py collectstatic --no-input

# 2. The runtime: git (and ssh) for the git connector, no compilers, a non-root user.
FROM python:3.11-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 --user-group portal \
    && mkdir -p /data \
    && chown portal:portal /data
COPY --from=build /venv /venv
WORKDIR /app
COPY --from=build /app /app
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORTAL_DATA_DIR=/data \
    PORTAL_STATIC_MANIFEST=true \
    STATIC_ROOT=/app/staticfiles \
    PORTAL_ALLOW_LOCAL_PATHS=false
USER portal
EXPOSE 8000
CMD ["gunicorn", "--config", "python:portal.gunicorn", "portal.wsgi"]
