# The image of the API and of Part 5's relay and workers (docker-compose.yml
# picks the command): python -m exam serve on the PostgreSQL named by
# DATABASE_URL and the broker named by CELERY_BROKER_URL.  Nothing is embedded here.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY exam ./exam
COPY fixtures ./fixtures
RUN pip install . \
    && useradd --create-home --shell /usr/sbin/nologin exam \
    && mkdir -p /data/objects && chown exam /data/objects
USER exam

EXPOSE 8000
CMD ["python", "-m", "exam", "serve", "--host", "0.0.0.0"]
