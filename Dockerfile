# The platform's API and maps, for docker-compose (PostGIS runs in its own service).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm gdal-bin postgresql-client \
    libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY . /app
# Editable install keeps data/ (standard, demo, mappings) beside the code it belongs to.
RUN pip install -e . \
 && if [ -f maps/package.json ]; then cd maps && npm install --no-audit --no-fund --omit=dev; fi

RUN useradd --system --home /app locations && chown -R locations /app
USER locations
EXPOSE 8000
# Migrate on start (harmless when up to date), then serve on all interfaces of the container.
CMD ["sh", "-c", "locations db migrate && locations serve --host 0.0.0.0 --port 8000"]
