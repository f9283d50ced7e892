"""Progress of a fit: a tqdm bar with the current cost when tqdm is installed,
plain lines on stderr otherwise, nothing when ``verbose`` is off.

``fit`` calls ``update(epochs_done, cost)`` after each chunk of epochs and
``close()`` at the end (also after an error or an interruption).
"""

import sys
import time


class SilentProgress:
    """``verbose=False``."""

    def update(self, epochs_done, cost):
        pass

    def close(self):
        pass


class TqdmProgress:
    def __init__(self, total, description, tqdm):
        self._bar = tqdm(
            total=total, desc=description, unit="epoch", leave=True, dynamic_ncols=True
        )
        self._done = 0

    def update(self, epochs_done, cost):
        self._bar.set_postfix(cost=f"{cost:.6g}", refresh=False)
        self._bar.update(epochs_done - self._done)
        self._done = epochs_done

    def close(self):
        self._bar.close()


class PlainProgress:
    """A line on ``stream`` at most every ``interval`` seconds, and a last one."""

    def __init__(self, total, description, stream=None, interval=1.0):
        self._total, self._description = total, description
        self._stream = sys.stderr if stream is None else stream
        self._interval = interval
        self._last_time = -float("inf")
        self._last = None

    def update(self, epochs_done, cost):
        self._last = (epochs_done, cost)
        now = time.perf_counter()
        if now - self._last_time >= self._interval or epochs_done == self._total:
            self._write(epochs_done, cost)
            self._last_time = now

    def _write(self, epochs_done, cost):
        print(
            f"{self._description}: epoch {epochs_done}/{self._total}, cost {cost:.6g}",
            file=self._stream,
            flush=True,
        )

    def close(self):
        if self._last is not None and self._last[0] != self._total:
            self._write(*self._last)


def make_progress(total, verbose, description="fit"):
    """The reporter for ``verbose``: silent, tqdm, or plain lines."""
    if not verbose:
        return SilentProgress()
    try:
        from tqdm import tqdm
    except ImportError:
        return PlainProgress(total, description)
    return TqdmProgress(total, description, tqdm)
