"""The only module that builds an app at import time (gunicorn wsgi:app, flask --app wsgi)."""

from tracker import create_app

app = create_app()
