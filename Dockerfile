# Junta server image: Python app plus the browser client's npm dependencies.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --omit=dev
# What serving needs (with the media extra), exact versions checked against their hashes; the
# test tools of requirements/dev.lock stay out of the image.
COPY requirements/run.lock requirements/run.lock
RUN pip install --no-cache-dir --require-hashes -r requirements/run.lock
COPY pyproject.toml README.md ./
COPY signaling signaling
COPY media media
COPY web web
COPY casebook casebook
RUN pip install --no-cache-dir --no-deps .
ENV JUNTA_HOST=0.0.0.0 JUNTA_PORT=8080
EXPOSE 8080
CMD ["junta", "serve"]
