"""Deployment files agree with each other and with Settings: the compose services start in the
right order, the image stops cleanly, and every setting is documented in `.env.example`."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.__main__ import health_url
from bot.config import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_ENV_NAMES = {name.upper() for name in Settings.model_fields}
# Read by the postgres container (and used to build DATABASE_URL), never by the bot.
COMPOSE_ONLY_NAMES = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}
# `NAME=value` is a set value; `# NAME=value` an optional setting left unset.
ASSIGNMENT = re.compile(r"^(?P<disabled>#\s?)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?P<default>[^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text("utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def env_example() -> list[tuple[str, str, bool]]:
    """(name, value, is_set) for every assignment line of .env.example."""
    found = []
    for line in (ROOT / ".env.example").read_text("utf-8").splitlines():
        match = ASSIGNMENT.match(line.strip())
        if match:
            found.append((match["name"], match["value"], not match["disabled"]))
    return found


def interpolate(value: str) -> str:
    """Compose's `${NAME:-default}` with nothing set in the environment."""
    return INTERPOLATION.sub(lambda m: m["default"] or "", value)


SCALE_PROFILE = {"bot-1", "bot-2", "worker-1", "worker-2", "nginx"}


def test_four_services(services: dict[str, Any]) -> None:
    single = {name for name, service in services.items() if not service.get("profiles")}
    assert single == {"postgres", "redis", "migrate", "bot"}
    assert set(services) - single == SCALE_PROFILE
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")


def test_database_and_redis_have_healthchecks(services: dict[str, Any]) -> None:
    pg = " ".join(services["postgres"]["healthcheck"]["test"])
    assert "pg_isready" in pg
    redis_check = services["redis"]["healthcheck"]["test"]
    assert redis_check[-2:] == ["redis-cli", "ping"]
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])


def test_bot_waits_for_healthy_services_and_migrations(services: dict[str, Any]) -> None:
    bot = services["bot"]
    assert bot["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    assert bot["restart"] == "unless-stopped"
    assert bot["env_file"] == ".env"
    assert "build" in bot


def test_bot_health_check_asks_the_running_bot_if_it_is_ready(services: dict[str, Any]) -> None:
    bot = services["bot"]
    # Readiness (PostgreSQL migrated, Redis), not mere liveness.
    assert bot["healthcheck"]["test"] == ["CMD", "python", "-m", "bot", "health", "--ready"]
    # Long polling serves /healthz only with HEALTH_PORT: compose sets it.
    settings = load_settings(
        _env_file=None,
        bot_token="1:x",
        health_port=interpolate(bot["environment"]["HEALTH_PORT"]),
    )
    assert not settings.webhook_enabled
    assert settings.health_port is not None


def test_migrate_is_a_one_shot_alembic_upgrade(services: dict[str, Any]) -> None:
    migrate = services["migrate"]
    assert migrate["command"] == ["alembic", "upgrade", "head"]
    assert migrate["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert migrate.get("restart") == "no"
    # The same image as the bot, so migrations always match the code that runs.
    assert migrate["build"] == services["bot"]["build"]
    assert migrate["image"] == services["bot"]["image"]


def test_inside_compose_the_app_reaches_services_by_name(services: dict[str, Any]) -> None:
    for name in ("bot", "migrate"):
        env = services[name]["environment"]
        database_url = interpolate(env["DATABASE_URL"])
        redis_url = interpolate(env["REDIS_URL"])
        assert "@postgres:5432/" in database_url
        assert redis_url.startswith("redis://redis:6379")
        # The values compose produces are valid settings.
        settings = load_settings(
            _env_file=None, bot_token="1:x", database_url=database_url, redis_url=redis_url
        )
        assert settings.database_url == database_url


def test_dockerfile_runs_python_as_a_non_root_user_in_exec_form() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "Dockerfile").read_text("utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines[0].split()[1].startswith("python:3.11-slim")
    cmd = [line for line in lines if line.startswith("CMD ")]
    assert len(cmd) == 1
    # Exec form (a JSON array): Python is PID 1 and gets SIGTERM, not a shell that swallows it.
    assert json.loads(cmd[0][len("CMD ") :]) == ["python", "-m", "bot"]
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users, "the image must not run as root"
    assert users[-1] not in {"root", "0"}
    assert any(line.startswith("RUN pip install .") for line in lines)


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text("utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".env", ".git", ".venv"} <= ignored


def test_every_setting_is_in_env_example() -> None:
    names = [name for name, _value, _is_set in env_example()]
    missing = SETTINGS_ENV_NAMES - set(names)
    assert not missing, f"document these in .env.example: {sorted(missing)}"
    duplicated = {n for n in names if names.count(n) > 1}
    assert not duplicated, f"listed twice in .env.example: {sorted(duplicated)}"


def test_env_example_names_nothing_unknown() -> None:
    unknown = {name for name, _v, _s in env_example()} - SETTINGS_ENV_NAMES - COMPOSE_ONLY_NAMES
    assert not unknown, f"not a setting (typo?): {sorted(unknown)}"


def test_compose_uses_only_known_variables(compose: dict[str, Any]) -> None:
    text = (ROOT / "docker-compose.yml").read_text("utf-8")
    interpolated = {m["name"] for m in INTERPOLATION.finditer(text)}
    assert interpolated <= COMPOSE_ONLY_NAMES | SETTINGS_ENV_NAMES, interpolated
    for name, service in compose["services"].items():
        environment = service.get("environment", {})
        allowed = COMPOSE_ONLY_NAMES if name == "postgres" else SETTINGS_ENV_NAMES
        assert set(environment) <= allowed, (name, set(environment) - allowed)


def test_env_example_loads_and_shows_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """The example is a working configuration, and each value shown is the real default, so the
    documentation cannot drift from the code."""
    for key in list(os.environ):
        if key.upper() in SETTINGS_ENV_NAMES:
            monkeypatch.delenv(key)
    # The example's token is a placeholder the bot refuses by name (see test_config); with a
    # real token in the environment, the rest of the file is a working configuration.
    monkeypatch.setenv("BOT_TOKEN", "1:x")
    example = load_settings(_env_file=str(ROOT / ".env.example"))
    defaults = load_settings(_env_file=None, bot_token=example.bot_token)
    for field in Settings.model_fields:
        if field == "bot_token":
            continue
        assert getattr(example, field) == getattr(defaults, field), field


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    missing = {name for name in SETTINGS_ENV_NAMES if f"`{name}`" not in readme}
    assert not missing, f"add to the README configuration table: {sorted(missing)}"


def test_every_app_service_environment_is_valid_settings(services: dict[str, Any]) -> None:
    """What compose sets for the bot's image (every service built from it) loads as settings,
    the health check finds the server it asks, and only a webhook instance runs `--webhook`."""
    app = [name for name, service in services.items() if "build" in service]
    assert set(app) == {"migrate", "bot", "bot-1", "bot-2", "worker-1", "worker-2"}
    for name in app:
        service = services[name]
        env = {k.lower(): interpolate(str(v)) for k, v in service.get("environment", {}).items()}
        webhook = "--webhook" in service["command"]
        if webhook:
            env["webhook_url"] = "https://bot.example.com"  # from .env, required by --webhook
        settings = load_settings(_env_file=None, bot_token="1:x", **env)
        assert "@postgres:5432/" in settings.database_url, name
        assert settings.redis_url.startswith("redis://redis:6379"), name
        if "healthcheck" in service:
            assert health_url(settings, "/readyz") is not None, name
        assert webhook == name.startswith("bot-"), name


README_ROW = re.compile(r"^\| `(?P<name>[A-Z][A-Z0-9_]*)` \| (?P<default>[^|]+?) \|", re.MULTILINE)


def test_readme_table_shows_the_real_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each default in the README's configuration table, read as the environment variable
    would be, is the setting's default: `unset` is None, `empty` an empty list, `(required)` a
    setting with no default."""
    for key in list(os.environ):
        if key.upper() in SETTINGS_ENV_NAMES:
            monkeypatch.delenv(key)
    rows = {m["name"]: m["default"].strip() for m in README_ROW.finditer(_readme())}
    assert set(rows) == SETTINGS_ENV_NAMES
    defaults = load_settings(_env_file=None, bot_token="1:x")
    for name, shown in rows.items():
        field = name.lower()
        if shown == "(required)":
            assert Settings.model_fields[field].is_required(), name
            continue
        real = getattr(defaults, field)
        if shown == "unset":
            assert real is None, name
        elif shown == "empty":
            assert real in ([], ""), name
        else:
            assert shown.startswith("`") and shown.endswith("`"), (name, shown)
            read = load_settings(_env_file=None, bot_token="1:x", **{field: shown.strip("`")})
            assert getattr(read, field) == real, (name, shown, real)


def _readme() -> str:
    return (ROOT / "README.md").read_text("utf-8")


def test_ci_script_runs_every_check_and_fails_on_no_tests() -> None:
    script = ROOT / ".ci" / "run"
    source = script.read_text("utf-8")
    subprocess.run(["bash", "-n", str(script)], check=True)
    assert source.startswith("#!/usr/bin/env bash")
    assert "set -euo pipefail" in source
    steps = ["ruff check .", "ruff format --check .", "mypy", "alembic upgrade head", "pytest"]
    # Each step is a command line of its own (arguments may follow it).
    found = [re.search(rf"\n{re.escape(step)}(?: [^\n]*)?\n", source) for step in steps]
    positions = [m.start() if m else -1 for m in found]
    assert all(p >= 0 for p in positions), dict(zip(steps, positions, strict=True))
    assert positions == sorted(positions), "checks run cheapest first, tests last"
    # pytest's exit code 5 (no tests collected) must fail the run.
    assert re.search(r'"\$rc" -eq 5 \]; then\s+fail', source)
    assert "TEST_DATABASE_ADMIN_URL" in source
    assert re.search(r"trap \w+ EXIT", source)


def test_scale_profile_is_two_webhook_instances_two_workers_and_nginx(
    services: dict[str, Any],
) -> None:
    for name in SCALE_PROFILE:
        assert services[name]["profiles"] == ["scale"], name
    instances = ["bot-1", "bot-2"]
    for name in instances:
        bot = services[name]
        env = bot["environment"]
        # Webhook or nothing: without WEBHOOK_URL the instance stops with one line instead of
        # long-polling behind nginx (test_startup runs the command).
        assert bot["command"] == ["python", "-m", "bot", "run", "--webhook"]
        assert env["RUN_WORKER"] == "false"  # the workers send the notifications
        settings = load_settings(
            _env_file=None,
            bot_token="1:x",
            webhook_url="https://bot.example.com",
            webhook_host=env["WEBHOOK_HOST"],
            webhook_port=env["WEBHOOK_PORT"],
            run_worker=env["RUN_WORKER"],
            database_url=interpolate(env["DATABASE_URL"]),
            redis_url=interpolate(env["REDIS_URL"]),
        )
        assert settings.webhook_enabled and settings.webhook_port == 8080
        assert "@postgres:5432/" in settings.database_url
        assert bot["depends_on"] == services["bot"]["depends_on"]
        assert bot["healthcheck"]["test"] == ["CMD", "python", "-m", "bot", "health", "--ready"]
        assert bot["image"] == services["bot"]["image"]
    for name in ("worker-1", "worker-2"):
        worker = services[name]
        assert worker["command"] == ["python", "-m", "bot", "worker"]
        assert "@postgres:5432/" in interpolate(worker["environment"]["DATABASE_URL"])
        assert worker["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}

    nginx = services["nginx"]
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    assert nginx["depends_on"] == {name: {"condition": "service_healthy"} for name in instances}
    conf = (ROOT / "deploy" / "nginx.conf").read_text("utf-8")
    upstreams = re.findall(r"^\s*server\s+([\w.-]+):(\d+)", conf, re.MULTILINE)
    assert upstreams == [(name, "8080") for name in instances]  # each instance's WEBHOOK_PORT
    listen = re.search(r"^\s*listen\s+(\d+);", conf, re.MULTILINE)
    assert listen is not None
    assert nginx["ports"] == [f"{listen[1]}:{listen[1]}"]
    assert "proxy_pass http://bot_webhook;" in conf


def test_readme_says_how_to_run_the_scale_profile() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "## Scaling" in readme
    assert "docker compose --profile scale up -d --build --scale bot=0" in readme
    assert "docs/bench-scale.md" in readme
