# friction service image: `friction serve` by default; the sink and retrainer reuse it
# with another command (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# libgomp1: XGBoost's wheels link OpenMP, which the slim image lacks.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY friction ./friction
RUN pip install .

# The bundled default model; compose mounts a named volume here, which Docker seeds
# from this folder on first use, so the retrainer's promotions survive restarts.
COPY models ./models

RUN useradd --system --uid 10001 --no-create-home --home-dir /app friction \
    && mkdir -p /var/lib/friction /dataset \
    && chown -R friction /var/lib/friction /dataset /app/models
USER friction

ENV FRICTION_HTTP_HOST=0.0.0.0 \
    FRICTION_HTTP_PORT=8080 \
    FRICTION_DATA_DIR=/var/lib/friction \
    FRICTION_MODELS_DIR=/app/models
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=2)"]
CMD ["friction", "serve"]
