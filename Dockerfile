# The service image. One image for every role of compose.yaml: the web process (`umkm-bot run`),
# `umkm-bot sender`, `umkm-bot scheduler` and the one-shot `umkm-bot db upgrade`.
# Runs as the unprivileged user `umkm`; everything it writes (the default SQLite file, generated
# secrets, evidence photos) lives under /data, a volume, so it outlives the container.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    UMKM_HOST=0.0.0.0 UMKM_PORT=8000 UMKM_DATA_DIR=/data EVIDENCE_DIR=/data/evidence
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY flows ./flows
COPY storage ./storage
COPY content ./content
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 umkm \
    && mkdir -p /data/evidence \
    && chown -R umkm:umkm /data \
    && chmod 700 /data /data/evidence
ENV CONTENT_DIR=/app/content
USER umkm
VOLUME /data
EXPOSE 8000
# Follows UMKM_PORT (the web process); sender and scheduler override it in compose.yaml with
# `python -m bot.healthcheck --metrics` (their METRICS_PORT).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "bot.healthcheck"]
CMD ["umkm-bot", "run"]
