"""Prometheus metrics for the web process, served on /metrics (prometheus_client, the standard library).

Each web process exposes its own figures; scrape each one. Queue depth is read from the database at scrape time,
so every process reports the shared queue.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class Metrics:
    """One registry per app, so tests (and several apps in one process) never share counters."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "parlance_http_requests", "HTTP requests by path and status", ["path", "status"], registry=self.registry
        )
        self.request_seconds = Histogram(
            "parlance_http_request_seconds", "Time to answer an HTTP request (the ack, for Slack)", ["path"],
            registry=self.registry, buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5),
        )  # fmt: skip
        self.jobs = Counter(
            "parlance_jobs", "Jobs finished by kind and outcome", ["kind", "outcome"], registry=self.registry
        )
        self.job_seconds = Histogram(
            "parlance_job_seconds", "Time a job ran (model work and posting)", ["kind"], registry=self.registry,
            buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
        )  # fmt: skip
        self.queue_depth = Gauge("parlance_job_queue_depth", "Jobs queued or running", registry=self.registry)

    def watch_queue(self, read_depth: Callable[[], int]) -> None:
        self.queue_depth.set_function(read_depth)

    def render(self) -> bytes:
        return generate_latest(self.registry)
