"""coursekit.data: the real data sets, synthetic IDX files, corruption, search order, download.

Network: only 127.0.0.1. An autouse fixture points the mirror list at a closed local
port, so no test can reach the internet; download tests serve synthetic files from a
local http.server. The real Fashion-MNIST tests use download=False and FAIL (not skip)
when no copy is installed (CI installs Debian's dataset-fashion-mnist).
"""

import csv
import gzip
import hashlib
import importlib.resources
import shutil
import urllib.request

import numpy as np
import pytest

from coursekit import data

TRAIN_IMAGES, TRAIN_LABELS = data.FASHION_MNIST_FILES["train"]
N_SYNTHETIC = 5  # images per synthetic split: enough for distinct rows, tiny files


# ------------------------------------------------------------------ synthetic IDX files


def idx_bytes(array, magic):
    """IDX encoding of a uint8 array: big-endian magic, one uint32 per dim, raw bytes."""
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + np.asarray(array, dtype=np.uint8).tobytes()


def synthetic_split(seed, n=N_SYNTHETIC):
    """Random uint8 images [n, 28, 28] and labels [n] in 0..9."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    return images, labels


def write_gz(path, content):
    """Gzip ``content`` into ``path``; return the md5 of the uncompressed content."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(content))
    return hashlib.md5(content).hexdigest()


def write_train_split(folder, images, labels):
    """Write the two train files into ``folder``; return {file name: md5 of content}."""
    return {
        TRAIN_IMAGES: write_gz(folder / TRAIN_IMAGES, idx_bytes(images, data.IDX_IMAGES_MAGIC)),
        TRAIN_LABELS: write_gz(folder / TRAIN_LABELS, idx_bytes(labels, data.IDX_LABELS_MAGIC)),
    }


def trust(monkeypatch, checksums):
    """Make the loader accept files with these md5s (the real table holds the official ones)."""
    for name, md5 in checksums.items():
        monkeypatch.setitem(data.FASHION_MNIST_MD5, name, md5)


def assert_loaded(X, y, images, labels):
    """(X, y) is exactly the synthetic split, scaled to [0, 1] as float32 / int64."""
    assert X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(X, images.astype(np.float32) / 255)
    np.testing.assert_array_equal(y, labels.astype(np.int64))


@pytest.fixture(autouse=True)
def no_internet(monkeypatch, closed_port_url):
    """No test may reach the real mirrors: the default mirror list is a closed local port."""
    monkeypatch.setattr(data, "FASHION_MNIST_MIRRORS", (closed_port_url,))


@pytest.fixture
def folders(isolate_data_folders):
    """Isolated search folders: $COURSEKIT_DATA, the user cache and the 'system' folder."""
    return isolate_data_folders("fashion-mnist", "FASHION_MNIST_SYSTEM_FOLDERS")


# ------------------------------------------------------------------ real Fashion-MNIST


@pytest.mark.parametrize("split, n_per_class", [("train", 6000), ("test", 1000)])
def test_real_fashion_mnist_has_balanced_classes(split, n_per_class):
    X, y = data.load_fashion_mnist(split, download=False)
    assert X.shape == (10 * n_per_class, 28, 28) and X.dtype == np.float32
    assert y.shape == (10 * n_per_class,) and y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y, minlength=10), np.full(10, n_per_class))


def test_real_fashion_mnist_pixels_are_bytes_over_255():
    X, _ = data.load_fashion_mnist("test", download=False)
    assert X.min() == 0.0 and X.max() == 1.0
    # independent reference: the raw bytes after the 16-byte IDX header of the same file
    test_images = data.FASHION_MNIST_FILES["test"][0]
    folder = next(f for f in data._fashion_mnist_folders() if (f / test_images).exists())
    raw = gzip.decompress((folder / test_images).read_bytes())
    pixels = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(-1, 28, 28)
    np.testing.assert_array_equal(X * 255, pixels.astype(np.float32))  # exact: k/255*255 == k


def test_real_fashion_mnist_first_labels_match_the_published_ones():
    _, y = data.load_fashion_mnist("train", download=False)
    # the first ten training labels as shown in Zalando's and Keras's tutorials
    np.testing.assert_array_equal(y[:10], [9, 0, 0, 3, 0, 2, 7, 2, 5, 5])


def test_fashion_mnist_classes_are_zalandos_ten_names_in_order():
    assert data.FASHION_MNIST_CLASSES == (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    )  # fmt: skip


# --------------------------------------------------------- synthetic files through root=


def test_synthetic_idx_files_load_through_root(tmp_path, monkeypatch):
    images, labels = synthetic_split(seed=0)
    trust(monkeypatch, write_train_split(tmp_path, images, labels))
    X, y = data.load_fashion_mnist("train", root=tmp_path)
    assert_loaded(X, y, images, labels)


def test_root_is_the_only_folder_searched(tmp_path, folders, monkeypatch):
    images, labels = synthetic_split(seed=0)
    trust(monkeypatch, write_train_split(folders["env"], images, labels))
    empty_root = tmp_path / "empty"
    empty_root.mkdir()
    with pytest.raises(FileNotFoundError, match=f"{empty_root}.*{TRAIN_IMAGES}"):
        data.load_fashion_mnist("train", root=empty_root)


def test_unknown_split_is_rejected():
    with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'val'"):
        data.load_fashion_mnist("val")


def test_replaced_file_is_read_again(tmp_path, monkeypatch):
    first, second = synthetic_split(seed=0), synthetic_split(seed=1)
    trust(monkeypatch, write_train_split(tmp_path, *first))
    data.load_fashion_mnist("train", root=tmp_path)
    trust(monkeypatch, write_train_split(tmp_path, *second))
    X, y = data.load_fashion_mnist("train", root=tmp_path)  # not the cached first copy
    assert_loaded(X, y, *second)


# ---------------------------------------------------------------------------- corruption


def test_wrong_md5_names_file_expected_and_found(tmp_path, monkeypatch):
    checksums = write_train_split(tmp_path, *synthetic_split(seed=0))
    trust(monkeypatch, {**checksums, TRAIN_IMAGES: "0" * 32})
    with pytest.raises(data.DataFileError) as error:
        data.load_fashion_mnist("train", root=tmp_path)
    message = str(error.value)
    assert str(tmp_path / TRAIN_IMAGES) in message
    assert f"is {checksums[TRAIN_IMAGES]}, expected {'0' * 32}" in message
    assert "Delete" in message and "reinstall" in message


def test_truncated_idx_content_reports_expected_and_found_sizes(tmp_path, monkeypatch):
    images, labels = synthetic_split(seed=0)
    trust(monkeypatch, write_train_split(tmp_path, images, labels))
    full = idx_bytes(images, data.IDX_IMAGES_MAGIC)
    write_gz(tmp_path / TRAIN_IMAGES, full[:-100])
    with pytest.raises(
        data.DataFileError, match=f"expected {len(full)} bytes, got {len(full) - 100}"
    ):
        data.load_fashion_mnist("train", root=tmp_path)


def test_truncated_gzip_stream_is_reported(tmp_path, monkeypatch):
    trust(monkeypatch, write_train_split(tmp_path, *synthetic_split(seed=0)))
    compressed = (tmp_path / TRAIN_IMAGES).read_bytes()
    (tmp_path / TRAIN_IMAGES).write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(data.DataFileError, match=f"{TRAIN_IMAGES} is truncated"):
        data.load_fashion_mnist("train", root=tmp_path)


def test_labels_file_in_place_of_images_fails_on_magic(tmp_path, monkeypatch):
    images, labels = synthetic_split(seed=0)
    trust(monkeypatch, write_train_split(tmp_path, images, labels))
    write_gz(tmp_path / TRAIN_IMAGES, idx_bytes(labels, data.IDX_LABELS_MAGIC))
    with pytest.raises(data.DataFileError, match="magic number 2049, expected 2051"):
        data.load_fashion_mnist("train", root=tmp_path)


def test_image_and_label_counts_must_match(tmp_path, monkeypatch):
    images, labels = synthetic_split(seed=0)
    trust(monkeypatch, write_train_split(tmp_path, images, labels[:-1]))
    with pytest.raises(data.DataFileError, match="5 images but .* 4 labels"):
        data.load_fashion_mnist("train", root=tmp_path)


# -------------------------------------------------------------------------- search order


def test_data_home_is_coursekit_data_when_set(tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path))
    assert data.data_home() == tmp_path


def test_data_home_defaults_to_the_xdg_user_cache(tmp_path, monkeypatch):
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert data.data_home() == tmp_path / "coursekit"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.data_home() == tmp_path / "home" / ".cache" / "coursekit"


@pytest.mark.parametrize(
    "winner, losers",
    [("env", ["cache", "system"]), ("cache", ["system"]), ("system", [])],
)
def test_search_order_env_then_cache_then_system(winner, losers, folders, monkeypatch):
    # every loser holds a different split; only the winner's md5s are trusted, so
    # loading from a loser would fail the checksum and the equality below
    for seed, loser in enumerate(losers, start=1):
        write_train_split(folders[loser], *synthetic_split(seed=seed))
    expected = synthetic_split(seed=0)
    trust(monkeypatch, write_train_split(folders[winner], *expected))
    X, y = data.load_fashion_mnist("train", download=False)
    assert_loaded(X, y, *expected)


def test_folder_missing_one_file_of_the_split_is_skipped(folders, monkeypatch):
    write_train_split(folders["env"], *synthetic_split(seed=1))
    (folders["env"] / TRAIN_LABELS).unlink()
    expected = synthetic_split(seed=0)
    trust(monkeypatch, write_train_split(folders["system"], *expected))
    X, y = data.load_fashion_mnist("train", download=False)
    assert_loaded(X, y, *expected)


# ------------------------------------------------------------------------------ download


def test_download_puts_verified_files_in_the_cache(folders, web_root, monkeypatch):
    served, url = web_root
    expected = synthetic_split(seed=0)
    trust(monkeypatch, write_train_split(served, *expected))
    monkeypatch.setattr(data, "FASHION_MNIST_MIRRORS", (url,))
    X, y = data.load_fashion_mnist("train")
    assert_loaded(X, y, *expected)
    # both files in $COURSEKIT_DATA/fashion-mnist, no temporary files left behind
    assert sorted(p.name for p in folders["env"].iterdir()) == sorted([TRAIN_IMAGES, TRAIN_LABELS])


@pytest.mark.parametrize("failure", ["404", "closed port"])
def test_download_falls_back_to_the_next_mirror(failure, folders, web_root, closed_port_url,
                                                 monkeypatch):
    served, url = web_root
    expected = synthetic_split(seed=0)
    trust(monkeypatch, write_train_split(served / "good", *expected))
    broken = url + "nothing-here/" if failure == "404" else closed_port_url
    monkeypatch.setattr(data, "FASHION_MNIST_MIRRORS", (broken, url + "good/"))
    X, y = data.load_fashion_mnist("train")
    assert_loaded(X, y, *expected)


def test_download_discards_a_corrupt_copy_and_tries_the_next_mirror(folders, web_root, monkeypatch):
    served, url = web_root
    write_train_split(served / "bad", *synthetic_split(seed=1))
    expected = synthetic_split(seed=0)
    trust(monkeypatch, write_train_split(served / "good", *expected))
    monkeypatch.setattr(data, "FASHION_MNIST_MIRRORS", (url + "bad/", url + "good/"))
    X, y = data.load_fashion_mnist("train")
    assert_loaded(X, y, *expected)
    assert len(list(folders["env"].iterdir())) == 2  # the bad tries left nothing behind


def test_interrupted_download_leaves_nothing_and_tries_the_next_mirror(
    folders, web_root, monkeypatch
):
    served, url = web_root
    expected = synthetic_split(seed=0)
    trust(monkeypatch, write_train_split(served / "good", *expected))
    monkeypatch.setattr(data, "FASHION_MNIST_MIRRORS", (url + "cut/good/", url + "good/"))
    X, y = data.load_fashion_mnist("train")
    assert_loaded(X, y, *expected)
    assert len(list(folders["env"].iterdir())) == 2  # no half-written file left behind


def test_offline_without_a_copy_lists_every_option(folders):
    # no copy anywhere; the autouse fixture's mirror is a closed port
    with pytest.raises(FileNotFoundError) as error:
        data.load_fashion_mnist("train")
    message = str(error.value)
    for option in ("root=", "COURSEKIT_DATA", "apt-get install -y dataset-fashion-mnist",
                   "download=True", "downloading failed"):  # fmt: skip
        assert option in message
    for folder in folders.values():
        assert str(folder) in message
    assert not any(folders["env"].iterdir())  # the failed tries left nothing behind


def test_download_false_fails_without_touching_the_network(folders, monkeypatch):
    calls = []
    monkeypatch.setattr(urllib.request, "urlopen", lambda *args, **kw: calls.append(args))
    with pytest.raises(FileNotFoundError) as error:
        data.load_fashion_mnist("train", download=False)
    message = str(error.value)
    for option in ("download=False", "root=", "COURSEKIT_DATA", "apt-get install -y"):
        assert option in message
    assert calls == []


# --------------------------------------------------------------------------- house votes

HOUSE_VOTES_RAW = importlib.resources.files("coursekit") / "datasets" / "house-votes-84.data"


def test_house_votes_shape_and_dtype():
    X, y, feature_names = data.load_house_votes()
    assert X.shape == (435, 16) and X.dtype == np.float32
    assert y.shape == (435,) and len(feature_names) == 16


def test_house_votes_has_267_democrats_and_168_republicans():
    _, y, _ = data.load_house_votes()
    parties, counts = np.unique(y, return_counts=True)
    assert dict(zip(parties.tolist(), counts.tolist())) == {"democrat": 267, "republican": 168}


def test_house_votes_values_are_no_missing_yes():
    X, _, _ = data.load_house_votes()
    assert set(np.unique(X).tolist()) == {0.0, 0.5, 1.0}


def test_house_votes_feature_names_follow_the_uci_column_order():
    _, _, feature_names = data.load_house_votes()
    assert feature_names == [
        "handicapped-infants", "water-project-cost-sharing",
        "adoption-of-the-budget-resolution", "physician-fee-freeze", "el-salvador-aid",
        "religious-groups-in-schools", "anti-satellite-test-ban", "aid-to-nicaraguan-contras",
        "mx-missile", "immigration", "synfuels-corporation-cutback", "education-spending",
        "superfund-right-to-sue", "crime", "duty-free-exports",
        "export-administration-act-south-africa",
    ]  # fmt: skip


def test_house_votes_third_row_matches_the_raw_line():
    X, y, _ = data.load_house_votes()
    # line 3 of the file: democrat,?,y,y,?,y,y,n,n,n,n,y,n,y,y,n,n
    assert y[2] == "democrat"
    np.testing.assert_array_equal(X[2], [0.5, 1, 1, 0.5, 1, 1, 0, 0, 0, 0, 1, 0, 1, 1, 0, 0])


def test_house_votes_match_an_independent_csv_parse():
    X, y, _ = data.load_house_votes()
    rows = list(csv.reader(HOUSE_VOTES_RAW.read_text().splitlines()))
    np.testing.assert_array_equal(y, [row[0] for row in rows])
    votes = np.array([row[1:] for row in rows])
    np.testing.assert_array_equal(X, (votes == "y") + 0.5 * (votes == "?"))


def test_house_votes_load_from_root_and_ignore_download_false(tmp_path):
    shutil.copyfile(HOUSE_VOTES_RAW, tmp_path / "house-votes-84.data")
    X, y, _ = data.load_house_votes(root=tmp_path, download=False)
    X_packaged, y_packaged, _ = data.load_house_votes()
    np.testing.assert_array_equal(X, X_packaged)
    np.testing.assert_array_equal(y, y_packaged)


def test_house_votes_modified_copy_fails_md5(tmp_path):
    edited = HOUSE_VOTES_RAW.read_bytes().replace(b"republican,n,y", b"republican,y,y", 1)
    (tmp_path / "house-votes-84.data").write_bytes(edited)
    found = hashlib.md5(edited).hexdigest()
    with pytest.raises(data.DataFileError, match=f"house-votes-84.data: md5 is {found}, "
                       f"expected {data.HOUSE_VOTES_MD5}"):  # fmt: skip
        data.load_house_votes(root=tmp_path)


def test_house_votes_bad_vote_names_the_line(tmp_path):
    lines = HOUSE_VOTES_RAW.read_text().splitlines()
    lines[9] = "democrat," + ",".join(["x"] + ["y"] * 15)
    (tmp_path / "house-votes-84.data").write_text("\n".join(lines) + "\n")
    with pytest.raises(data.DataFileError, match="line 10: votes must be y, n or \\?"):
        data.load_house_votes(root=tmp_path)


def test_house_votes_root_without_the_file_is_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "house-votes-84.data")):
        data.load_house_votes(root=tmp_path)
