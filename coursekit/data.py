"""The course's data sets: Fashion-MNIST, the 1984 U.S. House votes, Jane Austen's novels.

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

Jane Austen's six novels (the corpus of the word2vec appendix) come from the R package
janeaustenr and are searched in the same order: ``root``; ``$COURSEKIT_DATA/janeaustenr``;
the user cache; Debian's ``r-cran-janeaustenr`` (``/usr/lib/R/site-library/janeaustenr/data``)
and R's ``/usr/local`` library; then CRAN's source tarball is downloaded (unless
``download=False``). A small reader of R's serialization format extracts the texts, which are
verified by sha256.
"""

import bz2
import functools
import gzip
import hashlib
import http.client
import importlib.resources
import lzma
import math
import os
import struct
import tarfile
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


# ------------------------------------------------------------------------ Jane Austen
#
# The six novels come from the R package janeaustenr (Julia Silge, MIT licence; the texts are
# Project Gutenberg's, in the public domain). R keeps each novel as a character vector, one
# element per printed line, written in R's serialization format (XDR, big-endian). Two
# containers hold that format:
#
# * an installed package (Debian's r-cran-janeaustenr) has a lazy-load database in its data
#   folder: ``Rdata.rdx`` (a gzip file: the serialized index, name -> (offset, length)) and
#   ``Rdata.rdb`` (at each offset: a 4-byte length, then a zlib stream of one object);
# * CRAN's source tarball has one ``data/<name>.rda`` per novel (``save()`` format: a gzip,
#   bzip2 or xz file holding ``RDX2\n`` or ``RDX3\n`` and a serialized pairlist name -> value).
#
# The small reader below understands the part of the format these files use: character,
# integer, logical and generic vectors, pairlists, symbols and references to symbols.

# R object name -> title (the titles of janeaustenr's austen_books()), in publication order.
AUSTEN_NOVELS = {
    "sensesensibility": "Sense & Sensibility",
    "prideprejudice": "Pride & Prejudice",
    "mansfieldpark": "Mansfield Park",
    "emma": "Emma",
    "northangerabbey": "Northanger Abbey",
    "persuasion": "Persuasion",
}

# sha256 of each novel's text: its lines joined by "\n", UTF-8. Computed independently of
# this reader, in R: writeBin(charToRaw(paste(emma, collapse = "\n")), con) then sha256sum.
AUSTEN_SHA256 = {
    "sensesensibility": "0996d90842bbe8093f3b8142c1e77d1b20cff52d1d0615f3ed67733653e74e26",
    "prideprejudice": "2e44edaa4946d64ad541c68e0224f5d672f43bf3ce2a8a0b0637ad5e02fc6eb3",
    "mansfieldpark": "e0e9ef3863ea77f51f6070062ee0dd50ad9b933223880617629e4e4963ea40ff",
    "emma": "dd08b340a56ad4a0a00718d5682528a5a5886ae0aef91c9e0fa528074fa64b75",
    "northangerabbey": "8618a5acf5be50cc6e9b7680c7469fb6012649ab08c709dfc63c6367989fd31d",
    "persuasion": "726513a6c18bb678427bcbcf7c72d0d20816a67c25b0471b26ddcabf3ebac140",
}

AUSTEN_FOLDER = "janeaustenr"  # subfolder of data_home() and of $COURSEKIT_DATA
AUSTEN_LAZY_LOAD = ("Rdata.rdb", "Rdata.rdx")  # an installed R package's data folder
AUSTEN_TARBALL = "janeaustenr_1.0.0.tar.gz"  # CRAN's source package
# Folders where R packages are installed: Debian's r-cran-janeaustenr, then install.packages().
AUSTEN_SYSTEM_FOLDERS = (
    Path("/usr/lib/R/site-library/janeaustenr/data"),
    Path("/usr/local/lib/R/site-library/janeaustenr/data"),
)
# CRAN keeps the current release in src/contrib and every release in its Archive.
AUSTEN_MIRRORS = (
    "https://cloud.r-project.org/src/contrib/",
    "https://cloud.r-project.org/src/contrib/Archive/janeaustenr/",
)

# R's SEXP type codes (R Internals, "Serialization formats").
R_SYMBOL, R_PAIRLIST, R_CHAR, R_LOGICAL, R_INTEGER, R_STRING, R_LIST = 1, 2, 9, 10, 13, 16, 19
R_NULL, R_REFERENCE = 254, 255
R_LATIN1_FLAG = 1 << 2  # in the "levels" bits of a CHARSXP: the bytes are Latin-1


class _RReader:
    """Reads one object in R's XDR serialization format from ``content`` (bytes).

    Character vectors become lists of ``str`` (``None`` for ``NA``), integer and logical
    vectors lists of ``int``, generic vectors lists, or dicts when they have names; a
    pairlist becomes a list of ``(tag, value)`` pairs; other attributes are dropped.
    ``source`` names the file in errors.
    """

    def __init__(self, content, source):
        self.content, self.source, self.position, self.symbols = content, source, 0, []

    def fail(self, problem):
        raise DataFileError(f"{self.source}: {problem} at byte {self.position}")

    def integers(self, count):
        end = self.position + 4 * count
        if count < 0 or end > len(self.content):
            self.fail(f"truncated R data (wanted {count} integers)")
        values = struct.unpack_from(f">{count}i", self.content, self.position)
        self.position = end
        return values

    def read(self):
        """The header (``X\\n``, format version 2 or 3), then one object."""
        if self.content[:2] != b"X\n":
            self.fail("not R data in XDR format (it must start with 'X\\n')")
        self.position = 2
        version, _writer, _reader = self.integers(3)
        if version not in (2, 3):
            self.fail(f"R serialization format version {version}, expected 2 or 3")
        if version == 3:  # the writer's native encoding, as a length-prefixed string
            (length,) = self.integers(1)
            self.position += length
        return self.item()

    def item(self):
        (flags,) = self.integers(1)
        kind, has_attributes, has_tag = flags & 0xFF, flags & (1 << 9), flags & (1 << 10)
        if kind == R_NULL:
            return None
        if kind == R_REFERENCE:  # a symbol seen before, by its 1-based index
            index = (flags >> 8) or self.integers(1)[0]
            return self.symbols[index - 1]
        if kind == R_SYMBOL:
            name = self.item()
            self.symbols.append(name)
            return name
        if kind == R_PAIRLIST:  # attributes and tag come first, then CAR, then CDR
            if has_attributes:
                self.item()
            tag = self.item() if has_tag else None
            value = self.item()
            return [(tag, value)] + (self.item() or [])
        if kind == R_CHAR:
            return self.string(flags)
        if kind not in (R_LOGICAL, R_INTEGER, R_STRING, R_LIST):
            self.fail(f"unsupported R object type {kind}")
        (length,) = self.integers(1)
        if kind == R_STRING or kind == R_LIST:
            values = [self.item() for _ in range(length)]
        else:
            values = list(self.integers(length))
        if has_attributes:  # for vectors the attributes follow the elements
            names = dict(self.item()).get("names")
            if kind == R_LIST and names is not None:
                return dict(zip(names, values, strict=True))
        return values

    def string(self, flags):
        (length,) = self.integers(1)
        if length == -1:
            return None  # NA_character_
        raw = self.content[self.position : self.position + length]
        if len(raw) != length:
            self.fail("truncated R string")
        self.position += length
        return raw.decode("latin-1" if (flags >> 12) & R_LATIN1_FLAG else "utf-8")


def _unserialize(content, source):
    """The R object serialized (XDR) in ``content``; see :class:`_RReader`."""
    try:
        return _RReader(content, source).read()
    except (IndexError, UnicodeDecodeError) as error:
        raise DataFileError(f"{source}: corrupt R data ({error})") from None


def _decompress_any(content, source):
    """``content`` decompressed by the method its magic bytes name (gzip, bzip2, xz)."""
    methods = {b"\x1f\x8b": gzip.decompress, b"BZh": bz2.decompress, b"\xfd7zXZ": lzma.decompress}
    for magic, decompress in methods.items():
        if content.startswith(magic):
            try:
                return decompress(content)
            except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) as error:
                raise DataFileError(f"{source} is corrupt or truncated ({error})") from None
    raise DataFileError(f"{source} is neither gzip, bzip2 nor xz compressed")


def _novel_lines(value, name, source):
    """``value`` as a list of ``str`` lines, or ``DataFileError`` naming the object."""
    if not isinstance(value, list) or not all(isinstance(line, str) for line in value):
        raise DataFileError(f"{source}: the R object {name!r} is not a character vector")
    return value


def _read_lazy_load(folder):
    """{R object name: lines} of the six novels in an R package's ``Rdata.rdb``/``.rdx``."""
    rdb, rdx = (folder / name for name in AUSTEN_LAZY_LOAD)
    index = _unserialize(_decompress_any(rdx.read_bytes(), rdx), rdx)
    try:  # list(variables = <named list of c(offset, length)>, references, compressed)
        places, compressed = dict(index["variables"]), index["compressed"]
    except (TypeError, ValueError, KeyError):
        raise DataFileError(f"{rdx} is not the index of an R lazy-load database") from None
    if compressed != [1]:  # TRUE: zlib; bzip2 (2) and xz (3) databases are not read here
        raise DataFileError(f"{rdx}: compression {compressed} is not zlib (TRUE)")
    novels, content = {}, rdb.read_bytes()
    for name in AUSTEN_NOVELS:
        if name not in places:
            raise DataFileError(f"{rdx} has no object {name!r}; it holds {sorted(places)}")
        offset, length = places[name]
        block = content[offset : offset + length]  # 4-byte length, then one zlib stream
        try:
            serialized = zlib.decompress(block[4:])
        except zlib.error as error:
            raise DataFileError(f"{rdb}, object {name!r}: corrupt zlib data ({error})") from None
        novels[name] = _novel_lines(_unserialize(serialized, rdb), name, rdb)
    return novels


def _read_tarball(path):
    """{R object name: lines} of the six novels in CRAN's source tarball (``data/*.rda``)."""
    novels = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for name in AUSTEN_NOVELS:
                member = f"janeaustenr/data/{name}.rda"
                try:
                    raw = tar.extractfile(member).read()
                except KeyError:
                    raise DataFileError(f"{path} has no {member}") from None
                source = f"{path}:{member}"
                saved = _decompress_any(raw, source)
                if saved[:5] not in (b"RDX2\n", b"RDX3\n"):
                    raise DataFileError(f"{source} is not an R save() file")
                objects = dict(_unserialize(saved[5:], source))
                if name not in objects:
                    raise DataFileError(f"{source} holds {sorted(objects)}, not {name!r}")
                novels[name] = _novel_lines(objects[name], name, source)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise DataFileError(f"{path} is not a readable .tar.gz file ({error})") from None
    return novels


def _austen_texts(folder):
    """{title: text} read from ``folder`` (lazy-load database or tarball), checksums verified."""
    if all((folder / name).is_file() for name in AUSTEN_LAZY_LOAD):
        source, novels = folder / AUSTEN_LAZY_LOAD[0], _read_lazy_load(folder)
    else:
        source, novels = folder / AUSTEN_TARBALL, _read_tarball(folder / AUSTEN_TARBALL)
    texts = {}
    for name, title in AUSTEN_NOVELS.items():
        text = "\n".join(novels[name])
        found = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if found != AUSTEN_SHA256[name]:
            raise DataFileError(
                f"{source}: the text of {title} ({name}) has sha256 {found}, expected "
                f"{AUSTEN_SHA256[name]}; the file is corrupt or not janeaustenr 1.0.0. "
                "Delete it and load again, or reinstall: apt-get install --reinstall -y "
                "r-cran-janeaustenr"
            )
        texts[title] = text
    return texts


def _holds_austen(folder):
    """Whether ``folder`` holds a lazy-load database or the CRAN tarball."""
    return all((folder / name).is_file() for name in AUSTEN_LAZY_LOAD) or (
        folder / AUSTEN_TARBALL
    ).is_file()


def _austen_folders():
    """The folders searched for the novels when no ``root`` is given, in order."""
    folders = [data_home() / AUSTEN_FOLDER, _user_cache() / AUSTEN_FOLDER]
    folders.extend(Path(folder) for folder in AUSTEN_SYSTEM_FOLDERS)
    return list(dict.fromkeys(folders))


def _fetch_austen_tarball(folder):
    """Download CRAN's tarball into ``folder`` from the first mirror serving a verified copy.

    As for Fashion-MNIST: a temporary file is renamed into place only after the six texts
    read from it pass their checksums. Raises ``ConnectionError`` listing every failure.
    """
    folder.mkdir(parents=True, exist_ok=True)
    failures = []
    for mirror in AUSTEN_MIRRORS:
        url = mirror.rstrip("/") + "/" + AUSTEN_TARBALL
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".janeaustenr.", suffix=".part")
        os.close(handle)
        temporary = Path(temporary)
        try:
            _download(url, temporary)
            check = Path(tempfile.mkdtemp(dir=folder, prefix=".check."))
            try:  # verify under the official name, in a folder of its own
                os.replace(temporary, check / AUSTEN_TARBALL)
                _austen_texts(check)
                os.replace(check / AUSTEN_TARBALL, folder / AUSTEN_TARBALL)
            finally:
                (check / AUSTEN_TARBALL).unlink(missing_ok=True)
                check.rmdir()
            return folder / AUSTEN_TARBALL
        except (OSError, http.client.HTTPException, DataFileError) as error:
            failures.append(f"{url}: {error}")
        finally:
            temporary.unlink(missing_ok=True)
    raise ConnectionError(
        "could not download " + AUSTEN_TARBALL + ":\n    " + "\n    ".join(failures)
    )


def _austen_not_found(folders, reason):
    """The ``FileNotFoundError`` for no local copy: what was searched and every way out."""
    searched = "".join(f"\n  {folder}" for folder in folders)
    return FileNotFoundError(
        f"Jane Austen's novels (R package janeaustenr: {' + '.join(AUSTEN_LAZY_LOAD)} or "
        f"{AUSTEN_TARBALL}) were not found in any of the folders searched:{searched}\n"
        f"and {reason}.\nOptions:\n"
        "  - pass root=<an installed janeaustenr's data folder, or a folder holding "
        f"{AUSTEN_TARBALL}>;\n"
        f"  - set {DATA_ENV}=<folder> and put {AUSTEN_TARBALL} in <folder>/{AUSTEN_FOLDER}/;\n"
        "  - on Debian or Ubuntu: apt-get install -y r-cran-janeaustenr "
        f"(fills {AUSTEN_SYSTEM_FOLDERS[0]});\n"
        "  - allow the download (download=True) on a machine with internet access."
    )


def _locate_austen(download):
    """The first searched folder holding the novels, downloading the tarball if needed."""
    folders = _austen_folders()
    for folder in folders:
        if _holds_austen(folder):
            return folder
    if not download:
        raise _austen_not_found(folders, "download=False, so nothing was downloaded")
    target = data_home() / AUSTEN_FOLDER
    try:
        _fetch_austen_tarball(target)
    except ConnectionError as error:
        raise _austen_not_found(folders, f"downloading failed: {error}") from error
    return target


@functools.lru_cache(maxsize=2)
def _austen_cached(folder, identity):
    """:func:`_austen_texts`, cached per process; ``identity`` only keys the cache."""
    return _austen_texts(folder)


def load_jane_austen(*, root=None, download=True):
    """Jane Austen's six novels as a dict ``{title: text}``, in order of publication.

    Titles are those of R's ``janeaustenr::austen_books()``: "Sense & Sensibility",
    "Pride & Prejudice", "Mansfield Park", "Emma", "Northanger Abbey", "Persuasion". Each
    text is the novel's lines (Project Gutenberg's, hard-wrapped) joined by ``"\\n"``, about
    0.72 M words in all. Every text is verified by its sha256 before it is returned.

    ``root`` is a folder holding either an installed R package's lazy-load data
    (``Rdata.rdb`` and ``Rdata.rdx``, e.g. ``/usr/lib/R/site-library/janeaustenr/data``) or
    CRAN's source tarball ``janeaustenr_1.0.0.tar.gz``; given, it is the only place looked
    at. Otherwise the loader looks in ``$COURSEKIT_DATA/janeaustenr``, the user cache,
    Debian's package folder (``apt-get install -y r-cran-janeaustenr``) and R's
    ``/usr/local`` library, then downloads the tarball from CRAN unless ``download=False``.
    """
    if root is not None:
        folder = Path(root).expanduser()
        if not _holds_austen(folder):
            raise FileNotFoundError(
                f"{folder} holds neither {' and '.join(AUSTEN_LAZY_LOAD)} nor {AUSTEN_TARBALL}. "
                "When root= is given it is the only folder searched; leave it out to search "
                f"{DATA_ENV}, the user cache and R's library folders, and download if needed."
            )
    else:
        folder = _locate_austen(download)
    identity = tuple(
        (path.stat().st_ino, path.stat().st_size, path.stat().st_mtime_ns)
        for path in (folder / name for name in (*AUSTEN_LAZY_LOAD, AUSTEN_TARBALL))
        if path.is_file()
    )
    return dict(_austen_cached(folder.resolve(), identity))


# -------------------------------------------------------------- word-similarity benchmarks
#
# WordSim-353 (Finkelstein et al. 2002) and SimLex-999 (Hill et al. 2015) are read from the
# copies that ship inside gensim's wheel (gensim/test/test_data/, LGPL-2.1 package; Debian's
# python3-gensim strips them), so coursekit redistributes neither file. gensim is a
# dependency of the book extra.

SIMILARITY_BENCHMARKS = {  # name -> (file in gensim's test data, md5 of the file)
    "wordsim353": ("wordsim353.tsv", "fa3334003a2c00a47810856c5813a990"),
    "simlex999": ("simlex999.txt", "ea3b421726e288d9c368d3db0f1831a4"),
}


def load_word_similarity(name="wordsim353"):
    """Word pairs with human similarity scores: a list of ``(word1, word2, score)``.

    ``name`` is ``"wordsim353"`` (353 pairs, relatedness from 0 to 10; Finkelstein et al.
    2002) or ``"simlex999"`` (999 pairs, similarity from 0 to 10; Hill et al. 2015). Words
    are lower-cased. Read from the copy in the installed gensim package, verified by md5.
    """
    if name not in SIMILARITY_BENCHMARKS:
        raise ValueError(f"name must be one of {sorted(SIMILARITY_BENCHMARKS)}, got {name!r}")
    file_name, expected = SIMILARITY_BENCHMARKS[name]
    try:
        source = importlib.resources.files("gensim") / "test" / "test_data" / file_name
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            f"{name} is read from the gensim package, which is not installed: "
            "pip install 'coursekit[book]' (or pip install gensim)"
        ) from None
    raw = source.read_bytes()
    found = hashlib.md5(raw).hexdigest()
    if found != expected:
        raise DataFileError(f"{source}: md5 is {found}, expected {expected}")
    pairs = []
    for line in raw.decode("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            first, second, score = line.split("\t")[:3]
            pairs.append((first.lower(), second.lower(), float(score)))
    return pairs
