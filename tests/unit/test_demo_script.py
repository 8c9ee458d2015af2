"""`./demo.sh` on a simulated machine: Python, pip and uv are stubs that log their calls, so the
install paths (uv from PATH, uv installed with pip, plain pip when uv cannot be had, nothing when
already installed) run here in milliseconds and the tests read what the script did, in order.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("dirname", "mkdir", "touch", "cat", "chmod", "cp")

# The venv's python: `-c 'import bot, ...'` succeeds once something installed the project.
VENV_PYTHON = r"""#!/bin/bash
here="$(cd "$(dirname "$0")" && pwd)"
case "$1" in
    -c) [ -f "$STATE/installed" ] ;;
    -m)
        echo "venv-python $*" >> "$LOG"
        if [ "$2" = pip ] && [ "${*: -1}" = uv ]; then
            [ -n "${UV_INSTALL_FAILS:-}" ] && exit 1
            cp "$STUBS/uv" "$here/uv"
        elif [ "$2" = pip ]; then
            touch "$STATE/installed"
        fi ;;
esac
"""

SYSTEM_PYTHON = r"""#!/bin/bash
case "$1" in
    -c) exit 0 ;;
    -m)
        echo "python3 $*" >> "$LOG"
        mkdir -p .venv/bin
        cp "$STUBS/venv-python" .venv/bin/python ;;
esac
"""

UV = r"""#!/bin/bash
echo "uv $*" >> "$LOG"
touch "$STATE/installed"
"""


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "demo.sh", project / "demo.sh")
    stubs, path_bin, state = tmp_path / "stubs", tmp_path / "bin", tmp_path / "state"
    for folder in (stubs, path_bin, state):
        folder.mkdir()
    for name, text in (("venv-python", VENV_PYTHON), ("python3", SYSTEM_PYTHON), ("uv", UV)):
        (stubs / name).write_text(text)
        (stubs / name).chmod(0o755)
    shutil.copy(stubs / "python3", path_bin / "python3")
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, tool
        (path_bin / tool).symlink_to(found)
    return tmp_path


def run(sandbox: Path, *args: str, **env: str) -> list[str]:
    log = sandbox / "log"
    log.touch()
    environment = {
        "PATH": str(sandbox / "bin"),
        "LOG": str(log),
        "STATE": str(sandbox / "state"),
        "STUBS": str(sandbox / "stubs"),
        **env,
    }
    done = subprocess.run(
        ["/bin/bash", str(sandbox / "project" / "demo.sh"), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return log.read_text().splitlines()


def test_a_fresh_machine_installs_uv_with_pip_then_the_project_with_uv(sandbox: Path) -> None:
    calls = run(sandbox, "--fresh")
    assert calls == [
        "python3 -m venv .venv",
        "venv-python -m pip install --quiet --disable-pip-version-check uv",
        "uv pip install --quiet --python .venv/bin/python -e .[demo]",
        "venv-python -m bot demo --fresh",
    ]


def test_uv_already_on_path_is_used_as_it_is(sandbox: Path) -> None:
    shutil.copy(sandbox / "stubs" / "uv", sandbox / "bin" / "uv")
    calls = run(sandbox)
    assert calls[1] == "uv pip install --quiet --python .venv/bin/python -e .[demo]"
    assert not any("pip install --quiet --disable-pip-version-check uv" in c for c in calls)


def test_a_custom_pip_index_is_carried_over_to_uv(sandbox: Path) -> None:
    calls = run(sandbox, PIP_INDEX_URL="https://mirror.example/simple")
    assert (
        "uv pip install --quiet --python .venv/bin/python "
        "--index-url https://mirror.example/simple -e .[demo]"
    ) in calls


@pytest.mark.parametrize("why", ["uv cannot be installed", "DEMO_INSTALLER=pip"])
def test_pip_is_the_fallback(sandbox: Path, why: str) -> None:
    env = {"UV_INSTALL_FAILS": "1"} if why.startswith("uv") else {"DEMO_INSTALLER": "pip"}
    calls = run(sandbox, **env)
    assert "venv-python -m pip install --quiet --disable-pip-version-check -e .[demo]" in calls
    assert not any(c.startswith("uv ") for c in calls)
    assert calls[-1] == "venv-python -m bot demo"


def test_an_installed_project_starts_without_installing(sandbox: Path) -> None:
    run(sandbox)
    second = sandbox / "log"
    second.write_text("")
    assert run(sandbox) == ["venv-python -m bot demo"]


def test_the_demo_entry_point_leaves_aiogram_to_the_import_thread() -> None:
    """`python -m bot demo` starts the embedded servers before the product's imports finish:
    neither the entry point nor the demo runner may import aiogram (seconds of CPU) up front."""
    probe = (
        "import sys, bot.__main__, bot.demo.runner;"
        "print(sorted(n for n in sys.modules if n == 'aiogram' or n.startswith('aiogram.')))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    loaded = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"


def test_the_entry_point_keeps_the_startup_exit_code() -> None:
    import bot.__main__ as entry
    from bot.ops import startup

    assert entry.EXIT_MISCONFIGURED == startup.EXIT_MISCONFIGURED
