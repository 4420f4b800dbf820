"""The course's data sets: Fashion-MNIST and the 1984 U.S. House votes.

Every file is checked before use (IDX structure, then the md5 of its content), so a
truncated download or a wrong file fails loudly, naming the file and the fix, instead
of turning into a strange array three cells later.

Fashion-MNIST (Zalando Research, MIT licence) is looked for in this order; the first
folder that holds both files of the requested split wins:

1. ``root``, when given (and then nowhere else);
2. ``$COURSEKIT_DATA/fashion-mnist``;
3. the user cache, ``$XDG_CACHE_HOME/coursekit/fashion-mnist`` (``~/.cache/...`` by default);
4. ``/usr/share/datasets/fashion-mnist``, filled by Debian's package
   (``apt-get install -y dataset-fashion-mnist``);
5. otherwise the files are downloaded into ``data_home() / "fashion-mnist"``
   (unless ``download=False``).

The house-votes file (UCI, CC BY 4.0) is small and ships inside the package, in
``coursekit/datasets/``, so it always loads offline.
"""

import functools
import gzip
import hashlib
import http.client
import importlib.resources
import math
import os
import tempfile
import urllib.request
import zlib
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

DATA_ENV = "COURSEKIT_DATA"

FASHION_MNIST_FOLDER = "fashion-mnist"  # subfolder of data_home() and of $COURSEKIT_DATA

# Folders that system packages fill; searched after $COURSEKIT_DATA and the user cache.
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")  # dataset-fashion-mnist
FASHION_MNIST_SYSTEM_FOLDERS = (DEBIAN_FASHION_MNIST,)

# Official mirrors, tried in order; each is a base URL that the file name is appended to.
FASHION_MNIST_MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
)

FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

# md5 of the DECOMPRESSED files: it holds for the official .gz files and for Debian's
# recompressed copies alike (their .gz bytes differ, their content does not).
FASHION_MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte.gz": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte.gz": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte.gz": "15d484375f8d13e6eb1aabb0c3f46965",
}

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

# IDX magic numbers: two zero bytes, 0x08 (unsigned byte data), then the number of dims.
IDX_IMAGES_MAGIC = 0x0803  # 2051: images [N, rows, cols]
IDX_LABELS_MAGIC = 0x0801  # 2049: labels [N]
IMAGE_SIDE = 28

DOWNLOAD_TIMEOUT_S = 30
DOWNLOAD_CHUNK_BYTES = 1 << 20

HOUSE_VOTES_FILE = "house-votes-84.data"
HOUSE_VOTES_MD5 = "47c6454509be4a77d8ee466bc9684872"
HOUSE_VOTES_PARTIES = ("democrat", "republican")
HOUSE_VOTES_FEATURES = (
    "handicapped-infants",
    "water-project-cost-sharing",
    "adoption-of-the-budget-resolution",
    "physician-fee-freeze",
    "el-salvador-aid",
    "religious-groups-in-schools",
    "anti-satellite-test-ban",
    "aid-to-nicaraguan-contras",
    "mx-missile",
    "immigration",
    "synfuels-corporation-cutback",
    "education-spending",
    "superfund-right-to-sue",
    "crime",
    "duty-free-exports",
    "export-administration-act-south-africa",
)
# A missing vote ("?") sits halfway between no and yes.
VOTE_VALUES = {"y": 1.0, "n": 0.0, "?": 0.5}


class DataFileError(ValueError):
    """A data file exists but is not what it should be (truncated, corrupt, wrong format)."""


# ---------------------------------------------------------------------------- folders


def data_home():
    """The folder where coursekit keeps downloaded data, as a ``pathlib.Path``.

    ``$COURSEKIT_DATA`` when set, else the user cache ``$XDG_CACHE_HOME/coursekit``
    (``~/.cache/coursekit`` when ``XDG_CACHE_HOME`` is unset). Not created here; a
    download creates it.
    """
    override = os.environ.get(DATA_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    return _user_cache()


def _user_cache():
    """``$XDG_CACHE_HOME/coursekit``; the XDG spec says to ignore a relative value."""
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "coursekit"


def _fashion_mnist_folders():
    """The folders searched for Fashion-MNIST when no ``root`` is given, in order."""
    folders = [data_home() / FASHION_MNIST_FOLDER, _user_cache() / FASHION_MNIST_FOLDER]
    folders.extend(Path(folder) for folder in FASHION_MNIST_SYSTEM_FOLDERS)
    return list(dict.fromkeys(folders))  # without $COURSEKIT_DATA the first two coincide


# ------------------------------------------------------------------------ IDX files


def _repair_hint(path):
    """How to get rid of a bad copy of ``path``: delete it, or reinstall Debian's."""
    return (
        f"Delete {path} and load again (without root=, a fresh copy is then found elsewhere "
        "or downloaded); "
        "if it is Debian's copy, run: apt-get install --reinstall -y dataset-fashion-mnist"
    )


def _decompress(path):
    """The decompressed bytes of the gzip file ``path``."""
    try:
        return gzip.decompress(Path(path).read_bytes())
    except EOFError as error:  # the stream stops before its end marker
        raise DataFileError(f"{path} is truncated (gzip stream ends early: {error})") from None
    except (gzip.BadGzipFile, zlib.error) as error:
        raise DataFileError(f"{path} is not a valid gzip file ({error})") from None


def _parse_idx(content, path, magic):
    """Decode IDX bytes: a big-endian header (magic, then one uint32 per dim), then uint8 data.

    Returns a read-only uint8 array; ``[N, rows, cols]`` for images, ``[N]`` for labels.
    """
    n_dims = magic & 0xFF
    header_bytes = 4 * (1 + n_dims)
    found_magic = int.from_bytes(content[:4], "big")
    if len(content) >= 4 and found_magic != magic:
        kind = "images" if magic == IDX_IMAGES_MAGIC else "labels"
        raise DataFileError(
            f"{path} has IDX magic number {found_magic}, expected {magic} ({kind}): "
            "a wrong or corrupt file"
        )
    if len(content) < header_bytes:
        raise DataFileError(
            f"{path} is truncated: expected at least {header_bytes} bytes of IDX header, "
            f"got {len(content)}"
        )
    shape = tuple(
        int.from_bytes(content[4 * (1 + dim) : 4 * (2 + dim)], "big") for dim in range(n_dims)
    )
    expected_bytes = header_bytes + math.prod(shape)
    if len(content) != expected_bytes:
        problem = "is truncated" if len(content) < expected_bytes else "has trailing bytes"
        raise DataFileError(
            f"{path} {problem}: its header announces shape {shape}, so expected "
            f"{expected_bytes} bytes, got {len(content)}"
        )
    return np.frombuffer(content, dtype=np.uint8, offset=header_bytes).reshape(shape)


def _check_md5(content, source, expected):
    """Raise ``DataFileError`` unless the md5 of ``content`` (read from ``source``) is ``expected``."""
    found = hashlib.md5(content).hexdigest()
    if found != expected:
        raise DataFileError(
            f"{source}: md5 of the decompressed content is {found}, expected {expected}; "
            "the file is corrupt or not the official one"
        )


@functools.lru_cache(maxsize=4)
def _read_idx_cached(path, magic, expected_md5, file_identity):
    """Read and verify one IDX file; cached per process.

    ``file_identity`` (inode, size, mtime) is only part of the cache key, so a replaced
    file is read again; the cached arrays are read-only, callers copy them.
    """
    try:
        content = _decompress(path)
        array = _parse_idx(content, path, magic)
        _check_md5(content, path, expected_md5)
    except DataFileError as error:
        raise DataFileError(f"{error}. {_repair_hint(path)}") from None
    return array


def _read_idx(path, magic):
    """The verified uint8 array stored in the IDX ``.gz`` file ``path`` (see ``_parse_idx``)."""
    stat = path.stat()
    identity = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    return _read_idx_cached(path.resolve(), magic, FASHION_MNIST_MD5[path.name], identity)


def _check_images_and_labels(images, labels, images_path, labels_path):
    """Raise ``DataFileError`` unless the pair is N 28x28 images with N labels in 0..9."""
    if images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DataFileError(
            f"{images_path} holds images of shape {images.shape[1:]}, expected "
            f"({IMAGE_SIDE}, {IMAGE_SIDE}). {_repair_hint(images_path)}"
        )
    if len(images) != len(labels):
        raise DataFileError(
            f"{images_path} holds {len(images)} images but {labels_path} holds "
            f"{len(labels)} labels; they must match. Delete both and load again."
        )
    if labels.size and labels.max() >= len(FASHION_MNIST_CLASSES):
        raise DataFileError(
            f"{labels_path} holds label {labels.max()}, expected 0..9. {_repair_hint(labels_path)}"
        )


# ------------------------------------------------------------------------- download


def _download(url, destination):
    """Stream ``url`` into the file ``destination``, with a tqdm progress bar."""
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        with (
            open(destination, "wb") as file,
            tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=url.rsplit("/", 1)[-1],
            ) as bar,
        ):
            while chunk := response.read(DOWNLOAD_CHUNK_BYTES):
                file.write(chunk)
                bar.update(len(chunk))
    # http.client returns b"" rather than raising when the server hangs up early
    if total is not None and bar.n != total:
        raise ConnectionError(f"the connection closed after {bar.n} of {total} bytes")


def _fetch(name, folder):
    """Download ``name`` into ``folder`` from the first mirror that serves a verified copy.

    Each try writes a temporary file next to the target and renames it into place only
    after its md5 checks out (``os.replace`` is atomic), so an interrupted or corrupt
    download never sits in the cache. Raises ``ConnectionError`` listing every failure.
    """
    folder.mkdir(parents=True, exist_ok=True)
    failures = []
    for mirror in FASHION_MNIST_MIRRORS:
        url = mirror.rstrip("/") + "/" + name
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
        os.close(handle)
        temporary = Path(temporary)
        try:
            _download(url, temporary)
            _check_md5(_decompress(temporary), url, FASHION_MNIST_MD5[name])
            os.replace(temporary, folder / name)
            return folder / name
        except (OSError, http.client.HTTPException, DataFileError) as error:
            # URLError, HTTPError (404) and timeouts are OSErrors: try the next mirror
            failures.append(f"{url}: {error}")
        finally:
            temporary.unlink(missing_ok=True)
    raise ConnectionError("could not download " + name + ":\n    " + "\n    ".join(failures))


# --------------------------------------------------------------------- Fashion-MNIST


def _not_found_error(split, folders, reason):
    """The ``FileNotFoundError`` for no local copy: what was searched and every way out."""
    searched = "".join(f"\n  {folder}" for folder in folders)
    return FileNotFoundError(
        f"Fashion-MNIST {split} files {', '.join(FASHION_MNIST_FILES[split])} were not found "
        f"in any of the folders searched:{searched}\n"
        f"and {reason}.\nOptions:\n"
        "  - pass root=<folder holding the four .gz files under their official names>;\n"
        f"  - set {DATA_ENV}=<folder> and put the files in <folder>/{FASHION_MNIST_FOLDER}/;\n"
        "  - on Debian or Ubuntu: apt-get install -y dataset-fashion-mnist "
        f"(fills {DEBIAN_FASHION_MNIST});\n"
        "  - allow the download (download=True) on a machine with internet access."
    )


def _files_in_root(split, root):
    """``root`` as a Path, if it holds both files of ``split``; raise otherwise."""
    root = Path(root).expanduser()
    missing = [name for name in FASHION_MNIST_FILES[split] if not (root / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{root} does not hold {', '.join(missing)}. When root= is given it is the only "
            "folder searched: put the four Fashion-MNIST .gz files there under their official "
            f"names, or leave root out to search {DATA_ENV}, the user cache and "
            f"{', '.join(str(f) for f in FASHION_MNIST_SYSTEM_FOLDERS)}, and download if needed."
        )
    return root


def _locate_fashion_mnist(split, download):
    """The first searched folder holding both files of ``split``, downloading if needed."""
    names = FASHION_MNIST_FILES[split]
    folders = _fashion_mnist_folders()
    for folder in folders:
        if all((folder / name).is_file() for name in names):
            return folder
    if not download:
        raise _not_found_error(split, folders, "download=False, so nothing was downloaded")
    target = data_home() / FASHION_MNIST_FOLDER
    try:
        for name in names:
            if not (target / name).is_file():
                _fetch(name, target)
    except ConnectionError as error:
        raise _not_found_error(split, folders, f"downloading failed: {error}") from error
    return target


def load_fashion_mnist(split="train", *, root=None, download=True):
    """Fashion-MNIST images and labels: ``(X, y)``.

    ``X`` is float32 ``[N, 28, 28]`` with pixel intensities in [0, 1] (the stored bytes
    divided by 255), ``y`` int64 ``[N]`` with the class index into
    ``FASHION_MNIST_CLASSES``; N = 60000 for ``split="train"``, 10000 for ``"test"``.

    ``root`` is a folder holding the four ``.gz`` files under their official names;
    given, it is the only place looked at. Otherwise see the module docstring for the
    search order; ``download=False`` never touches the network. Every file is verified
    (IDX header, size, md5 of the decompressed content) before use.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if root is not None:
        folder = _files_in_root(split, root)
    else:
        folder = _locate_fashion_mnist(split, download)
    images_path, labels_path = (folder / name for name in FASHION_MNIST_FILES[split])
    images = _read_idx(images_path, IDX_IMAGES_MAGIC)
    labels = _read_idx(labels_path, IDX_LABELS_MAGIC)
    _check_images_and_labels(images, labels, images_path, labels_path)
    X = images.astype(np.float32)
    X /= 255
    return X, labels.astype(np.int64)


# ------------------------------------------------------------------------ house votes


def _house_votes_source(root):
    """The path (``root`` given) or package resource holding ``house-votes-84.data``."""
    if root is None:
        return importlib.resources.files("coursekit") / "datasets" / HOUSE_VOTES_FILE
    path = Path(root).expanduser() / HOUSE_VOTES_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist: put the UCI file {HOUSE_VOTES_FILE} in {root}, "
            "or leave root out to use the copy shipped with coursekit"
        )
    return path


def _parse_house_votes(text, source):
    """Votes ``[n, 16]`` (y=1, n=0, ?=0.5) and parties ``[n]`` from the comma-separated text."""
    rows, parties = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        party, *votes = line.strip().split(",")
        if party not in HOUSE_VOTES_PARTIES or len(votes) != len(HOUSE_VOTES_FEATURES):
            raise DataFileError(
                f"{source}, line {number}: expected a party (democrat/republican) and "
                f"{len(HOUSE_VOTES_FEATURES)} votes, got {line!r}"
            )
        if not set(votes) <= VOTE_VALUES.keys():
            raise DataFileError(f"{source}, line {number}: votes must be y, n or ?, got {line!r}")
        rows.append([VOTE_VALUES[vote] for vote in votes])
        parties.append(party)
    return np.array(rows, dtype=np.float32), np.array(parties)


def load_house_votes(*, root=None, download=True):
    """The 1984 U.S. House votes (UCI "Congressional Voting Records"): ``(X, y, feature_names)``.

    ``X`` is float32 ``[435, 16]`` with yes = 1, no = 0 and missing (``?``) = 0.5;
    ``y`` a string array ``[435]`` of ``"democrat"`` / ``"republican"`` (267 / 168);
    ``feature_names`` the 16 bills voted on, in column order.

    The file ships with the package (``coursekit/datasets/``, CC BY 4.0), so it loads
    offline; ``root``, a folder holding ``house-votes-84.data``, overrides it. Either
    copy is verified by md5. ``download`` is accepted only so that every loader has the
    same signature: nothing is ever downloaded.
    """
    source = _house_votes_source(root)
    raw = source.read_bytes()
    X, y = _parse_house_votes(raw.decode("ascii", errors="replace"), source)
    found = hashlib.md5(raw).hexdigest()
    if found != HOUSE_VOTES_MD5:
        fix = "reinstall coursekit" if root is None else "replace it with the original UCI file"
        raise DataFileError(
            f"{source}: md5 is {found}, expected {HOUSE_VOTES_MD5}; the file is not the "
            f"UCI original: {fix} (https://doi.org/10.24432/C5C01P)"
        )
    return X, y, list(HOUSE_VOTES_FEATURES)
