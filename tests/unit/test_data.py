"""tinyconv.data: every loader on small datasets written in its real file format (IDX gzip,
the CIFAR-10 JPEG zip and Keras batches, FSDD WAVs, the VWW folder, .npz, image folders),
splits, resizing, augmentation, errors; then the real offline copies where this machine has
them (@pytest.mark.dataset: skipped with the reason on a developer machine, run in CI)."""

from __future__ import annotations

import gzip
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import dataset_fixtures as fx
from tinyconv.data import (DATASETS, Augmentation, augment_batch, epoch_batches, load_dataset,
                           resolve)
from tinyconv.data import cifar, locate
from tinyconv.data.audio import MfccConfig, dct_ii, mel_filterbank, mfcc
from tinyconv.data.cache import is_cached, source_key
from tinyconv.data.fsdd import read_wav
from tinyconv.data.idx import read_idx
from tinyconv.data.registry import canonical_name
from tinyconv.data.image import interpolation_matrix, resize_images
from tinyconv.data.split import holdout, split_train, stratified_order, subsample
from tinyconv.errors import TinyconvError

# Small limits keep every load of a real dataset to about a second (CIFAR-10 decodes only
# what it selects).
SMALL = dict(limit_train=300, limit_test=100)
JPEG_TOLERANCE = 2 / 255  # a flat colour survives a JPEG round trip to within one level


@pytest.fixture
def data_root(tmp_path, monkeypatch) -> Path:
    """An empty data root searched first (TINYCONV_DATA) and a private decode cache."""
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("TINYCONV_DATA", str(root))
    monkeypatch.setenv("TINYCONV_CACHE", str(tmp_path / "cache"))
    return root


@pytest.fixture
def no_other_roots(tmp_path, monkeypatch):
    """Only TINYCONV_DATA and /usr/share/datasets remain: no checkout-side copies, no
    ~/.keras cache (as on a fresh clone). Needed where a loader prefers one format in any
    root to another format in TINYCONV_DATA (CIFAR-10's zip over Keras' batches)."""
    monkeypatch.setattr(locate, "_CHECKOUT", tmp_path / "checkout")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def _check(ds, name):
    info = DATASETS[name]
    assert ds.name == name and ds.num_classes == info.num_classes == len(ds.class_names)
    assert ds.input_shape == info.input_shape and ds.class_names == info.class_names
    for x, y in ((ds.x_train, ds.y_train), (ds.x_val, ds.y_val), (ds.x_test, ds.y_test)):
        assert x.dtype == np.float32 and y.dtype == np.int32
        assert x.shape == (len(y), *ds.input_shape)
        if len(x):
            assert 0.0 <= x.min() and x.max() <= 1.0
            assert 0 <= y.min() and y.max() < ds.num_classes


def _rows_by_bytes(x: np.ndarray) -> dict[bytes, int]:
    return {img.tobytes(): i for i, img in enumerate(x)}


# ---- IDX: Fashion-MNIST and MNIST --------------------------------------------------------------

def test_read_idx_round_trip_and_malformed_files(tmp_path):
    x = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(read_idx(fx.write_idx(tmp_path / "a-idx3-ubyte.gz", x)), x)
    np.testing.assert_array_equal(read_idx(fx.write_idx(tmp_path / "a-idx3-ubyte", x)), x)
    truncated = tmp_path / "t.gz"
    truncated.write_bytes(gzip.compress(fx.idx_bytes(x)[:-5]))
    with pytest.raises(TinyconvError, match=f"{truncated}: truncated \\(19 of 24 bytes\\)"):
        read_idx(truncated)
    floats = tmp_path / "f.gz"  # type code 0x0D (float32) is not what the loaders read
    floats.write_bytes(gzip.compress(bytes([0, 0, 0x0D, 1, 0, 0, 0, 1]) + b"\0" * 4))
    with pytest.raises(TinyconvError, match=f"{floats}: not an IDX file of unsigned bytes"):
        read_idx(floats)
    not_gzip = tmp_path / "n.gz"
    not_gzip.write_bytes(fx.idx_bytes(x))
    with pytest.raises(TinyconvError, match=f"cannot read {not_gzip}"):
        read_idx(not_gzip)


@pytest.mark.parametrize("name,folder", [("fashion_mnist", "fashion-mnist"), ("mnist", "mnist")])
def test_idx_datasets_decode_every_pixel_and_label(data_root, name, folder):
    written = fx.write_idx_dataset(data_root, folder, n_train=200, n_test=50)
    source = resolve(name)
    np.testing.assert_array_equal(source.y_train, written.y_train)
    np.testing.assert_array_equal(source.y_test, written.y_test)
    ds = load_dataset(name, validation_fraction=0.1)
    _check(ds, name)
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (180, 20, 50)
    # Test examples keep the file order: exactly the bytes written, divided by 255.
    np.testing.assert_array_equal(ds.x_test[..., 0], written.x_test.astype(np.float32) / 255)
    np.testing.assert_array_equal(ds.y_test, written.y_test)
    # Train + validation are a shuffled permutation of the training file, labels attached.
    by_bytes = _rows_by_bytes(written.x_train)
    pool_x = np.concatenate([ds.x_train, ds.x_val])[..., 0]
    pool_y = np.concatenate([ds.y_train, ds.y_val])
    rows = [by_bytes[np.round(img * 255).astype(np.uint8).tobytes()] for img in pool_x]
    assert sorted(rows) == list(range(200)) and rows[:10] != list(range(10))
    np.testing.assert_array_equal(pool_y, written.y_train[rows])
    assert np.bincount(ds.y_val).tolist() == [2] * 10  # stratified validation split
    assert ds.augmentation.flip is (name == "fashion_mnist")  # digits are never mirrored


def test_mnist_from_keras_npz_cache(data_root, no_other_roots):
    written = fx.write_keras_mnist_npz(data_root, n_train=100, n_test=30)
    ds = load_dataset("mnist", validation_fraction=0.0)
    _check(ds, "mnist")
    np.testing.assert_array_equal(ds.x_test[..., 0], written.x_test.astype(np.float32) / 255)
    np.testing.assert_array_equal(np.sort(ds.y_train), np.sort(written.y_train))
    (data_root / "mnist.npz").write_bytes(b"PK\3\4 not a zip")
    with pytest.raises(TinyconvError, match=f"cannot read {data_root / 'mnist.npz'}"):
        resolve("mnist")


def test_broken_idx_file_is_named(data_root):
    fx.write_idx_dataset(data_root, "mnist", n_train=20, n_test=10)
    labels = data_root / "mnist" / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(gzip.compress(fx.idx_bytes(np.zeros(10, np.uint8))[:-1]))
    with pytest.raises(TinyconvError, match=f"{labels}: truncated"):
        load_dataset("mnist")


def test_missing_dataset_is_one_line_naming_where_it_looked(data_root, no_other_roots):
    # TINYCONV_OFFLINE (set for the suite by conftest.py): no download attempt, one line.
    with pytest.raises(TinyconvError, match=f"dataset 'mnist' not found locally \\(looked in "
                                            f"{data_root / 'mnist'}.*TINYCONV_OFFLINE"):
        load_dataset("mnist")
    with pytest.raises(TinyconvError, match=f"dataset 'vww' not found \\(looked in "
                                            f"{data_root / 'vww01-test1000'}"):
        load_dataset("vww")
    with pytest.raises(TinyconvError, match="dataset 'fsdd' not found .*recordings/<digit>_"):
        load_dataset("fsdd")


# ---- CIFAR-10 -----------------------------------------------------------------------------------

def test_cifar10_jpeg_zip_labels_pixels_and_both_decode_paths(data_root, monkeypatch):
    written = fx.write_cifar_zip(data_root, {"train": 4, "test": 2})
    source = resolve("cifar10")
    np.testing.assert_array_equal(source.y_train, written.y_train)  # from the member names
    np.testing.assert_array_equal(source.y_test, written.y_test)
    assert source.native_shape == (32, 32, 3)
    direct = load_dataset("cifar10", validation_fraction=0.25, limit_test=10)
    _check(direct, "cifar10")
    assert (len(direct.x_train), len(direct.x_val), len(direct.x_test)) == (30, 10, 10)
    assert np.bincount(direct.y_test).tolist() == [1] * 10  # stratified limit
    # Every image is the flat colour written for its member: right file, right channels.
    colors = {tuple(c[0, 0]): (y, split) for split, xs, ys in (
        ("train", written.x_train, written.y_train), ("test", written.x_test, written.y_test))
        for c, y in zip(xs, ys)}
    for split, x, y in (("train", direct.x_train, direct.y_train), ("test", direct.x_test,
                                                                    direct.y_test)):
        assert np.ptp(x, axis=(1, 2)).max() <= JPEG_TOLERANCE  # flat, as written
        for img, label in zip(x, y):
            match = [c for c in colors if np.abs(img[0, 0] - np.array(c) / 255).max()
                     <= JPEG_TOLERANCE]
            assert len(match) == 1 and colors[match[0]] == (label, split)
    assert not is_cached(source_key("cifar10", data_root / "cifar10" / cifar.ZIP_NAME))
    # Above the direct-decode limit the whole zip is decoded once into the cache: same pixels.
    monkeypatch.setattr(cifar, "DIRECT_DECODE_LIMIT", 0)
    cached = load_dataset("cifar10", validation_fraction=0.25, limit_test=10)
    assert is_cached(source_key("cifar10", data_root / "cifar10" / cifar.ZIP_NAME))
    for field in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(cached, field), getattr(direct, field))


@pytest.mark.parametrize("member,data,message", [
    ("train/cow/0000.jpg", b"", r"unexpected member 'train/cow/0000.jpg' \(want train\|test/"),
    ("train/cat/0009.jpg", b"\xff\xd8 not a jpeg", r"cannot decode train/cat/0009.jpg"),
    ("test/dog/0009.jpg", fx.jpeg(np.zeros((30, 30, 3), np.uint8)),
     r"test/dog/0009.jpg is 30x30, CIFAR-10 images are 32x32"),
])
def test_cifar10_zip_errors_name_the_member(data_root, member, data, message):
    fx.write_cifar_zip(data_root, {"train": 1, "test": 1}, extra_members={member: data})
    path = data_root / "cifar10" / cifar.ZIP_NAME
    with pytest.raises(TinyconvError, match=f"{path}: {message}"):
        load_dataset("cifar10", validation_fraction=0.0)


def test_cifar10_zip_without_a_test_split_and_a_broken_zip(data_root):
    fx.write_cifar_zip(data_root, {"train": 1})
    path = data_root / "cifar10" / cifar.ZIP_NAME
    with pytest.raises(TinyconvError, match=f"{path}: no train/ or no test/ images inside"):
        resolve("cifar10")
    path.write_bytes(b"PK\5\6" + b"\0" * 10)
    with pytest.raises(TinyconvError, match=f"cannot read {path}"):
        resolve("cifar10")


def test_cifar10_keras_pickled_batches(data_root, no_other_roots):
    written = fx.write_cifar_batches(data_root, per_batch=6, n_test=8)
    ds = load_dataset("cifar10", validation_fraction=0.0)
    _check(ds, "cifar10")
    assert (len(ds.x_train), len(ds.x_test)) == (30, 8)
    # Rows are stored plane by plane (CHW): decoded back to HWC exactly.
    np.testing.assert_array_equal(ds.x_test, written.x_test.astype(np.float32) / 255)
    by_bytes = _rows_by_bytes(written.x_train)
    rows = [by_bytes[np.round(img * 255).astype(np.uint8).tobytes()] for img in ds.x_train]
    np.testing.assert_array_equal(ds.y_train, written.y_train[rows])
    (data_root / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"\x80\x04 garbage")
    with pytest.raises(TinyconvError, match="cannot read CIFAR-10 batch .*data_batch_3"):
        resolve("cifar10")


# ---- FSDD ---------------------------------------------------------------------------------------

def test_fsdd_wavs_become_mfcc_maps_that_tell_digits_apart(data_root):
    written = fx.write_fsdd(data_root, speakers=("ann", "bob"), indices=range(8))
    recordings = data_root / "fsdd" / "recordings"
    name = "7_bob_3.wav"
    np.testing.assert_array_equal(read_wav(recordings / name, 8000),
                                  written[name].astype(np.float32) / 32768)
    ds = load_dataset("fsdd", validation_fraction=0.0)
    _check(ds, "fsdd")
    # Index 0-4 is the test split: 10 digits x 2 speakers x 5 = 100; 5-7 train: 60.
    assert (len(ds.x_train), len(ds.x_test)) == (60, 100)
    assert np.bincount(ds.y_test).tolist() == [10] * 10
    # Scaled per coefficient to the training split's 1st..99th percentiles, then clipped.
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0
    # Each digit is its own tone: the nearest class mean of the features finds it.
    flat = ds.x_train.reshape(len(ds.x_train), -1)
    means = np.stack([flat[ds.y_train == k].mean(axis=0) for k in range(10)])
    test = ds.x_test.reshape(len(ds.x_test), -1)
    predicted = ((test[:, None, :] - means[None]) ** 2).sum(axis=-1).argmin(axis=1)
    assert (predicted == ds.y_test).mean() == 1.0
    # A second load reads the cached features: the same numbers.
    again = load_dataset("fsdd", validation_fraction=0.0)
    np.testing.assert_array_equal(again.x_test, ds.x_test)


@pytest.mark.parametrize("name,rate,channels,message", [
    ("3_ann_1.wav", 16000, 1, r"expected mono 16-bit 8000 Hz audio, got 1 channel\(s\), 16-bit, "
                              r"16000 Hz"),
    ("3_ann_1.wav", 8000, 2, r"expected mono 16-bit 8000 Hz audio, got 2 channel\(s\)"),
    ("three_ann_1.wav", 8000, 1, r"name is not <digit>_<speaker>_<index>.wav"),
])
def test_fsdd_bad_recordings_are_named(data_root, name, rate, channels, message):
    fx.write_fsdd(data_root, speakers=("ann",), indices=range(2))
    bad = fx.write_wav(data_root / "fsdd" / "recordings" / name,
                       np.repeat(fx.tone(3, 1), channels), rate=rate, channels=channels)
    with pytest.raises(TinyconvError, match=f"{bad}: {message}"):
        resolve("fsdd")


def test_fsdd_truncated_wav_and_empty_folder(data_root):
    recordings = data_root / "fsdd" / "recordings"
    recordings.mkdir(parents=True)
    with pytest.raises(TinyconvError, match=f"{recordings}: no .wav recordings"):
        resolve("fsdd")
    good = fx.write_wav(recordings / "1_ann_0.wav", fx.tone(1, 0))
    (recordings / "1_ann_9.wav").write_bytes(good.read_bytes()[:30])
    with pytest.raises(TinyconvError, match=f"cannot read {recordings / '1_ann_9.wav'}"):
        resolve("fsdd")


# ---- Visual Wake Words --------------------------------------------------------------------------

def test_vww_folder_is_eval_only_and_red_blue_are_swapped_back(data_root):
    written = fx.write_vww(data_root, n=6)
    ds = load_dataset("vww")
    _check(ds, "vww")
    assert ds.eval_only and len(ds.x_train) == 0 and len(ds.x_val) == 0
    assert ds.y_test.tolist() == written.labels
    for img, rgb in zip(ds.x_test, written.rgb):  # stored BGR, loaded RGB
        assert np.abs(img - np.array(rgb, np.float32) / 255).max() <= JPEG_TOLERANCE
    with pytest.raises(TinyconvError, match="'vww' cannot be trained on: it is an evaluation-only"):
        ds.require_train()
    assert ds.calibration(4).shape == (4, 96, 96, 3)  # eval-only sets calibrate on test data
    small = load_dataset("vww", input_shape=(32, 32, 1), limit_test=4)
    assert small.x_test.shape == (4, 32, 32, 1) and np.bincount(small.y_test).tolist() == [2, 2]


@pytest.mark.parametrize("csv_text,message", [
    ("000000000001.bin,2,1\n000000000002.bin,2,2\n", r"y_labels.csv:2: label 2 is not 0 or 1"),
    ("000000000001.bin,2,1\n000000000002.bin;1\n",
     r"y_labels.csv:2: expected '<id>.bin,2,<0\|1>', got '000000000002.bin;1'"),
])
def test_vww_bad_label_rows_name_the_line(data_root, csv_text, message):
    fx.write_vww(data_root, n=2)
    (data_root / "vww01-test1000" / "y_labels.csv").write_text(csv_text)
    with pytest.raises(TinyconvError, match=message):
        resolve("vww")


def test_vww_missing_or_wrong_size_image_is_named(data_root):
    written = fx.write_vww(data_root, n=3)
    images = data_root / "vww01-test1000" / "images"
    (images / f"{written.ids[1]}.jpg").write_bytes(fx.jpeg(np.zeros((64, 80, 3), np.uint8)))
    with pytest.raises(TinyconvError, match=f"{images / written.ids[1]}.jpg is 80x64, expected 96x96"):
        load_dataset("vww")
    (images / f"{written.ids[1]}.jpg").unlink()
    with pytest.raises(TinyconvError, match=f"cannot read image {images / written.ids[1]}.jpg"):
        load_dataset("vww")


# ---- splits, resizing ---------------------------------------------------------------------------

def test_same_seed_same_data_other_seed_other_split():
    a = load_dataset("digits", seed=3, limit_train=400)
    b = load_dataset("digits", seed=3, limit_train=400)
    c = load_dataset("digits", seed=4, limit_train=400)
    for field in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.x_train, c.x_train)
    # digits has no official split: its test set is a fixed holdout, whatever the seed.
    np.testing.assert_array_equal(a.x_test, c.x_test)


def test_limits_nest_and_splits_are_disjoint():
    y = np.repeat(np.arange(10), 100)
    small = split_train(y, validation_fraction=0.2, limit=200, seed=7)
    large = split_train(y, validation_fraction=0.2, limit=400, seed=7)
    small_pool = np.concatenate([small.train, small.val])
    assert set(small_pool) <= set(np.concatenate([large.train, large.val]))
    assert not set(small.train) & set(small.val)
    assert np.bincount(y[small.val]).tolist() == [4] * 10
    assert np.bincount(y[small.train]).tolist() == [16] * 10
    # Every prefix of the stratified order is balanced, even with unequal classes.
    y2 = np.array([0] * 600 + [1] * 300 + [2] * 100)
    order = stratified_order(y2, np.random.default_rng(0))
    assert np.bincount(y2[order[:100]]).tolist() == [60, 30, 10]
    train, test = holdout(y2)
    assert len(test) == 200 and not set(train) & set(test) and len(train) + len(test) == 1000
    assert np.array_equal(subsample(y2, limit=None, seed=1), np.arange(1000))


def test_limited_loads_nest_and_are_deterministic(data_root):
    fx.write_idx_dataset(data_root, "fashion-mnist", n_train=200, n_test=50)
    small = load_dataset("fashion_mnist", limit_train=60, limit_test=20, seed=5)
    large = load_dataset("fashion_mnist", limit_train=120, limit_test=40, seed=5)
    again = load_dataset("fashion_mnist", limit_train=60, limit_test=20, seed=5)
    for field in ("x_train", "x_val", "x_test"):
        np.testing.assert_array_equal(getattr(small, field), getattr(again, field))
    assert np.bincount(small.y_test).tolist() == [2] * 10
    rows = lambda x: {img.tobytes() for img in x}  # noqa: E731
    assert rows(np.concatenate([small.x_train, small.x_val])) <= \
        rows(np.concatenate([large.x_train, large.x_val]))
    assert rows(small.x_test) <= rows(large.x_test)


def test_resize_and_channel_conversion(data_root, no_other_roots):
    fx.write_idx_dataset(data_root, "fashion-mnist", n_train=50, n_test=20)
    ds = load_dataset("fashion_mnist", input_shape=(32, 32, 3), limit_train=50, limit_test=20)
    assert ds.x_train.shape == (45, 32, 32, 3) and ds.input_shape == (32, 32, 3)
    np.testing.assert_array_equal(ds.x_train[..., 0], ds.x_train[..., 2])  # gray -> RGB
    native = load_dataset("fashion_mnist", limit_train=50, limit_test=20)
    np.testing.assert_array_equal(native.y_train, ds.y_train)  # same examples, resized
    np.testing.assert_allclose(ds.x_test[..., 1], resize_images(native.x_test, 32, 32)[..., 0],
                               atol=1e-6)
    # Resizing keeps the picture: mean brightness is preserved.
    assert ds.x_train.mean() == pytest.approx(native.x_train.mean(), rel=0.02)
    fx.write_cifar_batches(data_root, per_batch=4, n_test=10)
    gray = load_dataset("cifar10", input_shape=(16, 16, 1), limit_train=20, limit_test=10)
    rgb = load_dataset("cifar10", limit_train=20, limit_test=10)
    assert gray.x_test.shape == (10, 16, 16, 1)
    luma = rgb.x_test @ np.array([0.2989, 0.5870, 0.1140], np.float32)
    np.testing.assert_allclose(gray.x_test[..., 0], resize_images(luma[..., None], 16, 16)[..., 0],
                               atol=1e-5)


def test_resize_matches_tensorflow_bilinear():
    from tinyconv.keras_compat import tf

    x = np.random.default_rng(0).random((2, 28, 20, 3)).astype(np.float32)
    for size in ((56, 40), (96, 96), (14, 10), (9, 33)):
        ours = resize_images(x, *size)
        theirs = tf.image.resize(x, size, "bilinear", antialias=True).numpy()
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
        if size[0] >= 28 and size[1] >= 20:  # upscaling: plain bilinear is the same
            plain = tf.image.resize(x, size, "bilinear").numpy()
            np.testing.assert_allclose(ours, plain, atol=1e-5)
    assert np.allclose(interpolation_matrix(7, 3).sum(axis=1), 1.0)


def test_mfcc_pieces_are_the_textbook_ones():
    from scipy.fft import dct

    x = np.random.default_rng(1).random((5, 40))
    np.testing.assert_allclose(x @ dct_ii(40, 10), dct(x, type=2, norm="ortho")[:, :10], atol=1e-5)
    bank = mel_filterbank(40, 512, 8000, 20.0, 4000.0)
    assert bank.shape == (40, 257) and bank.max() <= 1.0
    peaks = bank.argmax(axis=1)
    assert np.all(np.diff(peaks) >= 0) and peaks[-1] > peaks[0]
    # The vectorised framing agrees with a frame-by-frame computation (frame k starts at k*hop).
    config = MfccConfig()
    clip = np.random.default_rng(2).uniform(-0.5, 0.5, (1, 8000)).astype(np.float32)
    features = mfcc(clip, config)
    assert features.shape == (1, 49, 10)
    for k in (0, 17, 48):
        frame = clip[0, k * 160:k * 160 + 320] * np.hanning(321)[:-1]
        power = np.abs(np.fft.rfft(frame, 512)) ** 2
        expected = np.log(config.mel_matrix @ power + 1e-6) @ config.dct_matrix
        np.testing.assert_allclose(features[0, k], expected, rtol=1e-3, atol=1e-3)


# ---- user data: image folders and .npz ----------------------------------------------------------

def test_image_folder_dataset(tmp_path):
    colors = {"blue": (0, 0, 255), "green": (0, 255, 0), "red": (255, 0, 0)}
    for name, color in colors.items():
        for k in range(10):
            fx.write_png(tmp_path / "shapes" / name / f"{k}.png", color)
    fx.write_png(tmp_path / "shapes" / "red" / "big.png", (255, 0, 0), size=(24, 20))  # resized
    (tmp_path / "shapes" / "red" / "notes.txt").write_text("not an image: ignored")
    ds = load_dataset(str(tmp_path / "shapes"), validation_fraction=0.0)
    assert ds.class_names == ("blue", "green", "red") and ds.input_shape == (10, 12, 3)
    assert len(ds.x_train) + len(ds.x_test) == 31 and len(ds.x_test) == 6  # 20 % holdout
    for x, y in ((ds.x_train, ds.y_train), (ds.x_test, ds.y_test)):
        channel = {0: 2, 1: 1, 2: 0}  # blue, green, red
        assert all(np.allclose(img[..., channel[int(label)]], 1.0) for img, label in zip(x, y))
    gray = load_dataset(str(tmp_path / "shapes"), input_shape=(8, 8, 1))
    assert gray.x_test.shape[1:] == (8, 8, 1)


def test_image_folder_with_train_and_test_and_gray_images(tmp_path):
    for split, n in (("train", 6), ("test", 2)):
        for label, value in (("dark", 10), ("light", 240)):
            for k in range(n):
                fx.write_png(tmp_path / split / label / f"{k}.png", value, mode="L")
    ds = load_dataset(str(tmp_path), validation_fraction=0.25)
    assert ds.input_shape == (10, 12, 1) and ds.class_names == ("dark", "light")
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (9, 3, 4)
    np.testing.assert_allclose(ds.x_test[..., 0].mean(axis=(1, 2)),
                               np.where(ds.y_test == 1, 240, 10) / 255, atol=1e-6)


def test_corrupt_image_and_empty_class_are_clear_errors(tmp_path):
    for label in ("a", "b"):
        for k in range(3):
            fx.write_png(tmp_path / "data" / label / f"{k}.png", (k * 50, 0, 0))
    (tmp_path / "data" / "b" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(TinyconvError, match="broken.png"):
        load_dataset(str(tmp_path / "data"))
    (tmp_path / "data" / "b" / "broken.png").unlink()
    (tmp_path / "data" / "c").mkdir()
    with pytest.raises(TinyconvError, match=r"data/c: class folder has no images"):
        load_dataset(str(tmp_path / "data"))


def test_npz_datasets(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (50, 6, 6), dtype=np.uint8)
    y = np.repeat(np.arange(5), 10)
    np.savez(tmp_path / "split.npz", x_train=x[:40], y_train=y[:40], x_test=x[40:],
             y_test=np.eye(5)[y[40:]], class_names=np.array(list("abcde")))
    ds = load_dataset(str(tmp_path / "split.npz"), validation_fraction=0.0)
    assert ds.input_shape == (6, 6, 1) and ds.class_names == tuple("abcde")
    assert ds.y_test.tolist() == y[40:].tolist()  # one-hot labels became indices
    np.testing.assert_allclose(ds.x_test[..., 0], x[40:] / 255.0)
    # x/y only: a fixed 20 % holdout, stratified, whatever the seed.
    np.savez(tmp_path / "xy.npz", x=x, y=y)
    a = load_dataset(str(tmp_path / "xy.npz"), seed=1)
    b = load_dataset(str(tmp_path / "xy.npz"), seed=2)
    assert np.bincount(a.y_test).tolist() == [2] * 5
    np.testing.assert_array_equal(a.x_test, b.x_test)
    np.savez(tmp_path / "bad.npz", images=x)
    with pytest.raises(TinyconvError, match="expected arrays x_train"):
        load_dataset(str(tmp_path / "bad.npz"))
    np.savez(tmp_path / "range.npz", x=x.astype(np.float32), y=y)
    with pytest.raises(TinyconvError, match=r"\[0, 1\]"):
        load_dataset(str(tmp_path / "range.npz"))
    (tmp_path / "broken.npz").write_bytes(b"PK\3\4 truncated")
    with pytest.raises(TinyconvError, match=f"cannot read {tmp_path / 'broken.npz'}"):
        load_dataset(str(tmp_path / "broken.npz"))


def test_bad_names_and_arguments_are_one_line_errors(tmp_path):
    with pytest.raises(TinyconvError, match="unknown dataset 'imagenet': use one of fashion_mnist, "
                                            "mnist, cifar10, vww, fsdd, digits"):
        load_dataset("imagenet")
    with pytest.raises(TinyconvError, match="does not exist"):
        load_dataset(str(tmp_path / "missing.npz"))
    with pytest.raises(TinyconvError, match="input_shape"):
        load_dataset("digits", input_shape=(8, 8, 4))
    with pytest.raises(TinyconvError, match="validation_fraction"):
        load_dataset("digits", validation_fraction=1.0)
    with pytest.raises(TinyconvError, match="limit_train"):
        load_dataset("digits", limit_train=0)
    # Aliases and case.
    assert [canonical_name(n) for n in ("Fashion-MNIST", "CIFAR-10", "vww01", "imagenet")] == \
        ["fashion_mnist", "cifar10", "vww", None]
    assert resolve("DIGITS").name == "digits"


# ---- augmentation and batches -------------------------------------------------------------------

def test_augmentation_is_deterministic_and_respects_the_policy():
    x = np.random.default_rng(0).random((64, 8, 8, 1)).astype(np.float32)
    flip_only = Augmentation(flip=True)
    a = augment_batch(x, np.random.default_rng(5), flip_only)
    b = augment_batch(x, np.random.default_rng(5), flip_only)
    np.testing.assert_array_equal(a, b)
    mirrored = np.array([np.array_equal(o, i[:, ::-1]) for o, i in zip(a, x)])
    same = np.array([np.array_equal(o, i) for o, i in zip(a, x)])
    assert np.all(mirrored | same) and 10 < mirrored.sum() < 54
    shifted = augment_batch(x, np.random.default_rng(1), Augmentation(shift_h=0.25, shift_w=0.25))
    assert shifted.shape == x.shape
    # Each output is the input moved by at most 2 px with zeros filling in.
    for out, img in zip(shifted, x):
        assert any(np.array_equal(out, np.pad(img, ((2, 2), (2, 2), (0, 0)))[dy:dy + 8, dx:dx + 8])
                   for dy in range(5) for dx in range(5))
    bright = augment_batch(x, np.random.default_rng(2), Augmentation(brightness=0.1))
    assert bright.min() >= 0.0 and bright.max() <= 1.0
    assert np.abs(bright - x).max() <= 0.1 + 1e-6
    # No policy, no change; digits are never mirrored; MFCC maps only move in time (rows).
    assert np.array_equal(augment_batch(x, np.random.default_rng(3), Augmentation()), x)
    speech = DATASETS["fsdd"].augmentation
    assert DATASETS["digits"].augmentation.flip is False
    assert speech.shift_h > 0 and (speech.shift_w, speech.brightness, speech.flip) == (0, 0, False)


def test_epoch_batches_and_tf_dataset_are_seeded_per_epoch():
    from tinyconv.data import as_tf_dataset

    ds = load_dataset("digits", limit_train=100)
    batches = list(epoch_batches(ds.x_train, ds.y_train, 32, epoch=0, seed=1, augment=True))
    assert [len(b[1]) for b in batches] == [32, 32, 26]
    tf_ds = as_tf_dataset(ds.x_train, ds.y_train, 32, augment=True, seed=1)
    assert int(tf_ds.cardinality()) == 3
    epoch0 = [(bx.numpy(), by.numpy()) for bx, by in tf_ds]
    epoch1 = [(bx.numpy(), by.numpy()) for bx, by in tf_ds]
    for (gx, gy), (tx, ty) in zip(batches, epoch0):  # tf.data yields exactly the numpy epoch
        np.testing.assert_array_equal(gx, tx)
        np.testing.assert_array_equal(gy, ty)
    assert not np.array_equal(epoch0[0][1], epoch1[0][1])  # next epoch: new order
    resumed = as_tf_dataset(ds.x_train, ds.y_train, 32, augment=True, seed=1, initial_epoch=1)
    np.testing.assert_array_equal(next(iter(resumed))[0].numpy(), epoch1[0][0])


@pytest.mark.parametrize("n, batch_size, sizes", [
    (101, 32, [32, 32, 32, 4]),   # an odd last batch leaves out one image
    (97, 32, [32, 32, 32]),       # a last batch of one image is left out
    (100, 33, [32, 32, 32, 4]),   # an odd batch size trains with one image fewer
    (1, 32, [1]),                 # nothing to pair it with: kept
])
def test_training_batches_are_even(n, batch_size, sizes):
    """oneDNN's strided 1x1 conv gradient corrupts the heap on odd batches (even_batching)."""
    from tinyconv.data import batches_per_epoch
    x, y = np.zeros((n, 4, 4, 1), np.float32), np.arange(n)
    batches = list(epoch_batches(x, y, batch_size, epoch=0, seed=0))
    assert [len(b) for _, b in batches] == sizes == [len(b) for b, _ in batches]
    assert batches_per_epoch(n, batch_size) == len(sizes)
    assert len(set(np.concatenate([b for _, b in batches]))) == sum(sizes)  # no image twice


def test_training_and_evaluation_pipelines_run_without_autotuning():
    """tf.data's autotuning thread held each `model.fit` epoch's end for up to a minute on an
    idle CPU (augment.prefetched): every pipeline training and evaluation use is built
    without it, and yields what it yielded before (same batches, in order)."""
    from tinyconv.data import as_tf_dataset
    from tinyconv.data.augment import eval_batches, graph_batches

    ds = load_dataset("digits", limit_train=100)
    pipelines = {
        "graph_batches": graph_batches(ds.x_train, ds.y_train, 32, num_classes=10, seed=1,
                                       epoch=0, augment=True, cutout=0.25),
        "as_tf_dataset": as_tf_dataset(ds.x_train, ds.y_train, 32, augment=True, seed=1),
        "eval_batches": eval_batches(ds.x_val, ds.y_val, 16),
    }
    for name, pipeline in pipelines.items():
        assert pipeline.options().autotune.enabled is False, name
    (gx, gy), = list(graph_batches(ds.x_train, ds.y_train, 100, num_classes=10, seed=1, epoch=0,
                                   shuffle=False))
    np.testing.assert_array_equal(gx.numpy(), ds.x_train)           # in order, untouched
    np.testing.assert_array_equal(np.argmax(gy.numpy(), -1), ds.y_train)
    ex = np.concatenate([bx.numpy() for bx, _ in pipelines["eval_batches"]])
    ey = np.concatenate([by.numpy() for _, by in pipelines["eval_batches"]])
    np.testing.assert_array_equal(ex, ds.x_val)
    np.testing.assert_array_equal(ey, ds.y_val)


# ---- the real offline copies (../shared/datasets, /usr/share/datasets, $TINYCONV_DATA) ---------

def _real(name: str):
    return pytest.param(name, marks=[] if name == "digits" else [pytest.mark.dataset(name)],
                        id=name)


@pytest.mark.parametrize("name", [_real(n) for n in ("fashion_mnist", "mnist", "cifar10", "fsdd",
                                                     "digits")])
def test_builtin_datasets_load_small_stratified_subsets(name):
    ds = load_dataset(name, **SMALL)
    _check(ds, name)
    assert ds.x_train.max() > 0.5  # real pictures, really scaled to [0, 1]
    assert len(ds.x_train) + len(ds.x_val) == 300 and len(ds.x_val) == 30
    assert len(ds.x_test) == 100
    # Stratified: each class in its proportion of the full split, to within one example
    # (MNIST's are unequal: 11.2 % ones, 9.0 % fives).
    source = resolve(name)
    for y_full, y_sub in ((source.y_train, np.concatenate([ds.y_train, ds.y_val])),
                          (source.y_test, ds.y_test)):
        expected = np.bincount(y_full, minlength=10) / len(y_full) * len(y_sub)
        assert np.abs(np.bincount(y_sub, minlength=10) - expected).max() <= 1.0


@pytest.mark.parametrize("name", [_real(n) for n in ("fashion_mnist", "mnist", "cifar10", "fsdd",
                                                     "digits", "vww")])
def test_registry_sizes_match_the_files(name):
    source = resolve(name)  # labels only: no pixels decoded
    info = DATASETS[name]
    assert (len(source.y_train), len(source.y_test)) == (info.train_size, info.test_size)
    assert source.class_names == info.class_names and source.native_shape == info.input_shape
    assert source.eval_only == info.eval_only


@pytest.mark.dataset("fashion_mnist")
def test_full_fashion_mnist_is_the_published_split():
    ds = load_dataset("fashion_mnist")
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (54000, 6000, 10000)
    assert np.bincount(ds.y_val).tolist() == [600] * 10  # validation split is stratified
    assert np.bincount(ds.y_test).tolist() == [1000] * 10
    assert ds.x_train.mean() == pytest.approx(0.286, abs=0.01)  # Fashion-MNIST's known mean


@pytest.mark.dataset("vww")
def test_real_vww_colours_are_natural_after_the_swap():
    from PIL import Image

    ds = load_dataset("vww")
    assert np.bincount(ds.y_test).tolist() == [500, 500]
    # Direct check: channel 0 of the loaded image is channel 2 of the stored JPEG.
    folder = locate.try_dataset_dir("vww01-test1000", "y_labels.csv")
    first_id = (folder / "y_labels.csv").read_text().split(",")[0][:-4]
    stored = np.asarray(Image.open(folder / "images" / f"{first_id}.jpg"))
    np.testing.assert_allclose(ds.x_test[0], stored[..., ::-1] / 255.0, atol=1e-6)
    # Why that direction is right: natural photos are redder than they are blue (ImageNet's
    # channel means are R 0.485 > G 0.456 > B 0.406). After the swap these 1000 photos have
    # mean R > G > B and ~78 % of them are redder than blue; as stored it was ~19 %.
    r, g, b = ds.x_test.mean(axis=(0, 1, 2))
    assert r > g > b
    per_image = ds.x_test.mean(axis=(1, 2))
    assert (per_image[:, 0] > per_image[:, 2]).mean() > 0.7


@pytest.mark.dataset("fsdd")
def test_real_fsdd_features_tell_spoken_digits_apart():
    ds = load_dataset("fsdd")
    _check(ds, "fsdd")
    assert (len(ds.x_train) + len(ds.x_val), len(ds.x_test)) == (2700, 300)
    assert np.bincount(ds.y_test).tolist() == [30] * 10
    # A nearest-class-mean classifier on raw features: ~80 % on the held-out speakers' takes
    # (chance 10 %); features that did not differ per digit would score ~10 %.
    flat = ds.x_train.reshape(len(ds.x_train), -1)
    means = np.stack([flat[ds.y_train == k].mean(axis=0) for k in range(10)])
    test = ds.x_test.reshape(len(ds.x_test), -1)
    predicted = ((test[:, None, :] - means[None]) ** 2).sum(axis=-1).argmin(axis=1)
    assert (predicted == ds.y_test).mean() > 0.6


@pytest.mark.dataset("cifar10/cifar10_calib500.npz")
def test_real_cifar10_calibration_npz_uses_the_xy_layout():
    calib = load_dataset(str(locate.try_dataset_dir("cifar10", "cifar10_calib500.npz")
                             / "cifar10_calib500.npz"))
    assert calib.input_shape == (32, 32, 3) and len(calib.x_test) == 100
    assert np.bincount(calib.y_test, minlength=10).min() >= 5


@pytest.mark.slow
@pytest.mark.dataset("cifar10")
def test_cifar10_full_load_is_cached(tmp_path, monkeypatch):
    """The whole CIFAR-10 copy: 60,000 JPEG decodes once (~20-30 s), then a cached load."""
    monkeypatch.setenv("TINYCONV_CACHE", str(tmp_path))
    start = time.perf_counter()
    first = load_dataset("cifar10")
    first_s = time.perf_counter() - start
    start = time.perf_counter()
    second = load_dataset("cifar10")
    second_s = time.perf_counter() - start
    print(f"cifar10 first load {first_s:.1f} s, second {second_s:.1f} s")
    assert (len(first.x_train), len(first.x_val), len(first.x_test)) == (45000, 5000, 10000)
    np.testing.assert_array_equal(first.x_test, second.x_test)
    assert second_s < first_s / 3
    # The limited loads decode from the zip directly: the same pixels as the cache holds.
    folder = locate.try_dataset_dir("cifar10", cifar.ZIP_NAME)
    with zipfile.ZipFile(folder / cifar.ZIP_NAME) as z:
        assert len([n for n in z.namelist() if n.endswith(".jpg")]) == 60000
    small = load_dataset("cifar10", limit_train=100, limit_test=50)
    monkeypatch.setenv("TINYCONV_CACHE", str(tmp_path / "empty"))
    direct = load_dataset("cifar10", limit_train=100, limit_test=50)
    np.testing.assert_array_equal(small.x_train, direct.x_train)
    np.testing.assert_array_equal(small.x_test, direct.x_test)


def test_every_cache_lives_under_one_root(tmp_path, monkeypatch):
    """files.cache_root: $TINYCONV_CACHE first, then $XDG_CACHE_HOME/tinyconv; the dataset
    cache and the host kernel libraries both under it."""
    from tinyconv.data.cache import cache_dir
    from tinyconv.files import cache_root

    monkeypatch.delenv("TINYCONV_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "tinyconv"
    monkeypatch.setenv("TINYCONV_CACHE", str(tmp_path / "tc"))
    assert cache_root() == tmp_path / "tc" and cache_dir() == tmp_path / "tc" / "datasets"
