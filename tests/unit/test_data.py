"""load_mnist finds MNIST offline first and rejects bad files clearly; make_datasets is the guide's.

No real MNIST here: synthetic files in tmp_path, with `helpers.data.EXPECTED` shrunk so that
they stay tiny (one test writes the real shapes).
"""

import sys
import types
import zipfile
import zlib

import numpy as np
import pytest

import helpers.data
from helpers.data import MnistUnavailableError, load_mnist
from helpers.lessons.l01_data import make_datasets, scale

SMALL = {
    "x_train": ((12, 28, 28), np.uint8),
    "y_train": ((12,), np.uint8),
    "x_test": ((4, 28, 28), np.uint8),
    "y_test": ((4,), np.uint8),
}
REAL = dict(helpers.data.EXPECTED)  # Keras' shapes, saved before the fixture shrinks them
DOWNLOAD = helpers.data._download  # the real one, before the fixture replaces it


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    """Small expected shapes; no MNIST_NPZ; an empty Keras home; no network."""
    monkeypatch.setattr(helpers.data, "EXPECTED", SMALL)
    monkeypatch.delenv("MNIST_NPZ", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))

    def no_network():
        raise AssertionError("the test tried to download MNIST")

    monkeypatch.setattr(helpers.data, "_download", no_network)


def _arrays(expected=SMALL, **overrides):
    arrays = {key: np.zeros(shape, dtype) for key, (shape, dtype) in expected.items()}
    arrays["y_train"] = (np.arange(len(arrays["y_train"])) % 10).astype(np.uint8)
    arrays["x_train"][0, 0, 0] = 255
    arrays.update(overrides)
    return arrays


def _write(path, **arrays):
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **(arrays or _arrays()))
    return path


def _use(monkeypatch, path):
    monkeypatch.setenv("MNIST_NPZ", str(path))
    return path


def test_loads_from_mnist_npz(tmp_path, monkeypatch):
    _use(monkeypatch, _write(tmp_path / "m.npz"))
    (x_train, y_train), (x_test, y_test) = load_mnist()
    assert x_train.shape == (12, 28, 28) and x_train.dtype == np.uint8 and x_train[0, 0, 0] == 255
    assert list(y_train[:3]) == [0, 1, 2]
    assert x_test.shape == (4, 28, 28) and y_test.shape == (4,)


def test_real_shapes_are_accepted(tmp_path, monkeypatch):
    monkeypatch.setattr(helpers.data, "EXPECTED", REAL)
    path = _use(monkeypatch, tmp_path / "mnist.npz")
    np.savez(path, **_arrays(REAL))  # uncompressed zeros: fast to write and read
    (x_train, _), (x_test, _) = load_mnist()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)


def test_missing_mnist_npz_names_path_and_variable(tmp_path, monkeypatch):
    missing = _use(monkeypatch, tmp_path / "nowhere" / "mnist.npz")
    with pytest.raises(MnistUnavailableError) as err:
        load_mnist()
    assert f"MNIST_NPZ points to {missing}, which does not exist" in str(err.value)


@pytest.mark.parametrize("defect", ["random bytes", "truncated", "corrupt member", "npy"])
def test_unreadable_file_gives_a_clear_error(tmp_path, monkeypatch, defect):
    path = _use(monkeypatch, tmp_path / "bad.npz")
    if defect == "random bytes":
        path.write_bytes(np.random.default_rng(0).bytes(2000))
    elif defect == "truncated":
        data = _write(tmp_path / "good.npz").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif defect == "corrupt member":  # a zlib stream error, not a zip-level one
        x = np.random.default_rng(0).integers(0, 5, (12, 28, 28)).astype(np.uint8)
        with zipfile.ZipFile(tmp_path / "good.npz", "w", zipfile.ZIP_DEFLATED) as zf:
            for key, value in _arrays(x_train=x).items():
                with zf.open(f"{key}.npy", "w") as f:
                    np.lib.format.write_array(f, value)
        data = bytearray((tmp_path / "good.npz").read_bytes())
        data[100] ^= 0x5A
        path.write_bytes(bytes(data))
    else:
        with open(path, "wb") as f:
            np.save(f, np.zeros(3))
    with pytest.raises(MnistUnavailableError, match="Cannot read .* as an .npz file") as err:
        load_mnist()
    assert str(path) in str(err.value) and "MNIST_NPZ" in str(err.value)
    if defect == "corrupt member":
        assert isinstance(err.value.__cause__, zlib.error)


def test_pickled_arrays_are_refused(tmp_path, monkeypatch):
    path = _use(monkeypatch, tmp_path / "pickled.npz")
    np.savez(path, **_arrays(x_train=np.array([{"evil": 1}], dtype=object)))
    with pytest.raises(MnistUnavailableError, match="allow_pickle=False"):
        load_mnist()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"drop": "y_test"}, "has no 'y_test' array"),
        ({"x_train": np.zeros((12, 28, 27), np.uint8)}, r"'x_train' is uint8\[12, 28, 27\]"),
        ({"x_test": np.zeros((4, 28, 28), np.float32)}, r"'x_test' is float32\[4, 28, 28\]"),
        ({"y_train": np.full(12, 10, np.uint8)}, "'y_train' has labels above 9"),
    ],
    ids=["missing key", "wrong shape", "wrong dtype", "label above 9"],
)
def test_wrong_content_is_rejected(tmp_path, monkeypatch, change, message):
    arrays = _arrays()
    arrays.pop(change.pop("drop", None), None)
    arrays.update(change)
    path = _use(monkeypatch, _write(tmp_path / "wrong.npz", **arrays))
    with pytest.raises(MnistUnavailableError, match=message) as err:
        load_mnist()
    assert "is not Keras' mnist.npz" in str(err.value) and str(path) in str(err.value)


def test_falls_back_to_the_keras_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    cached = _write(tmp_path / "kh" / "datasets" / "mnist.npz")
    assert helpers.data.locate_mnist() == cached
    (x_train, _), _ = load_mnist()
    assert x_train[0, 0, 0] == 255


def test_mnist_npz_wins_over_the_keras_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    _write(tmp_path / "kh" / "datasets" / "mnist.npz")
    chosen = _use(monkeypatch, _write(tmp_path / "chosen.npz"))
    assert helpers.data.locate_mnist() == chosen


def test_downloads_when_nothing_is_local(tmp_path, monkeypatch):
    downloaded = _write(tmp_path / "downloaded.npz")
    monkeypatch.setattr(helpers.data, "_download", lambda: downloaded)
    assert helpers.data.locate_mnist() == downloaded
    (x_train, _), _ = load_mnist()
    assert x_train.shape == (12, 28, 28)


def test_failed_download_says_how_to_provide_the_file(monkeypatch):
    def offline():
        raise OSError("network is unreachable")

    monkeypatch.setattr(helpers.data, "_download", offline)
    with pytest.raises(MnistUnavailableError) as err:
        load_mnist()
    message = str(err.value)
    assert "MNIST_NPZ" in message and "network is unreachable" in message
    assert str(helpers.data.keras_cache_path()) in message
    assert isinstance(err.value.__cause__, OSError)


def test_download_is_keras_own_hash_checked_download(tmp_path, monkeypatch):
    """Without a network in tests, a stand-in `keras` records what `_download` asks for."""
    calls = []

    def get_file(fname, origin, file_hash):
        calls.append((fname, origin, file_hash))
        return str(tmp_path / "datasets" / fname)

    fake = types.SimpleNamespace(utils=types.SimpleNamespace(get_file=get_file))
    monkeypatch.setitem(sys.modules, "keras", fake)
    assert DOWNLOAD() == tmp_path / "datasets" / "mnist.npz"
    assert calls == [("mnist.npz", helpers.data.MNIST_URL, helpers.data.MNIST_SHA256)]
    assert helpers.data.MNIST_URL.endswith("/tf-keras-datasets/mnist.npz")


def test_keras_cache_path_follows_keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert helpers.data.keras_cache_path() == tmp_path / "datasets" / "mnist.npz"
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert (
        helpers.data.keras_cache_path() == tmp_path / "home" / ".keras" / "datasets" / "mnist.npz"
    )


# --- make_datasets --------------------------------------------------------------------------

N_BATCHES = 12


def _batch_ids(dataset):
    """Each synthetic image holds its batch index in every pixel: read one back per batch."""
    return [int(round(float(images[0, 0, 0, 0]) * 255)) for images, _ in dataset]


@pytest.fixture(scope="module")
def synthetic():
    n = 256 * N_BATCHES + 10  # 10 images in a partial last batch, to be dropped
    ids = (np.arange(n) // 256).astype(np.uint8)
    x_train = np.broadcast_to(ids[:, None, None], (n, 28, 28)).copy()
    x_train[-10:] = 255  # only the partial batch holds 255
    y_train = (np.arange(n) % 10).astype(np.uint8)
    x_test = np.full((300, 28, 28), 255, np.uint8)
    y_test = (np.arange(300) % 10).astype(np.uint8)
    return (x_train, y_train), (x_test, y_test)


def test_element_shapes_dtypes_and_ranges(synthetic):
    import tensorflow as tf

    train, test = make_datasets(data=synthetic)
    train = train(1)
    images, labels = train.element_spec
    assert tuple(images.shape) == (256, 28, 28, 1) and images.dtype == tf.float32
    assert tuple(labels.shape) == (256, 10) and labels.dtype == tf.float32
    batch_images, batch_labels = next(iter(train))
    assert 0.0 <= float(tf.reduce_min(batch_images)) and float(tf.reduce_max(batch_images)) <= 1.0
    np.testing.assert_array_equal(tf.reduce_sum(batch_labels, axis=1), np.ones(256))
    test_batches = list(test)
    assert len(test_batches) == 1  # the whole test set in one batch
    test_images, test_labels = test_batches[0]
    assert tuple(test_images.shape) == (300, 28, 28, 1) and float(test_images[0, 0, 0, 0]) == 1.0
    np.testing.assert_array_equal(np.argmax(test_labels, axis=1), synthetic[1][1])


def test_scale_eagerly():
    """`scale` runs traced inside `map`; called directly it shows the same conversion."""
    images, labels = scale(np.array([[[0, 255]]], np.uint8), np.array([3], np.uint8))
    np.testing.assert_allclose(images.numpy(), [[[[0.0], [1.0]]]])
    np.testing.assert_array_equal(labels.numpy(), [np.eye(10)[3]])


def test_drop_remainder(synthetic):
    train, _ = make_datasets(data=synthetic)
    ids = _batch_ids(train(1))
    assert sorted(ids) == list(range(N_BATCHES))  # 255 (the partial batch) never appears


def test_each_epochs_order_depends_on_seed_and_epoch_only(synthetic):
    train, _ = make_datasets(data=synthetic, seed=0)
    epoch1, epoch2 = _batch_ids(train(1)), _batch_ids(train(2))
    assert _batch_ids(train(1)) == epoch1  # iterating again replays, whatever happened in between
    again, _ = make_datasets(data=synthetic, seed=0)  # rebuilt, as another lesson does
    assert [_batch_ids(again(e)) for e in (2, 1)] == [epoch2, epoch1]  # asked in any order
    other, _ = make_datasets(data=synthetic, seed=1)
    assert epoch2 != epoch1 and sorted(epoch2) == sorted(epoch1)
    assert _batch_ids(other(1)) != epoch1
    assert epoch1 != sorted(epoch1)  # batches are shuffled, not in file order


def test_epoch_orders_differ_across_many_epochs_and_seeds(synthetic):
    """(seed, epoch) pairs map to distinct orders: no epoch or seed repeats another's."""
    orders = set()
    for seed in range(3):
        train, _ = make_datasets(data=synthetic, seed=seed)
        orders.update(tuple(_batch_ids(train(epoch))) for epoch in range(1, 6))
    assert len(orders) == 15  # 12 batches: 12! orders, a repeat would be a seeding bug


def test_batch_size_argument(synthetic):
    train, _ = make_datasets(batch_size=1024, data=synthetic)
    assert len(list(train(1))) == (256 * N_BATCHES + 10) // 1024


def test_describe_source_names_no_machine_path(monkeypatch, tmp_path):
    from helpers.data import describe_source

    monkeypatch.setenv("MNIST_NPZ", str(tmp_path / "deep" / "mnist.npz"))
    assert describe_source() == "$MNIST_NPZ (mnist.npz)"
    monkeypatch.delenv("MNIST_NPZ")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert (
        describe_source().startswith("a download from https://")
        and str(tmp_path) not in describe_source()
    )
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "mnist.npz").write_bytes(b"")
    assert describe_source() == "Keras' cache ($KERAS_HOME/datasets/mnist.npz)"


def test_make_data_copies_a_valid_file_into_keras_cache(monkeypatch, tmp_path, capsys):
    from helpers.data import install_to_keras_cache

    source = tmp_path / "given.npz"
    _write(source)
    monkeypatch.setenv("MNIST_NPZ", str(source))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    target = install_to_keras_cache()
    assert target == tmp_path / "keras" / "datasets" / "mnist.npz"
    assert target.read_bytes() == source.read_bytes()
    assert "copied $MNIST_NPZ" in capsys.readouterr().out
    assert install_to_keras_cache() == target  # idempotent: "already in Keras' cache"


def test_make_data_refuses_a_bad_file_and_leaves_the_cache_alone(monkeypatch, tmp_path):
    from helpers.data import MnistUnavailableError, install_to_keras_cache

    bad = tmp_path / "bad.npz"
    bad.write_text("not an npz")
    monkeypatch.setenv("MNIST_NPZ", str(bad))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(MnistUnavailableError, match="MNIST_NPZ|Cannot read"):
        install_to_keras_cache()
    assert not (tmp_path / "keras" / "datasets" / "mnist.npz").exists()
