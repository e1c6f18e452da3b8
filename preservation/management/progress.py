"""One progress callback shape for every bulk command: domain functions report (done, total); a tqdm bar shows it."""

from __future__ import annotations

from collections.abc import Callable

from tqdm import tqdm


def bar_callback(bar: tqdm) -> Callable[[int, int], None]:
    """A ``progress(done, total)`` callback that moves ``bar`` (the total may change as work is discovered)."""

    def progress(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
            bar.refresh()
        bar.update(done - bar.n)

    return progress
