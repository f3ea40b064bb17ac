"""The TensorFlow guide's training recipe, shared by the JAX and the TensorFlow stages.

Kept free of framework imports: lesson 05 reads it without JAX. Later results are compared with
the guide's, so change these only together with the claims they set (docs/claims.md).
"""

BATCH_SIZE = 256
LEARNING_RATE = 0.01
LEARNING_RATE_EXP_DECAY = 0.6  # multiply the learning rate by this after every epoch (staircase)
JAX_EPOCHS = 3  # lesson 03
# Lesson 05 trains epoch 4 in TensorFlow; lesson 04 runs the same epoch in JAX, its yardstick.
TF_EPOCHS = 1
TRAIN_IMAGES = 60_000
STEPS_PER_EPOCH = TRAIN_IMAGES // BATCH_SIZE  # 234: the last, partial batch is dropped


def learning_rate(step: int) -> float:
    """The staircase schedule both optimizers follow: 0.01 · 0.6^(step // 234)."""
    return LEARNING_RATE * LEARNING_RATE_EXP_DECAY ** (step // STEPS_PER_EPOCH)


def as_dict() -> dict:
    """The recipe as JSON-ready values, for manifests."""
    return {
        "batch_size": BATCH_SIZE,
        "learning_rate": LEARNING_RATE,
        "learning_rate_exp_decay": LEARNING_RATE_EXP_DECAY,
        "steps_per_epoch": STEPS_PER_EPOCH,
        "jax_epochs": JAX_EPOCHS,
        "tf_epochs": TF_EPOCHS,
    }
