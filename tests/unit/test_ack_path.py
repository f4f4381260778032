"""Acking a Slack event loads only what acking needs: the listeners never import the slow path (runners, clock,
scorer, model client, the skills that call the model, or torch, transformers, matplotlib and APScheduler)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SLOW = (
    "bot.jobs.runners",
    "bot.background",
    "bot.model",
    "handlers.qa",
    "handlers.summarize",
    "handlers.conversation",
    "handlers.translate.translation",
    "handlers.sentiment.scoring",
    "handlers.sentiment.digest",
    "torch",
    "transformers",
    "matplotlib",
    "apscheduler",
)


def _loaded_by_importing(module: str) -> set[str]:
    """The modules a fresh interpreter holds after importing `module` (a fresh one: this test process has long
    imported everything)."""
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout))


def _is_under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_importing_the_listeners_loads_none_of_the_slow_path() -> None:
    loaded = _loaded_by_importing("bot.slack.listeners")
    assert "bot.slack.sentiment_listeners" in loaded  # the whole Slack surface was imported
    slow = sorted(name for name in loaded if any(_is_under(name, package) for package in SLOW))
    assert slow == []
