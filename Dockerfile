# The bot image: `python -m bot` (bot + notification worker), `alembic upgrade head`, and the
# catalog CLI all run from it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLCONFIGDIR=/tmp/matplotlib

# The bot never needs root: a fixed uid also makes volume permissions predictable.
RUN groupadd --system --gid 10001 bot \
    && useradd --system --uid 10001 --gid bot --home-dir /app --shell /usr/sbin/nologin bot

WORKDIR /app

# Dependencies and the packages first, so editing docs or examples does not reinstall them.
COPY pyproject.toml ./
COPY bot ./bot
COPY db ./db
RUN pip install . && rm -rf build ./*.egg-info

# Migrations (alembic.ini + migrations/) and the example catalog; see .dockerignore.
COPY . .

USER bot

# Exec form: Python is PID 1 and receives SIGTERM from `docker stop` directly, so the bot
# finishes in-flight updates and closes its connections instead of being killed.
CMD ["python", "-m", "bot"]
