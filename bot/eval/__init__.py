"""`python -m bot eval <skill> FILE …`: run a skill over a data file and print its metrics beside simple
baselines from the same run, so anyone can compare models by changing one setting (MODEL_URL, MODEL_*)."""

from __future__ import annotations

import importlib

SKILLS = ("qa", "sentiment", "summarize", "teamchat", "translate")


def run(argv: list[str]) -> int:
    if not argv or argv[0] not in SKILLS:
        print(f"usage: python -m bot eval {{{','.join(SKILLS)}}} FILE [options]   (--help after the skill for more)")
        return 2
    module = importlib.import_module(f"bot.eval.{argv[0]}")
    return int(module.run(argv[1:]) or 0)
