"""`python -m bot.worker`: the same as `python -m bot worker` (bot/cli.py); bot/worker/launch.py and the tests
start the worker by this name."""

import sys

from bot.cli import main

if __name__ == "__main__":
    sys.exit(main(["worker", *sys.argv[1:]]))
