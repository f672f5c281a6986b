"""Progress on the command line: a tqdm bar on stderr fed by the services' ``progress(fraction, text)``.

Services report progress as a fraction and a sentence (the UI passes ``gr.Progress``); commands wrap that in
:func:`fraction_bar` so long runs show a bar while stdout stays clean for CSV.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def fraction_bar(description: str, enabled: bool = True) -> Iterator[Callable[[float, str], None] | None]:
    """Yield ``update(fraction, text)`` drawing a 0-100 % bar on stderr (``None`` when not ``enabled``)."""
    if not enabled:
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(total=100, desc=description, unit="%", file=sys.stderr, leave=False)

    def update(fraction: float, text: str) -> None:
        bar.n = round(100 * fraction)
        bar.set_postfix_str(text)
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()
