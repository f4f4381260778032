"""`python -m bot.worker`: load the configured models, log what was loaded, then serve HTTP with uvicorn."""

from __future__ import annotations

import logging
import sys

from bot.worker.models import ModelNotAvailable
from bot.worker.settings import get_worker_settings


def main() -> int:
    settings = get_worker_settings()
    logging.basicConfig(
        level=settings.worker_log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    log = logging.getLogger("bot.worker")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the llama.cpp engine tokenizes over loopback HTTP
    import uvicorn  # heavy imports after logging is set, so their warnings are formatted like ours

    from bot.worker.runtime import Worker
    from bot.worker.server import create_app

    try:
        worker = Worker.load(settings)
    except ModelNotAvailable as exc:
        log.error("cannot start: %s", exc)
        return 2
    log.info("serving %s on http://%s:%d/v1", settings.worker_roles, settings.worker_host, settings.worker_port)
    uvicorn.run(
        create_app(worker),
        host=settings.worker_host,
        port=settings.worker_port,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
