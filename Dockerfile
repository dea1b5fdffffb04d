# The service image: one process serving webhooks, pages and the sender. Use DATABASE_URL for PostgreSQL.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UMKM_HOST=0.0.0.0 UMKM_DATA_DIR=/data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY flows ./flows
COPY storage ./storage
COPY content ./content
RUN pip install --no-cache-dir . && useradd --create-home umkm && mkdir -p /data && chown umkm /data
ENV CONTENT_DIR=/app/content
USER umkm
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')"
CMD ["umkm-bot", "run"]
