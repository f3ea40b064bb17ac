"""A training-loop progress bar with the TensorFlow guide's API, drawn by tqdm."""

import os
import threading

from tqdm.auto import tqdm
from tqdm.notebook import tqdm_notebook


def _disabled_by_env() -> bool:
    return os.environ.get("TQDM_DISABLE", "").strip().lower() in {"1", "true", "yes"}


class Progress:
    """Progress bar over `maxi` steps; `step(reset=True)` starts a new bar with a new header.

    The guide's `Progress` printed `=` characters with Bresenham's algorithm. This keeps its API
    (so the lessons read like the guide) but draws through `tqdm.auto`: a widget in Jupyter, text
    in a terminal, nothing at all when `TQDM_DISABLE=1`. `step` is thread-safe.

    Args:
        maxi: the number of steps that make 100%.
        size: the width of the text bar in characters.
        msg: the header shown at each (re)start.
        file: where a text bar is written (default: stderr); tests pass a StringIO.
        disable: turn the display off (counting still works).
    """

    def __init__(self, maxi: int, size: int = 100, msg: str = "", *, file=None, disable=None):
        if maxi <= 0:
            raise ValueError(f"Progress needs a positive number of steps, got maxi={maxi}")
        self.maxi = maxi
        self.size = size
        self.msg = msg
        self.file = file
        self.disable = _disabled_by_env() if disable is None else disable
        self.count = 0  # steps in the current run
        self.runs = 0  # how many headers (starts) so far
        self._bar = None
        self._handle = None  # Jupyter display handle of the current widget
        self._lock = threading.Lock()

    def _start(self):
        self._finish()
        self.runs += 1
        self.count = 0
        widget = issubclass(tqdm, tqdm_notebook) and not self.disable and self.file is None
        self._bar = tqdm(
            total=self.maxi,
            desc=self.msg or None,
            ncols=self.size,
            file=self.file,
            disable=self.disable,
            leave=True,
            mininterval=0.2,
            **({"display": False} if widget else {}),
        )
        if widget:  # show it ourselves, to refresh its text form when it finishes (see _finish)
            from IPython.display import display

            self._handle = display(self._bar.container, display_id=True)

    def _finish(self):
        """Close the bar; in Jupyter, re-display it so a saved notebook's text shows the final state.

        A widget's text fallback (what GitHub or `nbconvert` show) is rendered when it is displayed,
        at 0%; updating the display at the end stores the finished bar instead.
        """
        if self._bar is None:
            return
        self._bar.close()
        if self._handle is not None:
            self._handle.update(self._bar.container)
        self._bar, self._handle = None, None

    def step(self, reset: bool = False) -> int:
        """Advance one step (after starting a new bar if `reset` or none yet); return the count."""
        with self._lock:
            if reset or self._bar is None:
                self._start()
            if self.count < self.maxi:  # like the guide: extra steps keep the bar at 100%
                self._bar.update(1)
            self.count += 1
            return self.count

    def close(self) -> None:
        """Finish the current bar (also done by the next reset)."""
        with self._lock:
            self._finish()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
