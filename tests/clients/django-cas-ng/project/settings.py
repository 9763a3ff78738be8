"""A minimal Django project protected by django-cas-ng (PROTOCOLS §5-6): the test runs it with
GATEHOUSE_CAS_SERVER_URL (Gatehouse's `/cas/`) and DJANGO_DB (a SQLite file of its own)."""
import os

SECRET_KEY = "test-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django_cas_ng",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
AUTHENTICATION_BACKENDS = ["django_cas_ng.backends.CASBackend"]
ROOT_URLCONF = "urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["DJANGO_DB"]}}
USE_TZ = True

CAS_SERVER_URL = os.environ["GATEHOUSE_CAS_SERVER_URL"]
CAS_VERSION = "3"
CAS_USERNAME_ATTRIBUTE = "username"
CAS_APPLY_ATTRIBUTES_TO_USER = True

# Errors to stderr (run the server by hand with these settings to read them).
LOGGING = {
    "version": 1,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["stderr"], "level": "ERROR"}},
}
