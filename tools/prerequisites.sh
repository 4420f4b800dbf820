#!/usr/bin/env bash
# Make sure the things outside Python that the book and the tests need are on this machine:
#   data     Fashion-MNIST (the loader's own search, then its download from the official
#            mirrors; offline, Debian's package dataset-fashion-mnist when we are root) and
#            Jane Austen's novels (the loader's search, CRAN; offline, r-cran-janeaustenr)
#   browser  a Chromium for the browser tests (an installed one; as root, Debian's chromium;
#            otherwise Playwright's own download)
#   sandbox  bubblewrap, the sandbox every submission's kernel runs in (Debian's bubblewrap)
#   postgres a PostgreSQL server for the gradebook tests (Debian's postgresql: initdb, pg_ctl)
# Where nothing works it stops and prints the exact command to run.
set -euo pipefail
cd "$(dirname "$0")/.."
python=.venv/bin/python

as_root_with_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }

apt_install() {
  echo "Installing Debian package(s): $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
}

fashion_mnist_ready() {
  "$python" - <<'PY' 2>/tmp/coursekit-data-check.log
from coursekit.data import load_fashion_mnist
for split in ("train", "test"):
    load_fashion_mnist(split)
PY
}

ensure_data() {
  if fashion_mnist_ready; then echo "Fashion-MNIST: found"; return; fi
  if as_root_with_apt && apt_install dataset-fashion-mnist && fashion_mnist_ready; then
    echo "Fashion-MNIST: from Debian's dataset-fashion-mnist"; return
  fi
  cat /tmp/coursekit-data-check.log >&2
  echo >&2 "Fashion-MNIST is missing and could not be downloaded. Run one of:"
  echo >&2 "  sudo apt-get install -y dataset-fashion-mnist"
  echo >&2 "  mkdir -p \$COURSEKIT_DATA/fashion-mnist && cp /path/to/*-ubyte.gz \$COURSEKIT_DATA/fashion-mnist/"
  exit 1
}

austen_ready() {
  "$python" -c 'from coursekit.data import load_jane_austen; load_jane_austen()' \
    2>/tmp/coursekit-austen-check.log
}

# Jane Austen's novels (the word2vec appendix): the loader's search and CRAN download, else
# Debian's r-cran-janeaustenr (without recommends: they would pull in dozens of R packages).
ensure_corpus() {
  if austen_ready; then echo "Jane Austen corpus: found"; return; fi
  if as_root_with_apt && apt_install --no-install-recommends r-cran-janeaustenr && austen_ready; then
    echo "Jane Austen corpus: from Debian's r-cran-janeaustenr"; return
  fi
  cat /tmp/coursekit-austen-check.log >&2
  echo >&2 "Jane Austen's novels are missing and could not be downloaded. Run one of:"
  echo >&2 "  sudo apt-get install -y --no-install-recommends r-cran-janeaustenr"
  echo >&2 "  mkdir -p \$COURSEKIT_DATA/janeaustenr && cp /path/to/janeaustenr_1.0.0.tar.gz \$COURSEKIT_DATA/janeaustenr/"
  exit 1
}

chromium_path() {
  for candidate in "${COURSEKIT_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
  done
  return 1
}

ensure_browser() {
  if chromium_path >/dev/null; then echo "Browser: $(chromium_path)"; return; fi
  if as_root_with_apt && apt_install chromium && chromium_path >/dev/null; then
    echo "Browser: Debian's chromium"; return
  fi
  if .venv/bin/playwright install chromium >/dev/null 2>&1; then
    echo "Browser: Playwright's chromium"; return
  fi
  echo >&2 "No Chromium for the browser tests. Run one of:"
  echo >&2 "  sudo apt-get install -y chromium"
  echo >&2 "  .venv/bin/playwright install chromium"
  exit 1
}

ensure_sandbox() {
  if command -v bwrap >/dev/null && bwrap --ro-bind / / --unshare-pid --unshare-net true 2>/dev/null; then
    echo "Sandbox: $(bwrap --version)"; return
  fi
  if ! command -v bwrap >/dev/null && as_root_with_apt && apt_install bubblewrap \
      && bwrap --ro-bind / / --unshare-pid --unshare-net true; then
    echo "Sandbox: Debian's bubblewrap"; return
  fi
  if command -v bwrap >/dev/null; then
    echo >&2 "bubblewrap is installed but cannot make a sandbox here (it needs root or"
    echo >&2 "unprivileged user namespaces). Grade as root, or enable them:"
    echo >&2 "  sudo sysctl -w kernel.unprivileged_userns_clone=1"
  else
    echo >&2 "No bubblewrap, the sandbox submissions are graded in. Run:"
    echo >&2 "  sudo apt-get install -y bubblewrap"
  fi
  echo >&2 "(or grade without any protection: .venv/bin/python -m grading grade --unsafe-no-sandbox)"
  exit 1
}

pg_bin() {  # Debian puts initdb and pg_ctl in /usr/lib/postgresql/<version>/bin
  for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
  done
  command -v initdb >/dev/null && command -v pg_ctl >/dev/null && dirname "$(command -v initdb)"
}

ensure_postgres() {
  if pg_bin >/dev/null; then echo "PostgreSQL: $(pg_bin)"; return; fi
  if as_root_with_apt && apt_install postgresql && pg_bin >/dev/null; then
    echo "PostgreSQL: Debian's postgresql"; return
  fi
  echo >&2 "No PostgreSQL server (initdb, pg_ctl) for the gradebook tests. Run:"
  echo >&2 "  sudo apt-get install -y postgresql"
  exit 1
}

for what in "$@"; do
  case "$what" in
    data) ensure_data; ensure_corpus ;;
    browser) ensure_browser ;;
    sandbox) ensure_sandbox ;;
    postgres) ensure_postgres ;;
    *) echo "usage: $0 data|browser|sandbox|postgres ..." >&2; exit 2 ;;
  esac
done
