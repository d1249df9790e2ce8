"""Settings, 12-factor: everything comes from the environment (a ``.env`` file is read if present).

The defaults serve a laptop: SQLite in ``var/``, Celery tasks run eagerly in-process, DEBUG off.
``DATABASE_URL`` switches to PostgreSQL (psycopg 3), ``CELERY_BROKER_URL`` to Redis or RabbitMQ.
"""

import os
import secrets
import warnings
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab

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

# HTTPS: on when the portal is served over TLS (PORTAL_HTTPS=true; the laptop run is plain http on
# 127.0.0.1): secure cookies, HSTS, http -> https redirects. Behind a proxy that ends TLS, set
# PORTAL_PROXY_SSL_HEADER=true (the proxy must set X-Forwarded-Proto and strip it from clients).
PORTAL_HTTPS = env.bool("PORTAL_HTTPS", default=False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = PORTAL_HTTPS
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PORTAL_HTTPS)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if PORTAL_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
if env.bool("PORTAL_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=14 * 24 * 3600)  # seconds

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
    "csp",
    "axes",
    "auditlog",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "catalog",
]

MIDDLEWARE = [
    "portal.probes.ProbeMiddleware",  # /healthz, /readyz, /metrics: before host checks and redirects
    "portal.logs.RequestLogMiddleware",
    "portal.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "portal.null_characters.NullCharacterMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "catalog.audit.AuditMiddleware",  # who acts, for the audit log (catalog/audit.py)
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.csp.PortalCSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
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
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses sign-ins while locked out
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",  # sessions of single sign-on (catalog/sso.py)
]
# Login rate limiting (django-axes): after AXES_FAILURE_LIMIT failed sign-ins for one username from one
# address, that pair is refused (429) for AXES_COOLOFF_MINUTES. Behind proxies, PORTAL_PROXY_COUNT says how
# many, so the client's address is read from X-Forwarded-For (portal/client_ip.py).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_SENSITIVE_PARAMETERS = ["password"]
PORTAL_PROXY_COUNT = env.int("PORTAL_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "portal.client_ip.client_ip"

# Content Security Policy (django-csp): scripts, styles and everything else from this site only; no
# inline code, no eval (templates/base.html turns htmx's inline indicator styles and eval off). The REST
# API's HTML pages (DRF, Swagger UI) also get inline scripts and styles: see portal/csp.py.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Single sign-on through OpenID Connect (django-allauth; catalog/sso.py says why that library), on when
# PORTAL_OIDC_ISSUER, PORTAL_OIDC_CLIENT_ID and PORTAL_OIDC_CLIENT_SECRET are set. The issuer URL is the
# provider's, e.g. https://login.example.com/realms/ml (its /.well-known/openid-configuration is read), or
# the discovery URL itself. Register https://<host>/accounts/oidc/sso/login/callback/ as the redirect URI.
OIDC_PROVIDER_ID = "sso"
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "OAUTH_PKCE_ENABLED": True,
        "APPS": [
            {
                "provider_id": OIDC_PROVIDER_ID,
                "name": env.str("PORTAL_OIDC_NAME", default="single sign-on"),
                "client_id": env.str("PORTAL_OIDC_CLIENT_ID", default=""),
                "secret": env.str("PORTAL_OIDC_CLIENT_SECRET", default=""),
                "settings": {
                    "server_url": env.str("PORTAL_OIDC_ISSUER", default=""),
                    "scope": env.list("PORTAL_OIDC_SCOPES", default=["openid", "profile", "email"]),
                },
            }
        ]
        if env.str("PORTAL_OIDC_ISSUER", default="") and env.str("PORTAL_OIDC_CLIENT_ID", default="")
        else [],
    }
}
SOCIALACCOUNT_ADAPTER = "catalog.sso.PortalSocialAccountAdapter"
SOCIALACCOUNT_ONLY = True  # allauth's own local accounts are off: local sign-in is Django's (/login/)
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True  # a verified email of an existing account signs in to it
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_STORE_TOKENS = False
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "my-work"
LOGOUT_REDIRECT_URL = "login"

# django-auditlog (catalog/audit.py): foreign keys recorded by name (a team, a user), not by id.
AUDITLOG_USE_FK_STRING_REPRESENTATION = True

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
# WhiteNoise serves static files. The image collects them at build time with hashed, compressed names
# (PORTAL_STATIC_MANIFEST=true: cached forever); elsewhere they are served from the source folders.
PORTAL_STATIC_MANIFEST = env.bool("PORTAL_STATIC_MANIFEST", default=False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PORTAL_STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PORTAL_STATIC_MANIFEST
if not PORTAL_STATIC_MANIFEST:  # served from the source folders: STATIC_ROOT need not exist
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)

# Logs go to stderr, one JSON object per line (LOG_FORMAT=text for people), with the request id and the
# sync run id of the work at hand (portal/logs.py).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "portal.logs.ContextFilter"}, "redact": {"()": "portal.logs.RedactFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env.str("LOG_FORMAT", default="json"),
            "filters": ["context", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}, "httpx": {"level": "WARNING"}},
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
CELERY_WORKER_CONCURRENCY = env.int("CELERY_WORKER_CONCURRENCY", default=2)  # processes per worker
# The queue tasks go to and workers read (two portals sharing one Redis need a queue each).
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Fixed entries; django-celery-beat's scheduler copies them into its tables when beat starts.
CELERY_BEAT_SCHEDULE = {
    "trend snapshots": {
        "task": "catalog.tasks.take_snapshots",
        "schedule": crontab(minute=50, hour=23),  # UTC, daily
    },
}
CELERY_IMPORTS = ["catalog.notifications.tasks"]

DJANGO_TABLES2_TEMPLATE = "tables/table.html"

# The REST API (catalog/api/): tokens or the session; the pages' FilterSets; cursor pages with a count.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "catalog.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["catalog.api.permissions.CatalogPermission"],
    "DEFAULT_FILTER_BACKENDS": [
        "catalog.api.filters.FilterBackend",
        "catalog.api.filters.OrderingFilter",
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
    'browser session. Errors: `{"error": {"code", "message", "fields"}}`.',
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["catalog.api.permissions.CatalogPermission"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "catalog.api.serializers.closed_request_bodies",
    ],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {"PortalStatusEnum": "catalog.models.PortalStatus"},
}

# The portal's own settings. Rule thresholds are defaults: admins override them per rule (RuleConfig).
PORTAL = {
    # Pages and the API are readable without signing in only when this is on.
    "ANONYMOUS_READ": env.bool("PORTAL_ANONYMOUS_READ", default=False),
    # Sources may name directories on this machine (git "paths", file sources, file:// URLs): a laptop's
    # repositories. Turn off in production, where only http(s), ssh and git URLs are read.
    "ALLOW_LOCAL_PATHS": env.bool("PORTAL_ALLOW_LOCAL_PATHS", default=True),
    # /metrics answers scrapes bearing this token; with none, only scrapes from the loopback interface.
    "METRICS_TOKEN": env.str("PORTAL_METRICS_TOKEN", default=""),
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
    # A scorecards YAML file (catalog/scorecards/spec.py), e.g. in a checkout of the platform team's
    # repository, reloaded before each evaluation of the scorecards; empty: scorecards come from the admin.
    "SCORECARDS_FILE": env.str("PORTAL_SCORECARDS_FILE", default=""),
    # Absolute links in notifications point here.
    "BASE_URL": env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000").rstrip("/"),
    # Slack notifications (catalog/notifications/): secrets are read from the environment variables NAMED
    # here and by each channel; severities are info, warning, error, critical.
    "NOTIFY": {
        "SLACK_API_URL": env.str("SLACK_API_URL", default="https://slack.com/api/"),
        "SLACK_BOT_TOKEN_ENV": env.str("PORTAL_SLACK_BOT_TOKEN_ENV", default="SLACK_BOT_TOKEN"),
        "SLACK_SIGNING_SECRET_ENV": env.str(
            "PORTAL_SLACK_SIGNING_SECRET_ENV", default="SLACK_SIGNING_SECRET"
        ),
        "ALERT_MIN_SEVERITY": env.str("PORTAL_ALERT_MIN_SEVERITY", default="warning"),
        "ALERTS_PER_RUN": env.int("PORTAL_ALERTS_PER_RUN", default=10),
        "QUIET_PERIOD_HOURS": env.int("PORTAL_QUIET_PERIOD_HOURS", default=24 * 7),
        "DIGEST_CRONTAB": env.str("PORTAL_DIGEST_CRONTAB", default="0 9 * * 1"),
        "DIGEST_TOP_ITEMS": env.int("PORTAL_DIGEST_TOP_ITEMS", default=10),
        "NAG_AFTER_DAYS": env.int("PORTAL_NAG_AFTER_DAYS", default=30),
        "NAG_EVERY_DAYS": env.int("PORTAL_NAG_EVERY_DAYS", default=7),
        "MAX_ATTEMPTS": env.int("PORTAL_NOTIFY_MAX_ATTEMPTS", default=6),
        "RETRY_BASE_SECONDS": env.int("PORTAL_NOTIFY_RETRY_BASE_SECONDS", default=60),
        "CLAIM_TIMEOUT": env.int("PORTAL_NOTIFY_CLAIM_TIMEOUT", default=300),
        # A 429 whose Retry-After is at most this many seconds is waited for in the worker; longer, the
        # notification is rescheduled.
        "MAX_INLINE_RETRY_AFTER": env.int("PORTAL_SLACK_MAX_INLINE_RETRY_AFTER", default=5),
        "SNOOZE_DAYS": 30,
    },
    # Sign-in through OpenID Connect: the claim holding the user's groups, and which team each group
    # stands for ("ml-fraud=group:default/fraud,platform-admins=platform"; a group not listed matches the
    # team of that name).
    "OIDC": {
        "GROUPS_CLAIM": env.str("PORTAL_OIDC_GROUPS_CLAIM", default="groups"),
        "GROUP_TEAMS": env.dict("PORTAL_OIDC_GROUP_TEAMS", default={}),
    },
    "RULE_DEFAULTS": {
        "stale-code": {"days": env.int("PORTAL_STALE_CODE_DAYS", default=90)},
        "ci-failing": {"days": env.int("PORTAL_CI_FAILING_DAYS", default=0)},
        # The organisation's standard CI templates, "project/file@newest-ref" (see catalog/rules/ci.py).
        "custom-pipeline": {"standard_templates": env.list("PORTAL_CI_STANDARD_TEMPLATES", default=[])},
        "outdated-template": {"standard_templates": env.list("PORTAL_CI_STANDARD_TEMPLATES", default=[])},
        "stale-model": {"days": env.int("PORTAL_STALE_MODEL_DAYS", default=180)},
        "model-behind-code": {"days": env.int("PORTAL_MODEL_BEHIND_CODE_DAYS", default=30)},
        "bus-factor": {
            "share": env.float("PORTAL_BUS_FACTOR_SHARE", default=0.8),
            "days": env.int("PORTAL_BUS_FACTOR_DAYS", default=180),
        },
    },
}
