"""Progress: the guide's counting API (03, 05) drawn by tqdm into any file, thread-safely."""

import io
import threading

import pytest

from helpers.progress import Progress


def _bars(text: str) -> list[str]:
    """The final state of each finished bar: tqdm redraws with '\\r' and ends a bar with '\\n'."""
    return [line.rsplit("\r", 1)[-1] for line in text.split("\n") if line]


def test_counts_and_resets():
    progress = Progress(5, disable=True)
    assert [progress.step() for _ in range(3)] == [1, 2, 3]
    assert progress.count == 3 and progress.runs == 1
    assert progress.step(reset=True) == 1
    assert progress.count == 1 and progress.runs == 2
    progress.close()


def test_header_shown_at_each_restart():
    out = io.StringIO()
    progress = Progress(4, size=60, msg="Epoch", file=out, disable=False)
    for _ in range(4):
        progress.step()
    progress.step(reset=True)
    progress.step()
    progress.close()
    bars = _bars(out.getvalue())
    assert len(bars) == 2
    assert all(bar.startswith("Epoch:") for bar in bars)
    assert "4/4" in bars[0] and "2/4" in bars[1]


def test_extra_steps_keep_the_bar_at_100_percent():
    out = io.StringIO()
    progress = Progress(3, file=out, disable=False)
    for _ in range(5):
        progress.step()
    assert progress.count == 5
    assert progress._bar.n == progress.maxi == 3
    progress.close()
    assert "100%" in _bars(out.getvalue())[-1] and "3/3" in out.getvalue()


def test_thread_safe_count():
    threads, steps = 8, 250
    progress = Progress(threads * steps, file=io.StringIO(), disable=False)
    barrier = threading.Barrier(threads)

    def work():
        barrier.wait()
        for _ in range(steps):
            progress.step()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert progress.count == threads * steps
    assert progress._bar.n == threads * steps
    assert progress.runs == 1
    progress.close()


def test_tqdm_disable_env_silences_output(monkeypatch):
    monkeypatch.setenv("TQDM_DISABLE", "1")
    out = io.StringIO()
    progress = Progress(3, msg="quiet", file=out)
    assert progress.step() == 1
    progress.close()
    assert out.getvalue() == ""


def test_output_when_env_does_not_disable(monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    out = io.StringIO()
    with Progress(3, msg="loud", file=out) as progress:
        progress.step()
    assert "loud" in out.getvalue()


@pytest.mark.parametrize("maxi", [0, -1])
def test_non_positive_maxi_raises(maxi):
    with pytest.raises(ValueError, match="maxi"):
        Progress(maxi)


def test_context_manager_closes_the_bar():
    out = io.StringIO()
    with Progress(2, msg="ctx", file=out, disable=False) as progress:
        progress.step()
        bar = progress._bar
        assert out.getvalue().count("\n") == 0  # still open: no final newline yet
    assert progress._bar is None
    assert out.getvalue().endswith("\n")  # tqdm wrote the finished bar (leave=True)
    assert bar.disable  # tqdm marks a closed bar disabled


def test_in_jupyter_the_finished_bar_is_redisplayed_so_saved_notebooks_show_100_percent(
    monkeypatch,
):
    """The widget's text fallback is rendered at display time; the final update must re-render it."""
    import IPython.display
    from tqdm.notebook import tqdm_notebook

    import helpers.progress as progress_module

    shown, updates = [], []

    class Handle:
        def update(self, obj):
            updates.append(repr(obj))

    def fake_display(obj, display_id=None):
        shown.append(repr(obj))
        return Handle()

    monkeypatch.setattr(IPython.display, "display", fake_display)
    monkeypatch.setattr(progress_module, "tqdm", tqdm_notebook)
    bar = Progress(4, msg="epoch", disable=False)
    for i in range(4):
        bar.step(reset=(i == 0))
    bar.step(reset=True)  # a restart finishes the first bar and displays a second one
    bar.close()
    assert len(shown) == 2 and "0/4" in shown[0]
    assert len(updates) == 2 and "4/4" in updates[0] and "100%" in updates[0]
