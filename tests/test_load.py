"""A small version of bench/load.py in CI: three browser sessions drawing at once on one server."""

import asyncio

import pytest

from bench.load import run_load, server

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_three_sessions_drawing_at_once():
    with server() as (url, _, _pid):
        r = asyncio.run(run_load(url, sessions=3, digits=3, ramp=0.2))
    print(f"\n3 sessions: p50 {r['p50_s'] * 1000:.0f} ms, p95 {r['p95_s'] * 1000:.0f} ms")
    assert r["errors"] == []
    assert r["strokes"] == 9  # every stroke got its reconstruction on screen
