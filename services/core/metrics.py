"""Prometheus metrics, one registry per process, handed to services (no globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.events_accepted = Counter(
            "headrace_events_accepted", "Events accepted and acknowledged by Kafka.", registry=r
        )
        self.events_rejected = Counter(
            "headrace_events_rejected", "Event requests rejected.", ["reason"], registry=r
        )
        self.runs_started = Counter("headrace_runs_started", "Runs created.", registry=r)
        self.runs_finished = Counter(
            "headrace_runs_finished", "Runs ended, by status.", ["status"], registry=r
        )
        self.steps = Counter("headrace_steps", "Checkpointed steps, by opcode.", ["op"], registry=r)
        self.app_calls = Histogram(
            "headrace_app_call_seconds",
            "Duration of calls to apps, by outcome.",
            ["outcome"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=r,
        )
        self.jobs_stale = Counter(
            "headrace_jobs_stale", "Jobs that were stale, early or duplicate (no-ops).", registry=r
        )
        self.dead_letters = Counter(
            "headrace_dead_letters",
            "Records a consumer could not process (recorded and skipped).",
            ["consumer"],
            registry=r,
        )
        self.wakeups = Counter(
            "headrace_scheduler_wakeups", "Jobs re-published by the scheduler.", registry=r
        )
        self.cron_ticks = Counter("headrace_cron_ticks", "Cron ticks fired.", registry=r)
        self.leader = Gauge("headrace_scheduler_leader", "1 while this replica leads.", registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
