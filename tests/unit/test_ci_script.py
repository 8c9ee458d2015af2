"""`.ci/run` on a simulated machine: every system command it calls is a stub on a PATH that
holds nothing else, so the install and start paths run here without touching the real services.

A bare machine starts with only `apt-get`; "installing" a package puts its stub commands on the
PATH, as apt would. The stubs log each call, so the tests read what the script did, in order.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Real utilities the script and the stubs use; everything else on PATH is a stub.
TOOLS = ("basename", "cat", "chmod", "cp", "date", "dirname", "ls", "mkdir", "rm", "sed", "sleep")

FRESH_HBA = """\
local   all             postgres                                peer
local   all             all                                     peer
host    all             all             127.0.0.1/32            scram-sha-256
host    all             all             ::1/128                 scram-sha-256
host    replication     all             127.0.0.1/32            scram-sha-256
"""

STUBS = {
    "apt-get": r"""
echo "apt-get $* LANG=${LANG:-}" >> "$LOG"
[ "$1" = update ] && exit 0
for pkg in "$@"; do
    case "$pkg" in
        postgresql)
            cp "$AVAILABLE"/pg_isready "$AVAILABLE"/pg_ctlcluster "$AVAILABLE"/psql "$BIN"/
            mkdir -p "$CI_PG_CONF_DIR/15/main"
            cp "$SANDBOX/fresh_hba" "$CI_PG_CONF_DIR/15/main/pg_hba.conf" ;;
        redis-server) cp "$AVAILABLE"/redis-server "$AVAILABLE"/redis-cli "$BIN"/ ;;
        python3) cp "$AVAILABLE"/python3 "$BIN"/ ;;
        python3-venv) : > "$STATE/python3-venv" ;;
        chromium) cp "$AVAILABLE"/chromium "$BIN"/ ;;
        nginx) cp "$AVAILABLE"/nginx "$BIN"/ ;;
    esac
done
""",
    "pg_isready": '[ -f "$STATE/pg_up" ]',
    "pg_ctlcluster": r"""
echo "pg_ctlcluster $*" >> "$LOG"
[ "${*: -1}" = start ] && : > "$STATE/pg_up"
true
""",
    "psql": 'echo "psql ${*: -1}" >> "$LOG"',
    "chromium": "true",
    "nginx": "true",
    "runuser": 'echo "runuser $*" >> "$LOG"',
    "redis-cli": '[ -f "$STATE/redis_up" ] && echo PONG',
    "redis-server": 'echo "redis-server $*" >> "$LOG"; : > "$STATE/redis_up"',
    # Debian's python3 cannot make a venv (no ensurepip wheels) until python3-venv is installed.
    "python3": r"""
case "$1" in
    -c) exit 0 ;;
    -m)
        echo "python3 $*" >> "$LOG"
        mkdir -p "$3/bin"
        if [ ! -f "$STATE/python3-venv" ]; then exit 1; fi
        for tool in python ruff mypy lint-imports alembic pytest; do
            cp "$AVAILABLE/venv-$tool" "$3/bin/$tool"
        done
        echo 'PATH="$(dirname "${BASH_SOURCE[0]}"):$PATH"' > "$3/bin/activate" ;;
esac
""",
    "venv-python": r"""
[ "$*" = "-m pip --version" ] && exit 0
echo "python $*" >> "$LOG"
""",
    "venv-ruff": 'echo "ruff $*" >> "$LOG"; [ "$FAIL" != ruff ]',
    "venv-mypy": 'echo "mypy $*" >> "$LOG"',
    "venv-lint-imports": 'echo "lint-imports $*" >> "$LOG"',
    "venv-alembic": 'echo "alembic $*" >> "$LOG"; [ "$1" = current ] && echo "0001 (head)"; true',
    "venv-pytest": 'echo "pytest $*" >> "$LOG"; [ "$FAIL" = pytest ] && exit 5; true',
}


def _sandbox(tmp_path: Path, *, installed: bool) -> dict[str, str]:
    available, bin_dir, tools, state = (
        tmp_path / d for d in ("available", "bin", "tools", "state")
    )
    for directory in (available, bin_dir, tools, state):
        directory.mkdir()
    for tool in TOOLS:
        real = shutil.which(tool)
        assert real, tool
        (tools / tool).symlink_to(real)
    for name, body in STUBS.items():
        stub = available / name
        stub.write_text(f"#!/bin/bash\n{body.strip()}\n")
        stub.chmod(0o755)
    (tmp_path / "fresh_hba").write_text(FRESH_HBA)
    shutil.copy(available / "apt-get", bin_dir)
    repo = tmp_path / "clone of the repo"
    (repo / ".ci").mkdir(parents=True)
    shutil.copy(ROOT / ".ci" / "run", repo / ".ci" / "run")
    conf = tmp_path / "etc-postgresql"
    if installed:
        installed_tools = (
            "pg_isready",
            "pg_ctlcluster",
            "psql",
            "redis-server",
            "redis-cli",
            "python3",
            "chromium",
            "nginx",
        )
        for name in installed_tools:
            shutil.copy(available / name, bin_dir)
        (conf / "15" / "main").mkdir(parents=True)
        for flag in ("pg_up", "redis_up", "python3-venv"):
            (state / flag).touch()
    return {
        "PATH": f"{bin_dir}:{tools}",
        "HOME": str(tmp_path),
        "SANDBOX": str(tmp_path),
        "AVAILABLE": str(available),
        "BIN": str(bin_dir),
        "STATE": str(state),
        "LOG": str(tmp_path / "calls.log"),
        "CI_PG_CONF_DIR": str(conf),
        "REPO": str(repo),
    }


def _run(env: dict[str, str], **extra: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    bash = shutil.which("bash")
    assert bash
    script = Path(env["REPO"]) / ".ci" / "run"
    # Started from another directory: the script finds its repository by itself.
    result = subprocess.run(
        [bash, str(script)],
        env={**env, **extra},
        cwd=env["SANDBOX"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    log = Path(env["LOG"])
    calls = log.read_text().splitlines() if log.exists() else []
    return result, calls


def _index(calls: list[str], prefix: str) -> int:
    matches = [i for i, call in enumerate(calls) if call.startswith(prefix)]
    assert matches, f"{prefix!r} not called: {calls}"
    return matches[0]


@pytest.mark.skipif(os.name != "posix", reason="bash script")
def test_bare_debian_gets_services_python_and_every_check(tmp_path: Path) -> None:
    env = _sandbox(tmp_path, installed=False)
    result, calls = _run(env)
    assert result.returncode == 0, result.stdout + result.stderr

    assert len([c for c in calls if c.startswith("apt-get update")]) == 1
    # The cluster apt creates gets a UTF-8 encoding from the locale (not SQL_ASCII).
    assert any(
        c.startswith("apt-get install") and "postgresql" in c and "LANG=C.UTF-8" in c for c in calls
    )
    hba = (Path(env["CI_PG_CONF_DIR"]) / "15" / "main" / "pg_hba.conf").read_text()
    assert "127.0.0.1/32            trust" in hba and "::1/128                 trust" in hba
    assert "local   all             postgres                                peer" in hba
    assert "replication     all             127.0.0.1/32            scram-sha-256" in hba

    order = [
        "apt-get install -y -q --no-install-recommends postgresql",
        "apt-get install -y -q --no-install-recommends redis-server",
        "pg_ctlcluster --skip-systemctl-redirect 15 main start",
        "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save  --appendonly no",
        "apt-get install -y -q --no-install-recommends chromium",
        "apt-get install -y -q --no-install-recommends nginx",
        'psql CREATE DATABASE "ci_',
        "apt-get install -y -q --no-install-recommends python3 python3-venv",
        "python3 -m venv .venv",
        "python -m pip install",
        "ruff check .",
        "ruff format --check .",
        "mypy",
        "lint-imports",
        "alembic upgrade head",
        "pytest",
        'psql DROP DATABASE IF EXISTS "ci_',
    ]
    positions = [_index(calls, step) for step in order]
    assert positions == sorted(positions), calls
    assert not any(c.startswith("runuser") for c in calls), "a fresh cluster needs no password"
    assert "CI passed" in result.stdout


def test_running_services_are_left_alone(tmp_path: Path) -> None:
    env = _sandbox(tmp_path, installed=True)
    result, calls = _run(env)
    assert result.returncode == 0, result.stdout + result.stderr
    touched = [c for c in calls if c.split()[0] in {"apt-get", "pg_ctlcluster", "redis-server"}]
    assert touched == []
    assert _index(calls, "ruff check .") < _index(calls, "pytest")


def test_installed_services_that_are_down_are_started_not_reinstalled(tmp_path: Path) -> None:
    env = _sandbox(tmp_path, installed=True)
    for flag in ("pg_up", "redis_up"):
        (Path(env["STATE"]) / flag).unlink()
    result, calls = _run(env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not any(c.startswith("apt-get") for c in calls)
    started = [c for c in calls if c.split()[0] in {"pg_ctlcluster", "redis-server"}]
    assert started == [
        "pg_ctlcluster --skip-systemctl-redirect 15 main start",
        # The stub logs `--save ""` as `--save ` followed by the next argument.
        "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save  --appendonly no",
    ]


@pytest.mark.parametrize(
    ("fail", "message"),
    [("ruff", "CI FAILED"), ("pytest", "CI FAILED: pytest collected no tests")],
)
def test_a_failing_check_fails_the_run_and_drops_the_database(
    tmp_path: Path, fail: str, message: str
) -> None:
    env = _sandbox(tmp_path, installed=True)
    result, calls = _run(env, FAIL=fail)
    assert result.returncode != 0
    assert message in result.stderr or fail == "ruff"
    if fail == "ruff":
        assert not any(c.startswith("pytest") for c in calls)
    assert calls[-1].startswith('psql DROP DATABASE IF EXISTS "ci_')
