# syntax=docker/dockerfile:1
# One image for web (gunicorn), worker and beat (celery); docker-compose.yml picks the command.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ARCHIVE_MEDIA_ROOT=/var/lib/heritage/media

# libmagic1: python-magic's MIME identification; libusb-1.0-0: Open3D; Vulkan/GL: headless 3D thumbnails.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmagic1 libusb-1.0-0 libvulkan1 mesa-vulkan-drivers libegl1 libgl1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Runtime dependencies only (no test extras), read from pyproject.toml: this layer is rebuilt only
# when pyproject.toml changes, not on every code change.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The code, folder by folder (keeps .venv, media/, .git and caches out of the image without relying
# on a .dockerignore). A new top-level folder the app needs at run time gets a line here.
COPY manage.py ./
COPY config ./config
COPY archive ./archive
COPY preservation ./preservation
COPY templates ./templates
COPY static ./static
COPY locale ./locale
COPY demo ./demo

# Static files are served by WhiteNoise from the image. A memory broker keeps settings from creating
# the filesystem broker's folders at build time.
RUN CELERY_BROKER_URL=memory:// python manage.py collectstatic --noinput

# An unprivileged user owning the media folder: a named volume mounted there starts with this owner.
RUN useradd --create-home --uid 1000 heritage \
    && mkdir -p /var/lib/heritage/media \
    && chown -R heritage:heritage /var/lib/heritage
USER heritage

EXPOSE 8000
CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi:application"]
