import threading
import time

import pytest
import torch

from ae.runtime import cores
from ae.runtime.cores import Cores, side_by_side, torch_threads

DEADLINE = 10.0


def wait_until(condition, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_a_two_core_request_is_not_overtaken_by_a_later_one_core_request():
    """First come, first served: with one core held, a request for two waits, and a later request for one (which
    would fit) waits behind it rather than starving it."""
    pool = Cores(2)
    order = []

    def ask(name: str, n: int) -> None:
        with pool.hold(n):
            order.append(name)

    with pool.hold(1):
        two = threading.Thread(target=ask, args=("two", 2))
        two.start()
        wait_until(lambda: pool.waiting() == 1)
        one = threading.Thread(target=ask, args=("one", 1))
        one.start()
        wait_until(lambda: pool.waiting() == 2)
        assert order == []  # both still wait while the first core is held
    for t in (two, one):
        t.join(DEADLINE)
        assert not t.is_alive()
    assert order == ["two", "one"]


def test_two_one_core_holds_fit_side_by_side_and_a_request_is_capped_at_the_machine():
    pool = Cores(2)
    with pool.hold(1) as a, pool.hold(1) as b:
        assert a and b and pool.waiting() == 0
    with pool.hold(8) as held:  # more threads than cores: it takes them all rather than waiting for ever
        assert held


def test_a_waiting_request_can_give_up_and_leaves_the_line():
    pool = Cores(2)
    with pool.hold(2):
        assert pool.acquire(1, give_up=lambda: True) == 0
        assert pool.waiting() == 0
    with pool.hold(2) as held:  # and nothing was leaked
        assert held


def test_torch_threads_sets_this_threads_count_and_restores_it():
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_side_by_side_never_holds_more_cores_than_the_machine(monkeypatch):
    """A two-thread run and two one-thread runs: at no time do the runs under way hold more than two cores."""
    monkeypatch.setattr(cores, "CORES", Cores(2))
    threads = {"big": 2, "a": 1, "b": 1}
    lock, running, peak = threading.Lock(), {}, []

    def run(name, should_stop):
        with lock:
            running[name] = threads[name]
            peak.append(sum(running.values()))
        time.sleep(0.05)
        with lock:
            del running[name]
        return name

    assert list(side_by_side(run, list(threads), threads.__getitem__, jobs=2)) == ["big", "a", "b"]
    assert max(peak) <= 2 and cores.CORES.waiting() == 0


def test_ctrl_c_stops_the_runs_under_way_and_waits_for_them(monkeypatch):
    """Ctrl-C while runs go side by side: each run under way is told to stop, and is waited for."""
    import os
    import signal

    monkeypatch.setattr(cores, "CORES", Cores(2))
    started, stopped = [], []

    def run(name, should_stop):
        started.append(name)
        deadline = time.monotonic() + DEADLINE
        while not should_stop() and time.monotonic() < deadline:
            time.sleep(0.01)  # a long run, polling as training does every batch
        stopped.append((name, should_stop()))
        return name

    def press_ctrl_c() -> None:
        wait_until(lambda: len(started) == 2)
        os.kill(os.getpid(), signal.SIGINT)  # what a terminal's Ctrl-C sends

    threading.Thread(target=press_ctrl_c, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        list(side_by_side(run, ["a", "b"], lambda n: 1, jobs=2))
    assert sorted(stopped) == [("a", True), ("b", True)]  # both told, both finished before the call returned
    assert cores.CORES.waiting() == 0
