# The production image: one image, several processes (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 OPSCONSOLE_VAR_DIR=/app/var
WORKDIR /app

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
# collectstatic only reads files; the key exists for the settings import alone.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput --verbosity 0 \
    && useradd --system --home /app opsconsole && mkdir -p /app/var && chown -R opsconsole /app/var
USER opsconsole

EXPOSE 8000
CMD ["daphne", "--bind", "0.0.0.0", "--port", "8000", "--proxy-headers", "opsconsole.asgi:application"]
