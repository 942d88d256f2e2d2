"""Settings for opsconsole, read from the environment only.

Two shapes share this one file. Embedded (no ``REDIS_URL``): SQLite under
``var/``, an in-memory channel layer, periodic jobs inside the server process.
Production (``REDIS_URL`` set): the Redis channel layer, Celery worker and beat;
usually with ``DATABASE_URL`` pointing at Postgres. See README, "Configuration".
"""

import secrets
import warnings
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

from opsconsole.environment import ConfigurationError, env_bool, env_float, env_int, env_list, env_networks, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("OPSCONSOLE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
# The embedded shape (neither Postgres nor Redis configured) is a laptop or a
# trial: `make run` keeps its key in var/secret_key, and every manage.py
# command reads it from there too. A console on shared services is
# production, where a key lying in a file next to the code is not one to trust.
EMBEDDED_SHAPE = not (env_str("DATABASE_URL") or env_str("REDIS_URL"))
KEPT_SECRET_KEY_FILE = VAR_DIR / "secret_key"
if not SECRET_KEY and EMBEDDED_SHAPE and KEPT_SECRET_KEY_FILE.is_file():
    SECRET_KEY = KEPT_SECRET_KEY_FILE.read_text().strip()
if not SECRET_KEY:
    if not DEBUG:
        raise ConfigurationError(
            "SECRET_KEY",
            "SECRET_KEY is required when DEBUG is off (`make run` keeps one in var/secret_key for the "
            "embedded shape; in production set it from your secret store)",
            "$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')",
        )
    # A throwaway key: sessions end when the process does, which is acceptable
    # for a developer who asked for DEBUG and nothing else.
    SECRET_KEY = secrets.token_urlsafe(50)
    warnings.warn("SECRET_KEY is not set; using a random key for this process only.", stacklevel=1)

# Peers whose X-Forwarded-For is believed (addresses or networks); nobody's by default.
OPSCONSOLE_TRUSTED_PROXIES = env_networks("OPSCONSOLE_TRUSTED_PROXIES")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "axes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "csp",
    "accounts",
    "alerts",
    "metrics",
    "components",
    "realtime",
    "runbooks",
    "oncall",
]

MIDDLEWARE = [
    "opsconsole.access_log.AccessLogMiddleware",
    "opsconsole.middleware.request_metrics",  # early: its time includes every other middleware
    "django.middleware.security.SecurityMiddleware",
    # Before anything that validates the Host header (see opsconsole/health.py).
    "opsconsole.health.ProbeMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "opsconsole.middleware.DatabaseUnavailableMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "opsconsole.urls"
ASGI_APPLICATION = "opsconsole.asgi.application"
WSGI_APPLICATION = None

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
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------

try:
    DATABASES = {
        "default": dj_database_url.parse(
            env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'opsconsole.sqlite3'}",
            conn_max_age=0,
            conn_health_checks=True,
        )
    }
except ValueError as error:
    raise ConfigurationError(
        "DATABASE_URL", f"DATABASE_URL is not a database URL ({error})", "postgres://user:pw@host:5432/opsconsole"
    ) from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Under ASGI every request and WebSocket handshake runs in a thread of its
    # own, so connections cannot persist per thread: without a pool each one
    # opened a Postgres connection (a backend process) and closed it again.
    # With CONN_HEALTH_CHECKS the pool checks a connection before lending it,
    # so a database restart costs the requests in flight, not every
    # connection the pool held.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": env_int("OPSCONSOLE_DB_POOL_SIZE", 10, minimum=1),
        # Seconds a request waits for a connection. Short: while Postgres is
        # down (or the pool is exhausted) a quick 503 with Retry-After beats a
        # request hanging behind it.
        "timeout": 2,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # a fresh clone has no var/ yet
    # WAL lets the page readers and the in-process jobs work side by side;
    # IMMEDIATE transactions take the write lock up front instead of failing
    # half-way with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, Celery, replay buffer --------------------------------

REDIS_URL = env_str("REDIS_URL") or None
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ConfigurationError(
        "REDIS_URL", f"REDIS_URL={REDIS_URL!r} is not a redis://, rediss:// or unix:// URL", "redis://redis:6379/0"
    )
OPSCONSOLE_REDIS_PREFIX = env_str("OPSCONSOLE_REDIS_PREFIX", "opsconsole")

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # The pub/sub layer: one PUBLISH per group message reaches every
            # web process, which is the fan-out this console does all day.
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": OPSCONSOLE_REDIS_PREFIX},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
# The prefix covers Celery's queue too: consoles sharing a Redis must not run
# each other's jobs (one console's worker taking the other's snapshots).
CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": f"{OPSCONSOLE_REDIS_PREFIX}:"} if REDIS_URL else {}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Rewrite the schedule file after every task sent: its age is beat's health check.
CELERY_BEAT_SYNC_EVERY = 1
# Beat's own scheduler, recording beat's heartbeat for /readyz on every tick.
CELERY_BEAT_SCHEDULER = "realtime.heartbeat:HeartbeatScheduler"
# Notification passes go to a queue of their own (realtime.schedule.Job.queue), so
# a slow receiver never holds up a periodic job; the compose worker consumes both
# (`--queues celery,notifications`); a dedicated one takes `-Q notifications`.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = {"celery": {"routing_key": "celery"}, "notifications": {"routing_key": "notifications"}}

# --- Auth, sessions, security ------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"
# Password logins (the console's and the admin's) go through django-axes,
# which counts failures per username and per address and locks either out.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("OPSCONSOLE_LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("OPSCONSOLE_LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False  # accounts.audit writes the one line per login event
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

# Behind TLS (directly or through a proxy) cookies must never travel in clear;
# the embedded shape serves plain HTTP on loopback, so this is a switch.
OPSCONSOLE_HTTPS = env_bool("OPSCONSOLE_HTTPS", False)
SESSION_COOKIE_SECURE = OPSCONSOLE_HTTPS
CSRF_COOKIE_SECURE = OPSCONSOLE_HTTPS
SECURE_SSL_REDIRECT = OPSCONSOLE_HTTPS
# Probes come over plain HTTP from inside the container or from the load balancer.
SECURE_REDIRECT_EXEMPT = [r"^(livez|readyz|healthz)$"]
SECURE_HSTS_SECONDS = 31_536_000 if OPSCONSOLE_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = OPSCONSOLE_HTTPS
SECURE_HSTS_PRELOAD = OPSCONSOLE_HTTPS
if env_bool("OPSCONSOLE_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # pages read the token from the HTML, never the cookie
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Every page, the admin and the API docs included, runs only scripts and
# styles served from /static/: no inline <script>, event handler or style
# attribute anywhere (tests/browser/test_security_headers.py fails on any
# violation). Scripts still set styles through the DOM (ECharts, the cards'
# bars), which CSP does not govern. 'self' covers the console's own ws:/wss:
# origin in CSP Level 3 browsers, so the WebSocket needs no entry of its own.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],  # Swagger UI's icons are data: URIs in its CSS
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# A console asks for no device or sensor; a page injected into it gets none either.
PERMISSIONS_POLICY: dict[str, list[str]] = dict.fromkeys(
    ("accelerometer", "camera", "geolocation", "gyroscope", "magnetometer", "microphone", "payment", "usb"), []
)

# --- I18n and static files ------------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- REST API -------------------------------------------------------------------

OPSCONSOLE_API_TOKEN_RATE = env_str("OPSCONSOLE_API_TOKEN_RATE", "6000/min")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.ActionPermissions"],
    "DEFAULT_PAGINATION_CLASS": "opsconsole.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "opsconsole.api.BoundedSearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.throttling.ApiTokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_token": OPSCONSOLE_API_TOKEN_RATE},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "opsconsole.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["opsconsole.parsers.StrictJSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # REMOTE_ADDR is already the real client (opsconsole.client_address): never re-read X-Forwarded-For.
    "NUM_PROXIES": 0,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "opsconsole API",
    "DESCRIPTION": "Alerts, incidents, rules, silences and metrics of the opsconsole operations console.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Served from our own static files: consoles run on closed networks.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # 3.1 is full JSON Schema: label-name rules (propertyNames) can be stated.
    "OAS_VERSION": "3.1.0",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "opsconsole.openapi.add_common_errors",
    ],
    "ENUM_NAME_OVERRIDES": {
        "AlertStatusEnum": "alerts.models.AlertStatus",
        "ChannelKindEnum": "alerts.models.NotificationChannel.Kind",
        "DeliveryStatusEnum": "alerts.models.Delivery.Status",
        "IncidentStatusEnum": "alerts.models.IncidentStatus",
        "SeverityEnum": "alerts.models.Severity",
    },
}

# Caches back the API throttles; one process in the embedded shape, Redis when
# shared (tolerating a Redis outage: see opsconsole/cache.py).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "opsconsole.cache.OutageTolerantRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": OPSCONSOLE_REDIS_PREFIX,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- The console's own knobs ------------------------------------------------------

OPSCONSOLE_COLLECT_INTERVAL = env_float("OPSCONSOLE_COLLECT_INTERVAL", 5.0, minimum=0.1)
OPSCONSOLE_METRICS_BROADCAST_INTERVAL = env_float("OPSCONSOLE_METRICS_BROADCAST_INTERVAL", 10.0, minimum=0.1)
OPSCONSOLE_RULES_INTERVAL = env_float("OPSCONSOLE_RULES_INTERVAL", 10.0, minimum=0.1)
OPSCONSOLE_NOTIFY_INTERVAL = env_float("OPSCONSOLE_NOTIFY_INTERVAL", 1.0, minimum=0.1)
# Notification sending (alerts/notifications): sends at once per process, at once per
# channel (so a dead receiver holds only its own share), seconds one send may take.
OPSCONSOLE_NOTIFY_CONCURRENCY = env_int("OPSCONSOLE_NOTIFY_CONCURRENCY", 16, minimum=1, maximum=256)
OPSCONSOLE_NOTIFY_PER_CHANNEL = env_int("OPSCONSOLE_NOTIFY_PER_CHANNEL", 4, minimum=1, maximum=256)
OPSCONSOLE_NOTIFY_TIMEOUT = env_float("OPSCONSOLE_NOTIFY_TIMEOUT", 10.0, minimum=0.1)
# Networks webhooks may never connect to, checked on the address actually connected to.
OPSCONSOLE_WEBHOOK_DENY_NETWORKS = env_networks(
    "OPSCONSOLE_WEBHOOK_DENY_NETWORKS",
    default=("127.0.0.0/8", "::1/128", "169.254.0.0/16", "fe80::/10", "0.0.0.0/8", "::/128"),
)
# Where people reach the console: the links in notifications.
OPSCONSOLE_PUBLIC_URL = env_str("OPSCONSOLE_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
OPSCONSOLE_SUMMARY_INTERVAL = env_float("OPSCONSOLE_SUMMARY_INTERVAL", 5.0, minimum=0.1)
# Seconds a component's report may be late before it counts as missed, when it names no grace of its own.
OPSCONSOLE_COMPONENT_GRACE = env_int("OPSCONSOLE_COMPONENT_GRACE", 10, minimum=0)
OPSCONSOLE_COMPONENT_CHECK_INTERVAL = env_float("OPSCONSOLE_COMPONENT_CHECK_INTERVAL", 5.0, minimum=0.1)
OPSCONSOLE_RETENTION_INTERVAL = env_float("OPSCONSOLE_RETENTION_INTERVAL", 3600.0, minimum=1)
OPSCONSOLE_RETENTION_DAYS = env_int("OPSCONSOLE_RETENTION_DAYS", 7, minimum=1)
OPSCONSOLE_STALE_SECONDS = env_int("OPSCONSOLE_STALE_SECONDS", 300, minimum=1)
# Flapping (alerts.flapping): more than this many firing/resolved changes of a fingerprint within the window.
OPSCONSOLE_FLAP_CHANGES = env_int("OPSCONSOLE_FLAP_CHANGES", 4, minimum=1)
OPSCONSOLE_FLAP_WINDOW = env_int("OPSCONSOLE_FLAP_WINDOW", 600, minimum=1)
# Events kept per topic in the Redis replay buffer, the fast path of `resume` (the database keeps them too).
OPSCONSOLE_REPLAY_MAX_EVENTS = env_int("OPSCONSOLE_REPLAY_MAX_EVENTS", 50_000, minimum=1000)
# A `resume` that would send more events than this answers `resync_required` (realtime.replay).
OPSCONSOLE_RESUME_MAX_EVENTS = env_int("OPSCONSOLE_RESUME_MAX_EVENTS", 1000, minimum=1)
# Seconds between periodic relay passes, which send what a dead process left and catch up after Redis refused.
OPSCONSOLE_RELAY_INTERVAL = env_float("OPSCONSOLE_RELAY_INTERVAL", 1.0, minimum=0.1)
# Pushed events a socket may owe (its peer not reading) before resync_required and close 4408.
OPSCONSOLE_WS_MAX_PENDING = env_int("OPSCONSOLE_WS_MAX_PENDING", 1000, minimum=10)
# Open sockets per user and per address on one web process, and on the process in all (0: what its
# file-descriptor limit leaves, see realtime/access.py); beyond them a handshake gets close 4429.
OPSCONSOLE_WS_MAX_PER_USER = env_int("OPSCONSOLE_WS_MAX_PER_USER", 200, minimum=1)
OPSCONSOLE_WS_MAX_PER_ADDRESS = env_int("OPSCONSOLE_WS_MAX_PER_ADDRESS", 1000, minimum=1)
# Seconds a connection may take to send its request (half-open requests hold a file descriptor each).
OPSCONSOLE_HTTP_IDLE_TIMEOUT = env_int("OPSCONSOLE_HTTP_IDLE_TIMEOUT", 30, minimum=1)
OPSCONSOLE_WS_MAX_PER_PROCESS = env_int("OPSCONSOLE_WS_MAX_PER_PROCESS", 0, minimum=0)
# Seconds between re-checks of every open socket's credentials (the safety net behind announcements).
OPSCONSOLE_WS_RECHECK_INTERVAL = env_float("OPSCONSOLE_WS_RECHECK_INTERVAL", 30.0, minimum=0.5)
OPSCONSOLE_HOSTNAME = env_str("OPSCONSOLE_HOSTNAME") or None  # None: socket.gethostname()
# Where every process of the console on this host (web, worker, one-off commands) keeps its
# Prometheus counters, for GET /metrics to sum (prometheus_client's multiprocess mode, which
# reads this variable by this name). See docs/operations.md, "The console's own metrics".
PROMETHEUS_MULTIPROC_DIR = Path(env_str("PROMETHEUS_MULTIPROC_DIR", str(VAR_DIR / "prometheus")))

# --- E-mail (notification channels of kind "email") -------------------------------

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "opsconsole@localhost")

# --- Logging ------------------------------------------------------------------------

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
    raise ConfigurationError("LOG_LEVEL", f"LOG_LEVEL={LOG_LEVEL!r} is not a log level", "INFO")

LOG_FORMAT = env_str("LOG_FORMAT", "plain").lower()
if LOG_FORMAT not in ("plain", "json"):
    raise ConfigurationError("LOG_FORMAT", f"LOG_FORMAT={LOG_FORMAT!r} is neither plain nor json", "json")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        # One JSON object per line; `extra` fields of a record become keys.
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"daphne": {"level": "WARNING"}, "django.channels.server": {"level": "WARNING"}},
}
