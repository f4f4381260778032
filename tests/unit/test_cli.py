"""`python -m bot` as a newcomer meets it: every command's `--help` answers without loading a model, and a
mistyped command or option gets one line back, not a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.eval import SKILLS

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = ("run", "web", "jobs", "worker", "clock", "local", "eval", "migrate")  # the README's table and the Procfile
HEAVY = {"torch", "transformers", "xllamacpp"}


def _run(*args: str, importtime: bool = False) -> subprocess.CompletedProcess[str]:
    flags = ["-X", "importtime"] if importtime else []
    return subprocess.run([sys.executable, *flags, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def _help(*args: str) -> tuple[str, set[str]]:
    """Runs `python -m ARGS --help`; returns what it printed and the top-level packages it imported, read from
    `-X importtime` (one stderr line per module, whatever imported it)."""
    result = _run(*args, "--help", importtime=True)
    assert result.returncode == 0, result.stderr
    imported = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "bot" in imported  # the reading of -X importtime works, so an empty HEAVY & imported means something
    return result.stdout, imported


def test_top_level_help_lists_every_command() -> None:
    out, imported = _help("bot")
    assert out.startswith("usage: python -m bot")
    for name in COMMANDS:
        assert f"\n    {name} " in out, name
    assert not imported & HEAVY


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_help_prints_its_usage_without_loading_a_model(command: str) -> None:
    out, imported = _help("bot", command)
    assert out.startswith(f"usage: python -m bot {command} ")
    assert not imported & HEAVY


@pytest.mark.parametrize("module", ["bot.worker", "bot.background.clock"])
def test_old_module_commands_are_aliases_whose_help_loads_no_model(module: str) -> None:
    out, imported = _help(module)
    assert out.startswith(f"usage: python -m bot {module.rsplit('.', 1)[-1]} ")
    assert not imported & HEAVY


def test_eval_help_lists_the_skills() -> None:
    out, _ = _help("bot", "eval")
    for skill in SKILLS:
        assert skill in out, skill


@pytest.mark.parametrize("skill", SKILLS)
def test_each_eval_skill_help_loads_no_model(skill: str) -> None:
    out, imported = _help("bot", "eval", skill)
    assert out.startswith(f"usage: python -m bot eval {skill} ")
    assert not imported & HEAVY


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["foo"], "python -m bot: unknown command 'foo' (try --help)"),
        (["worker", "--bogus"], "python -m bot: unrecognized arguments: --bogus (try --help)"),
        (["clock", "--sync-seconds", "soon"], "python -m bot clock: argument --sync-seconds: invalid float value"),
        (["eval", "nope"], "python -m bot eval: argument SKILL: invalid choice: 'nope'"),
    ],
)
def test_a_bad_argument_gets_one_line_and_a_non_zero_exit(args: list[str], expected: str) -> None:
    result = _run("bot", *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(expected)
