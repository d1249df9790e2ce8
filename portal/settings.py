"""Settings, 12-factor: everything comes from the environment (a ``.env`` file is read if present).

The defaults serve a laptop: SQLite in ``var/``, Celery tasks run eagerly in-process, DEBUG off.
``DATABASE_URL`` switches to PostgreSQL (psycopg 3), ``CELERY_BROKER_URL`` to Redis or RabbitMQ.
"""

import os
import secrets
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DATA_DIR = Path(env.str("PORTAL_DATA_DIR", default=str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _local_secret_key() -> str:
    """A random key kept in the data folder, for laptops; production sets SECRET_KEY."""
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="") or _local_secret_key()
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_filters",
    "django_tables2",
    "django_celery_beat",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "catalog",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "portal.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and IMMEDIATE transactions let the web server and a sync share the file without lock errors.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so that a Celery worker started by a test can open the test database too.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test-db-{os.getpid()}.sqlite3")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "maintenance"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Celery: with no broker configured, tasks run eagerly in-process (the embedded default).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

DJANGO_TABLES2_TEMPLATE = "tables/table.html"

# The REST API (catalog/api/): tokens or the session; the pages' FilterSets; cursor pages with a count.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "catalog.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["catalog.api.permissions.CatalogPermission"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "catalog.api.pagination.CursorPagination",
    "DEFAULT_RENDERER_CLASSES": [
        "drf_orjson_renderer.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "catalog.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ML portal API",
    "DESCRIPTION": "The catalog of ML projects, teams, people, repositories and findings. Authenticate "
    "with `Authorization: Bearer <token>` (a personal or service token from /profile/tokens/) or the "
    "browser session. Errors: `{\"error\": {\"code\", \"message\", \"fields\"}}`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["catalog.api.permissions.CatalogPermission"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
}

# The portal's own settings. Rule thresholds are defaults: admins override them per rule (RuleConfig).
PORTAL = {
    # Pages and the API are readable without signing in only when this is on.
    "ANONYMOUS_READ": env.bool("PORTAL_ANONYMOUS_READ", default=False),
    # Where git mirrors of remote repositories are kept between syncs.
    "GIT_CACHE_DIR": Path(env.str("PORTAL_GIT_CACHE_DIR", default=str(DATA_DIR / "git-cache"))),
    # A sync still marked running after this many seconds is taken as abandoned (its worker died).
    "SYNC_LOCK_TIMEOUT": env.int("PORTAL_SYNC_LOCK_TIMEOUT", default=3600),
    # How often each source is synced, in minutes, unless the source says otherwise.
    "DEFAULT_SYNC_INTERVAL_MINUTES": env.int("PORTAL_SYNC_INTERVAL_MINUTES", default=60),
    # A registered model's production version: the version holding the first of these aliases, else the
    # newest version in one of these legacy stages (compared case-insensitively).
    "PRODUCTION_ALIASES": env.list("PORTAL_PRODUCTION_ALIASES", default=["champion", "production"]),
    "PRODUCTION_STAGES": env.list("PORTAL_PRODUCTION_STAGES", default=["Production"]),
    # Runs kept per CI pipeline (the newest); webhook delivery ids kept to refuse replays, in days.
    "PIPELINE_RUN_HISTORY": env.int("PORTAL_PIPELINE_RUN_HISTORY", default=50),
    "WEBHOOK_DELIVERY_RETENTION_DAYS": env.int("PORTAL_WEBHOOK_DELIVERY_RETENTION_DAYS", default=7),
    "RULE_DEFAULTS": {
        "stale-code": {"days": env.int("PORTAL_STALE_CODE_DAYS", default=90)},
        "ci-failing": {"days": env.int("PORTAL_CI_FAILING_DAYS", default=0)},
        # The organisation's standard CI templates, "project/file@newest-ref" (see catalog/rules/ci.py).
        "custom-pipeline": {"standard_templates": env.list("PORTAL_CI_STANDARD_TEMPLATES", default=[])},
        "outdated-template": {"standard_templates": env.list("PORTAL_CI_STANDARD_TEMPLATES", default=[])},
        "stale-model": {"days": env.int("PORTAL_STALE_MODEL_DAYS", default=180)},
        "model-behind-code": {"days": env.int("PORTAL_MODEL_BEHIND_CODE_DAYS", default=30)},
    },
}
