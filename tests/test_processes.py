"""processes.stopped_by_signals: the one way a long-running command learns it should stop."""

from __future__ import annotations

import os
import signal

from logicrm import processes


def test_a_signal_sets_stop_names_itself_and_a_second_one_would_end_the_process():
    # SIGINT handled, as in a process started from a shell (a pytest-xdist worker starts with it ignored)
    before_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    before = signal.getsignal(signal.SIGTERM)
    try:
        with processes.stopped_by_signals() as stop:
            assert not stop.is_set() and stop.signal_name is None
            os.kill(os.getpid(), signal.SIGTERM)
            assert stop.wait(5)
            assert stop.signal_name == "SIGTERM"
            # the handler only recorded the first signal; the next one takes the default action at once
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
            assert signal.getsignal(signal.SIGINT) is signal.SIG_DFL
        assert signal.getsignal(signal.SIGTERM) is before
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, before_int)


def test_a_signal_ignored_at_start_stays_ignored():
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with processes.stopped_by_signals() as stop:
            os.kill(os.getpid(), signal.SIGINT)
            assert not stop.wait(0.2)
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)
