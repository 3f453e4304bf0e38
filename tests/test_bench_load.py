"""bench/load's lean client reads the platform's answers as they are, on kept connections,
and its closed loop counts every request it made."""

from __future__ import annotations

import asyncio
import json
import random

import pytest

from bench.load import wire
from bench.load.run import REGIONAL, Sample, hammer
from tests.servers import serving


def test_the_wire_client_reads_answers_on_one_kept_connection(engine):
    async def walk(base: str) -> list[tuple[int, bytes, bool]]:
        connection = wire.Connection(base)
        answers = []
        for path, params in (("/health/live", None), ("/plots", {"limit": 2, "status": "available"}),
                             ("/no-such-page", None), ("/plots", REGIONAL)):
            status, body, new, _sent = await connection.get(path, params)
            answers.append((status, body, new))
        connection.close()
        return answers

    with serving(engine) as base:
        answers = asyncio.run(walk(base))
    assert [status for status, _, _ in answers] == [200, 200, 404, 200]
    assert [new for _, _, new in answers] == [True, False, False, False]
    plots = json.loads(answers[1][1])
    assert plots["type"] == "FeatureCollection" and len(plots["features"]) == 2
    assert all(f["properties"]["status"] == "available" for f in plots["features"])
    assert json.loads(answers[3][1])["type"] == "FeatureCollection"


@pytest.mark.parametrize("client", ["wire", "httpx"])
def test_the_closed_loop_counts_each_answer_and_error(engine, client):
    sample = Sample(plot_ids=[1], points=[(1_600_000.0, 5_800_000.0)], zone_ids=[1],
                    regional_zones=[1], bboxes=["15,46,15.1,46.1"])

    def ask(sample, rng: random.Random, phase: str):
        return ("ok", "/plots", REGIONAL) if rng.random() < 0.7 else ("missing", "/nowhere", None)

    with serving(engine) as base:
        result = asyncio.run(hammer(base, ask, sample, "regional", clients=4, seconds=1.0,
                                    seed=3, timed=True, client=client))
    assert len(result.durations["ok"]) > 4 and result.errors["missing"] > 1
    assert not result.durations.get("missing")
    assert all("404" in line for line in result.first_errors)
    # Each recorded request once in the timeline, written after it started and before it ended.
    assert len(result.timeline) == result.count()
    assert len({number for number, *_ in result.timeline}) == len(result.timeline)
    assert all(started <= sent <= ended for _, _, started, sent, ended in result.timeline)
