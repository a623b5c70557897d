import threading
import time

from ae.threads import Cores


def test_cores_are_handed_out_in_line():
    cores = Cores(2)
    order = []
    with cores.hold(1) as held:
        assert held

        def ask(name: str, n: int) -> None:
            with cores.hold(n):
                order.append(name)
                time.sleep(0.05)

        # "two" asks first and must wait for the core held above; "one" fits now but asked later, so it waits too
        first = threading.Thread(target=ask, args=("two", 2))
        first.start()
        time.sleep(0.1)
        second = threading.Thread(target=ask, args=("one", 1))
        second.start()
        time.sleep(0.1)
        assert order == []
    first.join()
    second.join()
    assert order == ["two", "one"]


def test_a_waiting_run_can_give_up_and_a_request_is_capped_at_the_machine():
    cores = Cores(2)
    got = []
    with cores.hold(2):
        other = threading.Thread(target=lambda: got.append(cores.hold(1, give_up=lambda: True).__enter__()))
        other.start()
        other.join(5)
    assert got == [False]
    with cores.hold(8) as held:  # more threads than cores: it takes them all rather than waiting for ever
        assert held
    with cores.hold(1) as a:
        b = threading.Thread(target=lambda: got.append(cores.hold(1).__enter__()))
        b.start()
        b.join(5)
        assert a and got[-1] is True  # two one-core runs side by side


def test_a_thread_that_holds_cores_takes_none_again():
    """Training inside a run (ae.runs holds the run's cores, ae.train asks again) must not wait for itself."""
    cores = Cores(2)
    with cores.hold(2), cores.hold(2) as again:
        assert again
    with cores.hold(2) as held:  # and all were given back
        assert held


def test_a_scheduler_lines_runs_up_in_its_order_whichever_thread_asks_first():
    """conv-8 (two threads) was handed out first: the one-thread run handed out after it must not take a core
    first, even if its thread gets there first (that left one core idle for two minutes)."""
    cores = Cores(2)
    order = []
    first, second = cores.line_up(), cores.line_up()

    def run(ticket, name: str, n: int, delay: float) -> None:
        time.sleep(delay)
        with cores.using(ticket), cores.hold(n):
            order.append(name)
            time.sleep(0.05)

    threads = [
        threading.Thread(target=run, args=(second, "one", 1, 0.0)),
        threading.Thread(target=run, args=(first, "two", 2, 0.2)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert order == ["two", "one"]


def test_a_place_in_line_that_is_not_used_is_given_up():
    """A run that fails before it asks for cores (another process trains that model) must not block the line."""
    cores = Cores(2)
    with cores.using(cores.line_up()):
        pass  # the run ended without holding
    with cores.hold(2) as held:
        assert held
