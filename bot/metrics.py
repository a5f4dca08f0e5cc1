"""What a running studybot counts, in Prometheus' terms: one registry per process, no globals.

The core records answers and LLM fallbacks; the Discord adapter records commands and errors;
the HTTP endpoint (``bot.discord_app.http``) reads sessions in progress from the database when
scraped and renders everything in the text exposition format.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# What ``generate_latest`` writes: the classic text format every Prometheus version reads.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Seconds. Extractive answers take ~20 ms; an LLM's answer seconds; the slowest bucket is its timeout.
ANSWER_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """The counters, gauges and histograms of one process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.commands = Counter(
            "studybot_commands",
            "Slash commands and @mention questions handled, by command name.",
            ["command"],
            registry=self.registry,
        )
        self.answer_seconds = Histogram(
            "studybot_answer_seconds",
            "Time to answer a question, retrieval and composing, by composer (card, section, none or llm).",
            ["composer"],
            buckets=ANSWER_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "studybot_errors",
            "Errors shown to users, by kind (the error's class; 'bug' for unexpected ones).",
            ["kind"],
            registry=self.registry,
        )
        self.llm_fallbacks = Counter(
            "studybot_llm_fallbacks",
            "Answers extracted from the notes because the LLM failed or timed out.",
            registry=self.registry,
        )
        self.active_sessions = Gauge(
            "studybot_active_sessions",
            "Quiz and interview sessions in progress (touched in the last hour), by kind.",
            ["kind"],
            registry=self.registry,
        )
        for kind in ("quiz", "interview"):
            self.active_sessions.labels(kind).set(0)

    def render(self) -> bytes:
        """Everything, in the Prometheus text format (version 0.0.4)."""
        return generate_latest(self.registry)
