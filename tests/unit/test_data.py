"""tinyconv.data on the real offline datasets (shared/datasets): shapes, ranges, determinism,
resizing, the VWW channel swap, FSDD features, user folders and .npz files, errors."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tinyconv.data import (DATASETS, Augmentation, augment_batch, epoch_batches, load_dataset,
                           resolve)
from tinyconv.data import locate
from tinyconv.data.audio import MfccConfig, dct_ii, mel_filterbank, mfcc
from tinyconv.data.image import interpolation_matrix, resize_images
from tinyconv.data.split import holdout, split_train, stratified_order, subsample
from tinyconv.errors import TinyconvError

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
# Small limits keep every load here to about a second (CIFAR-10 decodes only what it selects).
SMALL = dict(limit_train=300, limit_test=100)


def _check(ds, name):
    info = DATASETS[name]
    assert ds.name == name and ds.num_classes == info.num_classes == len(ds.class_names)
    assert ds.input_shape == info.input_shape
    for x, y in ((ds.x_train, ds.y_train), (ds.x_val, ds.y_val), (ds.x_test, ds.y_test)):
        assert x.dtype == np.float32 and y.dtype == np.int32
        assert x.shape == (len(y), *ds.input_shape)
        if len(x):
            assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.5  # really in [0, 1]
            assert 0 <= y.min() and y.max() < ds.num_classes


@pytest.mark.parametrize("name", ["fashion_mnist", "mnist", "cifar10", "fsdd", "digits"])
def test_builtin_datasets_load_small_stratified_subsets(name):
    ds = load_dataset(name, **SMALL)
    _check(ds, name)
    assert len(ds.x_train) + len(ds.x_val) == 300 and len(ds.x_val) == 30
    assert len(ds.x_test) == 100
    # Stratified: each class in its proportion of the full split, to within one example
    # (MNIST's are unequal: 11.2 % ones, 9.0 % fives).
    source = resolve(name)
    for y_full, y_sub in ((source.y_train, np.concatenate([ds.y_train, ds.y_val])),
                          (source.y_test, ds.y_test)):
        expected = np.bincount(y_full, minlength=10) / len(y_full) * len(y_sub)
        assert np.abs(np.bincount(y_sub, minlength=10) - expected).max() <= 1.0


@pytest.mark.parametrize("name", ["fashion_mnist", "mnist", "cifar10", "fsdd", "digits", "vww"])
def test_registry_sizes_match_the_files(name):
    source = resolve(name)  # labels only: no pixels decoded
    info = DATASETS[name]
    assert (len(source.y_train), len(source.y_test)) == (info.train_size, info.test_size)
    assert source.class_names == info.class_names and source.native_shape == info.input_shape
    assert source.eval_only == info.eval_only


def test_full_fashion_mnist_is_the_published_split():
    ds = load_dataset("fashion_mnist")
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (54000, 6000, 10000)
    assert np.bincount(ds.y_val).tolist() == [600] * 10  # validation split is stratified
    assert np.bincount(ds.y_test).tolist() == [1000] * 10
    assert ds.x_train.mean() == pytest.approx(0.286, abs=0.01)  # Fashion-MNIST's known mean


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


def test_resize_and_channel_conversion():
    ds = load_dataset("fashion_mnist", input_shape=(32, 32, 3), limit_train=50, limit_test=20)
    assert ds.x_train.shape == (45, 32, 32, 3) and ds.input_shape == (32, 32, 3)
    np.testing.assert_array_equal(ds.x_train[..., 0], ds.x_train[..., 2])  # gray -> RGB
    native = load_dataset("fashion_mnist", limit_train=50, limit_test=20)
    np.testing.assert_array_equal(native.y_train, ds.y_train)  # same examples, resized
    # Resizing keeps the picture: mean brightness is preserved.
    assert ds.x_train.mean() == pytest.approx(native.x_train.mean(), rel=0.02)
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


def test_vww_is_eval_only_and_channels_are_swapped_back():
    from PIL import Image

    ds = load_dataset("vww")
    _check(ds, "vww")
    assert ds.eval_only and len(ds.x_train) == 0 and len(ds.x_val) == 0
    assert np.bincount(ds.y_test).tolist() == [500, 500]
    with pytest.raises(TinyconvError, match="'vww' cannot be trained on"):
        ds.require_train()
    # Direct check: channel 0 of the loaded image is channel 2 of the stored JPEG.
    first_id = (SHARED / "vww01-test1000" / "y_labels.csv").read_text().split(",")[0][:-4]
    stored = np.asarray(Image.open(SHARED / "vww01-test1000" / "images" / f"{first_id}.jpg"))
    np.testing.assert_allclose(ds.x_test[0], stored[..., ::-1] / 255.0, atol=1e-6)
    # Why that direction is right: natural photos are redder than they are blue (ImageNet's
    # channel means are R 0.485 > G 0.456 > B 0.406). After the swap these 1000 photos have
    # mean R > G > B and ~78 % of them are redder than blue; as stored it was ~19 %.
    r, g, b = ds.x_test.mean(axis=(0, 1, 2))
    assert r > g > b
    per_image = ds.x_test.mean(axis=(1, 2))
    assert (per_image[:, 0] > per_image[:, 2]).mean() > 0.7
    assert ds.calibration(10).shape == (10, 96, 96, 3)  # eval-only sets calibrate on test data


def test_fsdd_features_tell_digits_apart():
    ds = load_dataset("fsdd")
    _check(ds, "fsdd")
    assert ds.x_train.shape[1:] == (49, 10, 1)
    assert (len(ds.x_train) + len(ds.x_val), len(ds.x_test)) == (2700, 300)
    assert np.bincount(ds.y_test).tolist() == [30] * 10
    # A nearest-class-mean classifier on raw features: ~80 % on the held-out speakers' takes
    # (chance 10 %); features that did not differ per digit would score ~10 %.
    flat = ds.x_train.reshape(len(ds.x_train), -1)
    means = np.stack([flat[ds.y_train == k].mean(axis=0) for k in range(10)])
    test = ds.x_test.reshape(len(ds.x_test), -1)
    predicted = ((test[:, None, :] - means[None]) ** 2).sum(axis=-1).argmin(axis=1)
    assert (predicted == ds.y_test).mean() > 0.6


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


def _png(path: Path, color, size=(12, 10), mode="RGB"):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path)


def test_image_folder_dataset(tmp_path):
    colors = {"blue": (0, 0, 255), "green": (0, 255, 0), "red": (255, 0, 0)}
    for name, color in colors.items():
        for k in range(10):
            _png(tmp_path / "shapes" / name / f"{k}.png", color)
    _png(tmp_path / "shapes" / "red" / "big.png", (255, 0, 0), size=(24, 20))  # resized
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
                _png(tmp_path / split / label / f"{k}.png", value, mode="L")
    ds = load_dataset(str(tmp_path), validation_fraction=0.25)
    assert ds.input_shape == (10, 12, 1) and ds.class_names == ("dark", "light")
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (9, 3, 4)
    assert np.all((ds.x_test.mean(axis=(1, 2, 3)) > 0.5) == (ds.y_test == 1))


def test_corrupt_image_and_empty_class_are_clear_errors(tmp_path):
    for label in ("a", "b"):
        for k in range(3):
            _png(tmp_path / "data" / label / f"{k}.png", (k * 50, 0, 0))
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
    # The lossless CIFAR-10 calibration file uses the x/y layout.
    calib = load_dataset(str(SHARED / "cifar10" / "cifar10_calib500.npz"))
    assert calib.input_shape == (32, 32, 3) and len(calib.x_test) == 100
    np.savez(tmp_path / "bad.npz", images=x)
    with pytest.raises(TinyconvError, match="expected arrays x_train"):
        load_dataset(str(tmp_path / "bad.npz"))
    np.savez(tmp_path / "range.npz", x=x.astype(np.float32), y=y)
    with pytest.raises(TinyconvError, match=r"\[0, 1\]"):
        load_dataset(str(tmp_path / "range.npz"))


def test_bad_names_and_arguments_are_one_line_errors(tmp_path, monkeypatch):
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
    assert resolve("Fashion-MNIST").name == "fashion_mnist"  # aliases and case
    # On a machine without the files: one line naming where it looked.
    monkeypatch.setattr(locate, "search_roots", lambda: [tmp_path])
    with pytest.raises(TinyconvError, match=f"dataset 'vww' not found \\(looked in {tmp_path}"):
        load_dataset("vww")


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
    # No policy, no change; digits are never mirrored.
    assert DATASETS["digits"].augmentation.flip is False and DATASETS["fsdd"].augmentation.enabled is False


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


@pytest.mark.slow
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
    with zipfile.ZipFile(SHARED / "cifar10" / "cifar10_jpg.zip") as z:
        assert len([n for n in z.namelist() if n.endswith(".jpg")]) == 60000
    small = load_dataset("cifar10", limit_train=100, limit_test=50)
    monkeypatch.setenv("TINYCONV_CACHE", str(tmp_path / "empty"))
    direct = load_dataset("cifar10", limit_train=100, limit_test=50)
    np.testing.assert_array_equal(small.x_train, direct.x_train)
    np.testing.assert_array_equal(small.x_test, direct.x_test)
