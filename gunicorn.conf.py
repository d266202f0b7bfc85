"""gunicorn settings for tracker; every value can be overridden from the environment.

    TRACKER_ENV=production SECRET_KEY=… DATABASE_URL=postgresql+psycopg://… \
        .venv/bin/gunicorn -c gunicorn.conf.py

See docs/DEPLOY.md for the whole set-up (nginx in front, several nodes, cron jobs).
"""
import os

wsgi_app = "tracker:create_app()"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Synchronous workers: each request is short and database-bound. Two per core is a good start.
workers = int(os.environ.get("WEB_CONCURRENCY", os.environ.get("GUNICORN_WORKERS", "2")))
worker_class = "sync"
# Load the app (and matplotlib, the CJK font, the routes) once in the master; workers fork from it.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") == "1"
# The weekly pack is the slowest request (seconds at a province's size); keep a margin.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Recycle a worker now and then (jitter so they do not restart together).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "500"))
# Access log off by default (nginx keeps one); GUNICORN_ACCESS_LOG=- writes it to stdout.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# gunicorn 27 opens a control socket at ~/.gunicorn/gunicorn.ctl; two servers on one host
# would collide, so it is off unless GUNICORN_CONTROL_SOCKET names a path.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
# Behind nginx on the same host or network: trust its X-Forwarded-* (the app's PROXY_FIX too).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_fork(server, worker):
    """Each worker opens its own database connections: drop any the master made while preloading."""
    from tracker.extensions import db

    app = worker.wsgi if hasattr(worker, "wsgi") else None
    try:
        if app is not None:
            with app.app_context():
                db.engine.dispose(close=False)
    except Exception:  # nosec B110 - nothing to dispose before the app is loaded
        pass
