"""``headrace dev --database-url … --kafka …`` runs on servers it did not start (here a real
Apache Kafka and a Postgres database of the test session) and embeds neither."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import app_proc, dev_server, free_port, wait_http

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(300)]


def test_dev_server_on_external_postgres_and_kafka(
    tmp_path: Path, database_url: str, kafka_bootstrap: str, unique_topics: Any
) -> None:
    env = {
        "HEADRACE_EVENTS_TOPIC": unique_topics.events,
        "HEADRACE_JOBS_TOPIC": unique_topics.jobs,
        "HEADRACE_CONSUMER_GROUP_PREFIX": unique_topics("group"),
    }
    args = ["--database-url", database_url, "--kafka", kafka_bootstrap]
    with dev_server(tmp_path, env, args) as headrace:
        assert not (tmp_path / "data" / "postgres").exists()  # nothing embedded
        port = free_port()
        app = app_proc("examples.quickstart.app", port, headrace.api_url, tmp_path, "quickstart")
        headrace.procs["quickstart"] = app.start()
        try:
            app_url = f"http://127.0.0.1:{port}/api/headrace"
            wait_http(app_url, app)
            headrace.sync(app_url)
            event_id = headrace.send("order/created", {"order_id": "ext-1", "sleep": "1s"})
            assert headrace.wait_run(event_id)["output"]["order_id"] == "ext-1"
        finally:
            app.stop()
    import psycopg

    with psycopg.connect(database_url) as conn:  # the state is in the external database
        row = conn.execute("SELECT status FROM runs WHERE event_id = %s", (event_id,)).fetchone()
    assert row == ("Completed",)
