"""Race processes: start several at once on one target and collect what each reported."""

from __future__ import annotations

import multiprocessing

SPAWN = multiprocessing.get_context("spawn")
TIMEOUT_S = 120


def race(target, args: tuple, *, processes: int = 3) -> list:
    """Run `target(*args, barrier, results)` in `processes` fresh processes that wait on the barrier to
    start together; return what each put on `results`, once all exited cleanly."""
    barrier, results = SPAWN.Barrier(processes), SPAWN.Queue()
    workers = [SPAWN.Process(target=target, args=(*args, barrier, results)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=TIMEOUT_S) for _ in workers]
    for worker in workers:
        worker.join(timeout=TIMEOUT_S)
        assert worker.exitcode == 0
    return outcomes
