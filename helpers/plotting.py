"""The lessons' figures. Every function returns its `Figure` and never calls `plt.show()`."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

HANDOFF_LABEL = "JAX → TensorFlow"


def _padded_limits(values, pad_fraction=0.1, min_span=1e-3):
    """(low, high) around the finite `values`, padded, never a zero-height range."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]  # a diverged run (NaN/inf losses) still gets a plot
    if values.size == 0:
        return 0.0, 1.0
    low, high = float(np.min(values)), float(np.max(values))
    span = max(high - low, min_span)
    return low - span * pad_fraction, high + span * pad_fraction


def display_train_curves(
    loss,
    avg_loss,
    eval_loss,
    eval_accuracy,
    epochs,
    steps_per_epochs,
    ignore_first_n=10,
    handoff_epoch=None,
    handoff_label=HANDOFF_LABEL,
    reference=None,
) -> Figure:
    """The guide's two panels: losses (left) and test accuracy (right), per epoch.

    Fixed from the guide: it draws on its own figure and returns it instead of drawing on
    whatever figure was current; per-step losses are placed at the end of their step, so epoch
    `k`'s average lines up with its last step; `ignore_first_n` (in steps) only trims the y-range
    and can exceed the run; a flat accuracy curve no longer gives matplotlib a zero-height range;
    mismatched lengths raise instead of plotting misaligned curves.

    Args:
        loss: per-step train losses, or None.
        avg_loss, eval_loss, eval_accuracy: one value per epoch.
        epochs: number of epochs plotted (must match the per-epoch lists).
        steps_per_epochs: steps in one epoch.
        ignore_first_n: steps left out when choosing the loss axis range (early losses are huge).
        handoff_epoch: draw a vertical line at this epoch (where training moved to TensorFlow).
        handoff_label: the legend entry of that line.
        reference: optional dict with `epochs`, `avg_loss`, `eval_accuracy` (and `label`), e.g.
            a JAX-only continuation, drawn dashed on the same axes.
    """
    for name, values in (
        ("avg_loss", avg_loss),
        ("eval_loss", eval_loss),
        ("eval_accuracy", eval_accuracy),
    ):
        if len(values) != epochs:
            raise ValueError(f"{name} has {len(values)} values but epochs={epochs}")
    epoch_x = np.arange(1, epochs + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(12, 4.5))

    if loss is not None and len(loss):
        loss = np.asarray(loss, dtype=float)
        step_x = (np.arange(len(loss)) + 1) / steps_per_epochs
        ax_loss.plot(step_x, loss, linewidth=0.6, alpha=0.6, label="train (per step)")
        kept = loss[ignore_first_n:] if len(loss) > ignore_first_n else loss
        ax_loss.set_ylim(0, _padded_limits(kept, pad_fraction=0.05)[1])
    else:
        skip = min(int(ignore_first_n / steps_per_epochs), max(epochs - 1, 0))
        ax_loss.set_ylim(*_padded_limits(np.concatenate([avg_loss[skip:], eval_loss[skip:]])))
    ax_loss.plot(epoch_x, avg_loss, "-o", linewidth=2, label="train (epoch mean)")
    ax_loss.plot(epoch_x, eval_loss, "-o", linewidth=2, label="test")
    ax_acc.plot(epoch_x, eval_accuracy, "-o", linewidth=2, label="test accuracy")
    accuracies = list(eval_accuracy)

    if reference is not None:
        label = reference.get("label", "reference")
        ax_loss.plot(
            reference["epochs"], reference["avg_loss"], "--s", label=f"train mean, {label}"
        )
        ax_acc.plot(reference["epochs"], reference["eval_accuracy"], "--s", label=label)
        accuracies += list(reference["eval_accuracy"])

    skip = min(int(ignore_first_n / steps_per_epochs), max(len(accuracies) - 1, 0))
    ax_acc.set_ylim(*_padded_limits(accuracies[skip:]))
    if handoff_epoch is not None:
        for ax in (ax_loss, ax_acc):
            ax.axvline(handoff_epoch, color="gray", linestyle=":", linewidth=2, label=handoff_label)

    ax_loss.set(title="Loss", xlabel="epoch", ylabel="loss")
    ax_acc.set(title="Test accuracy", xlabel="epoch", ylabel="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def show_digits(images, labels, predictions=None, ncols=10, max_images=50) -> Figure:
    """A grid of digits titled with their labels; wrong predictions get a red title and frame."""
    images = np.asarray(images)[:max_images]
    labels = np.asarray(labels)[:max_images]
    if images.ndim == 4:  # (n, 28, 28, 1) -> (n, 28, 28)
        images = images[..., 0]
    if labels.ndim == 2:  # one-hot -> class index
        labels = labels.argmax(axis=-1)
    if predictions is not None:
        predictions = np.asarray(predictions)[:max_images]
        if len(predictions) != len(labels):
            raise ValueError(f"{len(predictions)} predictions for {len(labels)} labels")
    n = len(images)
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * 1.1, nrows * 1.3), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= n:
            ax.axis("off")
            continue
        ax.imshow(images[i], cmap="gray_r")
        if predictions is None:
            ax.set_title(str(labels[i]), fontsize=9)
            continue
        wrong = predictions[i] != labels[i]
        color = "red" if wrong else "black"
        ax.set_title(
            f"{predictions[i]} ({labels[i]})" if wrong else str(labels[i]), fontsize=9, color=color
        )
        for spine in ax.spines.values():
            spine.set_color(color)
            spine.set_linewidth(2 if wrong else 0.5)
    fig.tight_layout()
    return fig


def confusion_matrix(labels, predictions, num_classes=10) -> np.ndarray:
    """Counts `[true, predicted]`, as an int64 matrix."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels), np.asarray(predictions)), 1)
    return matrix


def plot_confusion_matrix(labels, predictions, num_classes=10) -> Figure:
    """Heat map of the confusion matrix with counts; the diagonal is what the model got right."""
    matrix = confusion_matrix(labels, predictions, num_classes)
    fig, ax = plt.subplots(figsize=(6, 5.5))
    image = ax.imshow(matrix, cmap="Blues")
    threshold = matrix.max() / 2
    for (i, j), count in np.ndenumerate(matrix):
        if count:
            ax.text(
                j,
                i,
                str(count),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if count > threshold else "black",
            )
    ax.set(
        xticks=range(num_classes),
        yticks=range(num_classes),
        xlabel="predicted",
        ylabel="true",
        title=f"Confusion matrix (accuracy {np.trace(matrix) / matrix.sum():.2%})",
    )
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig
