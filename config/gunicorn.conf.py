"""gunicorn settings for the web process (`gunicorn -c config/gunicorn.conf.py config.wsgi:application`).

The access log goes to stdout with share-link tokens redacted: `/s/<token>/` is a credential, and log
files are read by more people, and kept longer, than the catalogue's secrets.
"""

from __future__ import annotations

import os
import re

from gunicorn.glogging import Logger

SHARE_TOKEN = re.compile(r"/s/[^/\s?#\"]+")


class RedactingLogger(Logger):
    """The standard access log, with every share-link token replaced by `…` (request line, path, referer)."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "f"):
            if isinstance(atoms.get(key), str):
                atoms[key] = SHARE_TOKEN.sub("/s/…", atoms[key])
        return atoms


logger_class = RedactingLogger
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
