# The API image: python -m exam serve on the PostgreSQL named by DATABASE_URL
# (docker-compose.yml passes the db service's).  No database is embedded here.
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
    && useradd --create-home --shell /usr/sbin/nologin exam
USER exam

EXPOSE 8000
CMD ["python", "-m", "exam", "serve", "--host", "0.0.0.0"]
