"""coursekit.data: Jane Austen's novels (R package janeaustenr) and the word-similarity sets.

The real corpus is read with download=False and the test FAILS (not skips) when no copy is
installed (CI installs Debian's r-cran-janeaustenr). Everything else runs on R data that the
tests write themselves, with an encoder of R's XDR serialization format written here from the
format's description (R Internals, "Serialization formats"), independent of the reader.
Network: only 127.0.0.1; an autouse fixture points the CRAN mirrors at a closed local port.
"""

import bz2
import gzip
import hashlib
import io
import struct
import tarfile
import urllib.request
import zlib

import pytest

from coursekit import data

NAMES = list(data.AUSTEN_NOVELS)
TITLES = list(data.AUSTEN_NOVELS.values())

# ------------------------------------------------------------ an R serialization encoder


def xdr(*values):
    return struct.pack(f">{len(values)}i", *values)


def r_char(text, latin1=False):
    """CHARSXP (type 9); the "levels" bits say ASCII (64), UTF-8 (8) or Latin-1 (4)."""
    if text is None:
        return xdr(9, -1)  # NA_character_
    raw = text.encode("latin-1" if latin1 else "utf-8")
    levels = 4 if latin1 else (64 if text.isascii() else 8)
    return xdr(9 | levels << 12, len(raw)) + raw


def r_symbol(name):
    return xdr(1) + r_char(name)


def r_strings(texts):
    return xdr(16, len(texts)) + b"".join(r_char(t) for t in texts)


def r_pairlist(items):
    """LISTSXP cells with tags (flag bit 10), ended by R_NilValue (254). A tag given as an
    int is a reference to the symbol of that (1-based) number, as R writes repeated symbols."""
    out = b""
    for tag, value in items:
        symbol = xdr(255 | tag << 8) if isinstance(tag, int) else r_symbol(tag)
        out += xdr(2 | 1 << 10) + symbol + value
    return out + xdr(254)


def r_named_list(values, names, names_tag="names"):
    """VECSXP (19) with a names attribute (flag bit 9): the attributes follow the elements."""
    return (xdr(19 | 1 << 9, len(values)) + b"".join(values)
            + r_pairlist([(names_tag, r_strings(names))]))  # fmt: skip


def serialized(body):
    """Format version 3: 'X\\n', version, writer and minimal reader R versions, encoding."""
    return b"X\n" + xdr(3, 0x040201, 0x030500, 5) + b"UTF-8" + body


def synthetic_novels():
    """{R name: lines}: short texts, one with an NA-free Latin-1 line and a UTF-8 one."""
    return {name: [f"{name.upper()}", "", f"Chapter {i}: café £{i}", "the end"]
            for i, name in enumerate(NAMES)}  # fmt: skip


def text_sha256(lines):
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def trust(monkeypatch, novels):
    """Make the loader accept these texts (the real table holds janeaustenr 1.0.0's)."""
    for name, lines in novels.items():
        monkeypatch.setitem(data.AUSTEN_SHA256, name, text_sha256(lines))


def write_lazy_load(folder, novels):
    """Rdata.rdx (gzip of the index) and Rdata.rdb (4-byte length + zlib stream per object)."""
    folder.mkdir(parents=True, exist_ok=True)
    rdb, places = b"", []
    for lines in novels.values():
        body = serialized(r_strings(lines))
        block = len(body).to_bytes(4, "big") + zlib.compress(body)
        places.append(xdr(13, 2) + xdr(len(rdb), len(block)))
        rdb += block
    index = r_named_list(
        [r_named_list(places, list(novels)), xdr(19 | 1 << 9, 0) + r_pairlist([(1, r_strings([]))]),
         xdr(10, 1, 1)],
        ["variables", "references", "compressed"],
        names_tag=1,  # "names" was first written as symbol 1 inside "variables"
    )  # fmt: skip
    (folder / "Rdata.rdb").write_bytes(rdb)
    (folder / "Rdata.rdx").write_bytes(gzip.compress(serialized(index)))


def tarball_bytes(novels, compress=bz2.compress):
    """A CRAN-like source tarball: janeaustenr/data/<name>.rda (save() format) per novel."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, lines in novels.items():
            rda = compress(b"RDX3\n" + serialized(r_pairlist([(name, r_strings(lines))])))
            member = tarfile.TarInfo(f"janeaustenr/data/{name}.rda")
            member.size = len(rda)
            tar.addfile(member, io.BytesIO(rda))
    return buffer.getvalue()


def assert_texts(texts, novels):
    assert list(texts) == TITLES
    assert [texts[title] for title in TITLES] == ["\n".join(novels[name]) for name in NAMES]


@pytest.fixture(autouse=True)
def no_internet(monkeypatch, closed_port_url):
    monkeypatch.setattr(data, "AUSTEN_MIRRORS", (closed_port_url,))


@pytest.fixture
def folders(isolate_data_folders):
    """Isolated search folders: $COURSEKIT_DATA, the user cache and a 'system' R library."""
    return isolate_data_folders("janeaustenr", "AUSTEN_SYSTEM_FOLDERS")


# ---------------------------------------------------------------------------- the real one


def test_real_austen_novels_are_the_six_in_publication_order():
    texts = data.load_jane_austen(download=False)
    assert list(texts) == TITLES
    assert texts["Emma"].startswith("EMMA\n\nBy Jane Austen")
    assert texts["Pride & Prejudice"].startswith("PRIDE AND PREJUDICE")


def test_real_austen_word_counts_are_those_of_janeaustenr():
    # whitespace-separated words, counted by `wc -w` on the texts R itself wrote out
    texts = data.load_jane_austen(download=False)
    counts = {title: len(text.split()) for title, text in texts.items()}
    assert counts == {"Sense & Sensibility": 118565, "Pride & Prejudice": 121567,
                      "Mansfield Park": 159540, "Emma": 157441, "Northanger Abbey": 77141,
                      "Persuasion": 83283}  # fmt: skip


# ------------------------------------------------------------------ synthetic R databases


def test_lazy_load_database_loads_through_root(tmp_path, monkeypatch):
    novels = synthetic_novels()
    trust(monkeypatch, novels)
    write_lazy_load(tmp_path / "db", novels)
    assert_texts(data.load_jane_austen(root=tmp_path / "db"), novels)


@pytest.mark.parametrize("compress", [bz2.compress, gzip.compress], ids=["bzip2", "gzip"])
def test_cran_tarball_loads_through_root(compress, tmp_path, monkeypatch):
    novels = synthetic_novels()
    trust(monkeypatch, novels)
    (tmp_path / data.AUSTEN_TARBALL).write_bytes(tarball_bytes(novels, compress))
    assert_texts(data.load_jane_austen(root=tmp_path), novels)


def test_latin1_and_na_strings_are_decoded():
    body = serialized(xdr(16, 3) + r_char("£5", latin1=True) + r_char(None) + r_char("é"))
    assert data._unserialize(body, "test") == ["£5", None, "é"]


def test_wrong_text_fails_its_checksum_naming_the_novel(tmp_path, monkeypatch):
    novels = synthetic_novels()
    trust(monkeypatch, novels)
    novels["emma"][-1] = "the end!"
    write_lazy_load(tmp_path, novels)
    with pytest.raises(data.DataFileError, match="Emma .emma. has sha256 .* expected"):
        data.load_jane_austen(root=tmp_path)


def test_corrupt_database_is_reported_not_crashed_on(tmp_path, monkeypatch):
    novels = synthetic_novels()
    trust(monkeypatch, novels)
    write_lazy_load(tmp_path, novels)
    rdb = tmp_path / "Rdata.rdb"
    rdb.write_bytes(rdb.read_bytes()[:-30])  # the last novel's zlib stream is cut
    with pytest.raises(data.DataFileError, match="Rdata.rdb"):
        data.load_jane_austen(root=tmp_path)


def test_root_without_a_copy_is_the_only_folder_searched(tmp_path, folders, monkeypatch):
    write_lazy_load(folders["env"], synthetic_novels())
    with pytest.raises(FileNotFoundError, match="only folder searched"):
        data.load_jane_austen(root=tmp_path / "empty")


# --------------------------------------------------------------------------- search order


@pytest.mark.parametrize("winner, losers", [("env", ["cache", "system"]),
                                            ("cache", ["system"])])  # fmt: skip
def test_search_order_env_then_cache_then_system(winner, losers, folders, monkeypatch):
    novels = synthetic_novels()
    trust(monkeypatch, novels)
    write_lazy_load(folders[winner], novels)
    for loser in losers:  # a broken copy that must not be read
        folders[loser].mkdir(parents=True)
        (folders[loser] / data.AUSTEN_TARBALL).write_bytes(b"not a tarball")
    assert_texts(data.load_jane_austen(download=False), novels)


def test_system_folder_is_used_last(folders, monkeypatch):
    novels = synthetic_novels()
    trust(monkeypatch, novels)
    write_lazy_load(folders["system"], novels)
    assert_texts(data.load_jane_austen(download=False), novels)


# ------------------------------------------------------------------------------ download


def test_download_puts_a_verified_tarball_in_the_cache(folders, web_root, monkeypatch):
    served, url = web_root
    novels = synthetic_novels()
    trust(monkeypatch, novels)
    (served / data.AUSTEN_TARBALL).write_bytes(tarball_bytes(novels))
    monkeypatch.setattr(data, "AUSTEN_MIRRORS", (url + "nothing-here/", url))
    assert_texts(data.load_jane_austen(), novels)
    assert [p.name for p in folders["env"].iterdir()] == [data.AUSTEN_TARBALL]


def test_download_discards_a_wrong_tarball_and_tries_the_next_mirror(folders, web_root,
                                                                     monkeypatch):  # fmt: skip
    served, url = web_root
    novels = synthetic_novels()
    trust(monkeypatch, novels)
    wrong = {name: lines + ["tampered"] for name, lines in novels.items()}
    (served / "bad").mkdir()
    (served / "bad" / data.AUSTEN_TARBALL).write_bytes(tarball_bytes(wrong))
    (served / data.AUSTEN_TARBALL).write_bytes(tarball_bytes(novels))
    monkeypatch.setattr(data, "AUSTEN_MIRRORS", (url + "bad/", url))
    assert_texts(data.load_jane_austen(), novels)
    assert [p.name for p in folders["env"].iterdir()] == [data.AUSTEN_TARBALL]


def test_offline_without_a_copy_lists_every_option(folders):
    with pytest.raises(FileNotFoundError) as error:
        data.load_jane_austen()
    message = str(error.value)
    for option in ("root=", "COURSEKIT_DATA", "apt-get install -y r-cran-janeaustenr",
                   "download=True", "downloading failed"):  # fmt: skip
        assert option in message
    for folder in folders.values():
        assert str(folder) in message
    assert not any(folders["env"].iterdir())  # the failed tries left nothing behind


def test_download_false_fails_without_touching_the_network(folders, monkeypatch):
    calls = []
    monkeypatch.setattr(urllib.request, "urlopen", lambda *args, **kw: calls.append(args))
    with pytest.raises(FileNotFoundError, match="download=False"):
        data.load_jane_austen(download=False)
    assert calls == []


# ----------------------------------------------------------------- word-similarity sets


def test_wordsim353_has_353_lowercased_pairs_starting_with_love_sex():
    pairs = data.load_word_similarity("wordsim353")
    assert len(pairs) == 353
    assert pairs[0] == ("love", "sex", 6.77)
    assert all(a == a.lower() and b == b.lower() and 0 <= s <= 10 for a, b, s in pairs)


def test_simlex999_has_999_pairs():
    pairs = data.load_word_similarity("simlex999")
    assert len(pairs) == 999
    assert pairs[0] == ("old", "new", 1.58)


def test_unknown_similarity_set_is_rejected():
    with pytest.raises(ValueError, match="name must be one of"):
        data.load_word_similarity("men3000")
