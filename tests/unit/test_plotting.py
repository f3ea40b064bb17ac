"""The lessons' figures (01, 03, 05, 06): checked through Axes, lines and labels, never pixels."""

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from helpers.plotting import (
    HANDOFF_LABEL,
    confusion_matrix,
    display_train_curves,
    plot_confusion_matrix,
    show_digits,
)

EPOCHS, STEPS = 3, 20


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _curves(**kwargs):
    args = dict(
        loss=np.linspace(2.0, 0.1, EPOCHS * STEPS),
        avg_loss=[1.0, 0.5, 0.3],
        eval_loss=[0.8, 0.4, 0.35],
        eval_accuracy=[0.90, 0.95, 0.97],
        epochs=EPOCHS,
        steps_per_epochs=STEPS,
    )
    args.update(kwargs)
    return display_train_curves(**args)


def _labels(ax):
    return [line.get_label() for line in ax.get_lines()]


def test_train_curves_with_per_step_loss():
    fig = _curves()
    assert isinstance(fig, Figure)
    ax_loss, ax_acc = fig.axes
    assert _labels(ax_loss) == ["train (per step)", "train (epoch mean)", "test"]
    assert _labels(ax_acc) == ["test accuracy"]
    per_step = ax_loss.get_lines()[0]
    assert len(per_step.get_xdata()) == EPOCHS * STEPS
    assert per_step.get_xdata()[STEPS - 1] == pytest.approx(1.0)  # end of epoch 1 lines up
    np.testing.assert_array_equal(ax_acc.get_lines()[0].get_ydata(), [0.90, 0.95, 0.97])
    assert ax_loss.get_title() == "Loss" and ax_acc.get_title() == "Test accuracy"
    assert ax_loss.get_ylim()[0] == 0


def test_train_curves_without_per_step_loss():
    ax_loss, ax_acc = _curves(loss=None).axes
    assert _labels(ax_loss) == ["train (epoch mean)", "test"]
    low, high = ax_loss.get_ylim()
    assert low < 0.3 and high > 1.0  # every epoch value is visible


def test_handoff_epoch_draws_a_vertical_line_in_both_panels():
    fig = _curves(handoff_epoch=2)
    for ax in fig.axes:
        handoff = [line for line in ax.get_lines() if line.get_label() == HANDOFF_LABEL]
        assert len(handoff) == 1
        assert list(handoff[0].get_xdata()) == [2, 2]
        assert HANDOFF_LABEL in [text.get_text() for text in ax.get_legend().get_texts()]


def test_reference_adds_dashed_lines():
    reference = {
        "epochs": [1, 2, 3, 4],
        "avg_loss": [1.0, 0.5, 0.3, 0.2],
        "eval_accuracy": [0.9, 0.95, 0.97, 0.99],
        "label": "JAX only",
    }
    ax_loss, ax_acc = _curves(reference=reference).axes
    assert "train mean, JAX only" in _labels(ax_loss)
    assert _labels(ax_acc) == ["test accuracy", "JAX only"]
    assert ax_acc.get_lines()[1].get_linestyle() == "--"
    assert ax_acc.get_ylim()[1] > 0.99  # the reference's best accuracy is inside the axes


@pytest.mark.parametrize("field", ["avg_loss", "eval_loss", "eval_accuracy"])
def test_mismatched_lengths_raise(field):
    with pytest.raises(ValueError, match=field):
        _curves(**{field: [0.5, 0.4]})


def test_flat_accuracy_gets_a_nonzero_height_range():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns when it has to widen a zero range
        _, ax_acc = _curves(eval_accuracy=[1.0, 1.0, 1.0]).axes
    low, high = ax_acc.get_ylim()
    assert low < 1.0 < high


def test_diverged_loss_still_plots():
    loss = np.linspace(2.0, 0.1, EPOCHS * STEPS)
    loss[-5:] = np.nan
    ax_loss, _ = _curves(loss=loss, avg_loss=[1.0, 0.5, np.nan]).axes
    low, high = ax_loss.get_ylim()
    assert low == 0 and np.isfinite(high) and high > 0


def test_all_nan_accuracy_gets_a_default_range():
    _, ax_acc = _curves(eval_accuracy=[np.nan] * EPOCHS).axes
    assert ax_acc.get_ylim() == (0.0, 1.0)


def _digits(n):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), np.arange(n) % 10


def test_show_digits_grid_and_titles():
    images, labels = _digits(23)
    fig = show_digits(images, labels, ncols=10)
    assert len(fig.axes) == 30  # 3 rows of 10
    shown = [ax for ax in fig.axes if ax.axison]
    assert len(shown) == 23
    assert [ax.get_title() for ax in shown[:3]] == ["0", "1", "2"]


def test_show_digits_wrong_predictions_are_red():
    images, labels = _digits(5)
    predictions = labels.copy()
    predictions[[1, 3]] = [7, 0]
    fig = show_digits(images, labels, predictions)
    titles = [ax.title for ax in fig.axes[:5]]
    assert [title.get_color() for title in titles] == ["black", "red", "black", "red", "black"]
    assert titles[1].get_text() == "7 (1)"
    assert titles[0].get_text() == "0"


def test_show_digits_accepts_one_hot_labels_and_channel_axis():
    images, labels = _digits(4)
    fig = show_digits(images[..., None] / 255.0, np.eye(10)[labels], ncols=4)
    assert len(fig.axes) == 4
    assert [ax.get_title() for ax in fig.axes] == ["0", "1", "2", "3"]
    assert fig.axes[0].get_images()[0].get_array().shape == (28, 28)


def test_show_digits_max_images():
    images, labels = _digits(30)
    fig = show_digits(images, labels, ncols=5, max_images=7)
    assert len(fig.axes) == 10 and sum(ax.axison for ax in fig.axes) == 7


def test_show_digits_mismatched_predictions_raise():
    images, labels = _digits(5)
    with pytest.raises(ValueError, match="3 predictions for 5 labels"):
        show_digits(images, labels, predictions=[1, 2, 3])


def test_confusion_matrix_counts():
    labels = [0, 0, 1, 2, 2, 2]
    predictions = [0, 1, 1, 2, 2, 0]
    matrix = confusion_matrix(labels, predictions, num_classes=3)
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert matrix.dtype == np.int64


def test_plot_confusion_matrix_title_has_accuracy():
    labels = np.array([0, 1, 2, 3] * 5)
    predictions = labels.copy()
    predictions[:5] = 9  # 5 of 20 wrong
    fig = plot_confusion_matrix(labels, predictions)
    ax = fig.axes[0]
    assert ax.get_title() == "Confusion matrix (accuracy 75.00%)"
    assert ax.get_xlabel() == "predicted" and ax.get_ylabel() == "true"
    assert len(fig.axes) == 2  # the matrix and its colour bar
    texts = sorted(int(text.get_text()) for text in ax.texts)
    assert sum(texts) == 20 and len(texts) == 8  # only the non-zero cells are annotated


def test_the_handoff_line_can_be_labelled():
    fig = display_train_curves(
        None, [1.0, 0.5], [1.0, 0.6], [0.9, 0.95], 2, 10, handoff_epoch=1, handoff_label="resumed"
    )
    labels = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert "resumed" in labels and "JAX → TensorFlow" not in labels
    plt.close(fig)
