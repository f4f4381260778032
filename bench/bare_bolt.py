"""The anchor of bench/ack_latency.py: a bare Bolt app whose listeners only ack, served by waitress like the bot.

    .venv/bin/python bench/bare_bolt.py --port 3001 --token xoxb-... --secret ... --api-url http://127.0.0.1:.../api/

It checks signatures exactly as the bot does (Bolt's own verification) and answers the same request mix, but does
nothing else: no database, no jobs, no history. Whatever ack time the bot spends beyond this app's is the bot's own.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable
from typing import Any

import waitress
from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from bot.settings import Settings


def make_app(token: str, secret: str, api_url: str) -> App:
    # Bolt's authorization middleware asks auth.test who the bot is (once): the emulator answers, as for the bot.
    app = App(client=WebClient(token=token, base_url=api_url), signing_secret=secret, token_verification_enabled=False)

    @app.event("message")
    def on_message() -> None:  # Bolt acks events itself once the listener is picked
        return None

    @app.event("app_mention")
    def on_mention() -> None:
        return None

    @app.command("/summarize")
    def on_summarize(ack: Ack) -> None:
        ack()

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--api-url", required=True, help="the Slack emulator's Web API URL")
    args = parser.parse_args()
    handler = SlackRequestHandler(make_app(args.token, args.secret, args.api_url))

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps({"ok": True}).encode()]
        return handler(environ, start_response)

    # The same server and thread count as `python -m bot web` (WEB_THREADS).
    waitress.serve(wsgi, host="127.0.0.1", port=args.port, threads=Settings().web_threads, _quiet=True)


if __name__ == "__main__":
    main()
