"""Settings, all read from the environment so one build serves a laptop, CI and production.

Defaults are the embedded quick start: SQLite in var/, Redis on 127.0.0.1:6379, the local provider.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("STREAMPLANE_VAR_DIR", BASE_DIR / "var"))


def _flag(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in ("1", "true", "yes", "on")


def _secret_key() -> str:
    """The key comes from the environment; otherwise one is made once and kept outside the repo."""
    if key := os.environ.get("DJANGO_SECRET_KEY"):
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = _flag("DJANGO_DEBUG", False)
SECRET_KEY = _secret_key()
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o
]

# Sessions and cookies: not readable by scripts, not sent cross-site, a working day long; behind
# HTTPS (DJANGO_HTTPS=1, e.g. a TLS-terminating proxy) only over TLS, with HSTS.
SESSION_COOKIE_AGE = 12 * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if _flag("DJANGO_HTTPS", False):
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 365 * 24 * 3600
    SECURE_SSL_REDIRECT = True
# Only the console's own files run and load: no inline script, no other origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'"
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "clusters",
    "provisioning",
    "monitoring",
    "alerts",
    "access",
]

MIDDLEWARE = [
    "monitoring.middleware.RequestMetrics",
    "controlplane.headers.ContentSecurityPolicy",
    "django.middleware.security.SecurityMiddleware",
    "controlplane.input_guard.RefuseNulCharacters",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "controlplane.audit_actor.ActingUser",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "controlplane.urls"
ASGI_APPLICATION = "controlplane.asgi.application"

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
                "clusters.context_processors.organisation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'controlplane.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Under ASGI each request would otherwise open a new connection; a pool keeps them warm.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": int(os.environ.get("DATABASE_POOL_SIZE", "10")),
        "timeout": 10,
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Celery workers and the web server write concurrently; WAL and a busy timeout keep SQLite usable.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL;",
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "console:cluster-list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
# Production may collect static files for a front proxy; otherwise WhiteNoise serves them in place.
STATIC_ROOT = os.environ.get("STATIC_ROOT") or None
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # Chart.js from Debian's libjs-chart.js (scripts/setup installs it).
    ("vendor/chartjs", "/usr/share/javascript/chart.js"),
]
WHITENOISE_USE_FINDERS = True  # serve from the apps and static/ directly: no collectstatic step

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
# Shared by every web worker (sign-in failure counts must be).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": os.environ.get("CHANNELS_PREFIX", "streamplane"),
    }
}

# Alert notifications by email go through this SMTP server.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "") == "1"
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "alerts@streamplane.localhost")

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [REDIS_URL],
            "prefix": os.environ.get("CHANNELS_PREFIX", "streamplane"),
        },
    }
}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "streamplane")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "reconcile": {
        "task": "provisioning.tasks.reconcile",
        "schedule": float(os.environ.get("RECONCILE_INTERVAL_S", "10")),
    },
    "mark-silent-nodes": {
        "task": "monitoring.tasks.mark_silent_nodes",
        "schedule": float(os.environ.get("HEALTH_REPORT_INTERVAL_S", "5")),
    },
    "maintain-series": {"task": "monitoring.tasks.maintain_series", "schedule": 60.0},
    # A tick still queued when the next is due is dropped: it would only repeat the next one.
    "collect-consumer-lag": {
        "task": "monitoring.tasks.collect_consumer_lag",
        "schedule": float(os.environ.get("LAG_INTERVAL_S", "15")),
        "options": {"expires": float(os.environ.get("LAG_INTERVAL_S", "15"))},
    },
    "evaluate-alerts": {
        "task": "alerts.tasks.evaluate_alerts",
        "schedule": float(os.environ.get("ALERT_INTERVAL_S", "15")),
        "options": {"expires": float(os.environ.get("ALERT_INTERVAL_S", "15"))},
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "clusters.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["clusters.permissions.OrganisationMember"],
    "DEFAULT_PAGINATION_CLASS": "controlplane.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "clusters.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Streamplane API",
    "DESCRIPTION": "Provision and operate Kafka-compatible streaming clusters.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "OperationStateEnum": "provisioning.models.OperationState",
        "AlertRuleKindEnum": "alerts.models.RuleKind",
        "ChannelKindEnum": "alerts.models.ChannelKind",
        "SeverityEnum": "alerts.models.Severity",
    },
}

# Where the local provider keeps node data and which loopback network it hands addresses from.
LOCAL_PROVIDER_ROOT = Path(os.environ.get("LOCAL_PROVIDER_ROOT", VAR_DIR / "nodes"))
LOCAL_PROVIDER_NETWORK = os.environ.get("LOCAL_PROVIDER_NETWORK", "127.0.16.0/20")
LOCAL_BROKER_PORT = int(os.environ.get("LOCAL_BROKER_PORT", "9092"))
LOCAL_ZOOKEEPER_PORT = int(os.environ.get("LOCAL_ZOOKEEPER_PORT", "2181"))
# Where each broker serves Prometheus text (metrics.listener) for the control plane to gather.
BROKER_METRICS_PORT = int(os.environ.get("BROKER_METRICS_PORT", "9404"))
# The control plane's own /metrics: with a token, scrapers must send it; without, loopback only.
CONTROLPLANE_METRICS_TOKEN = os.environ.get("CONTROLPLANE_METRICS_TOKEN", "")
# Set when several web worker processes serve requests, so /metrics can sum their counts.
PROMETHEUS_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")

# Brokers post health here; it must be reachable from the nodes.
CONTROLPLANE_URL = os.environ.get("CONTROLPLANE_URL", "http://127.0.0.1:8000")
HEALTH_REPORT_INTERVAL_S = float(os.environ.get("HEALTH_REPORT_INTERVAL_S", "5"))

# An operation's worker renews its lease while it runs; an expired lease means the worker died.
OPERATION_LEASE_S = float(os.environ.get("OPERATION_LEASE_S", "20"))
OPERATION_MAX_ATTEMPTS = int(os.environ.get("OPERATION_MAX_ATTEMPTS", "3"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # httpx logs every request's full URL, and a webhook's URL may hold a password or token.
    # kafka-python (partition reassignments) logs every connection it opens and closes.
    "loggers": {"httpx": {"level": "WARNING"}, "kafka": {"level": "WARNING"}},
}
