"""`python -m bot eval <skill> FILE …`: run a skill over a data file and print its metrics beside simple
baselines from the same run, so anyone can compare models by changing one setting (MODEL_URL, MODEL_*).

Each skill is a module here with its own `run(argv)` and options; this package only picks one, and imports it
only then, so `python -m bot eval --help` stays instant."""

from __future__ import annotations

import argparse
import importlib

SKILLS = ("qa", "sentiment", "summarize", "teamchat", "translate")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of `python -m bot eval` (bot/cli.py): a skill, then whatever that skill's own parser takes."""
    parser.add_argument("skill", choices=SKILLS, metavar="SKILL", help=f"one of {', '.join(SKILLS)}")
    parser.add_argument(
        "skill_args",
        nargs=argparse.REMAINDER,
        metavar="FILE [options]",
        help="the skill's own arguments; `python -m bot eval SKILL --help` lists them",
    )


def run(skill: str, argv: list[str]) -> int:
    module = importlib.import_module(f"bot.eval.{skill}")
    return int(module.run(argv) or 0)
