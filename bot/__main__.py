"""`python -m bot`: the one command that runs Parlance; its commands are in bot/cli.py (`python -m bot --help`)."""

import sys

from bot.cli import main

if __name__ == "__main__":
    sys.exit(main())
