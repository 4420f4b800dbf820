"""Unit tests run torch on one intra-op thread.

Their models and matrices are tiny: extra threads gain nothing, and on a busy 2-core machine
their spin-waiting made small tests up to ten times slower (0.3 s -> 4 s for a digits model).
"""

import functools
import http.server
import socket
import threading
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def close_figures():
    """Start with no pyplot figure open and close every figure the test opened."""
    plt.close("all")
    yield
    plt.close("all")


# --- a local web server for the data loaders' download code (never the real mirrors) ------


@pytest.fixture
def closed_port_url():
    """A URL on 127.0.0.1 where nothing listens (the port was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files; under /cut/ it announces a file's full length, sends half, hangs up."""

    def log_message(self, *args):  # keep pytest's output clean
        pass

    def do_GET(self):
        if not self.path.startswith("/cut/"):
            return super().do_GET()
        body = Path(self.directory, self.path.removeprefix("/cut/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])


@pytest.fixture
def web_root(tmp_path):
    """A local HTTP server on 127.0.0.1 in a thread: yields (served folder, its base URL)."""
    served = tmp_path / "www"
    served.mkdir()
    handler = functools.partial(QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # a short poll interval keeps shutdown() (and so each test's teardown) fast
    serve = functools.partial(server.serve_forever, poll_interval=0.05)
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def isolate_data_folders(tmp_path, monkeypatch):
    """``isolate(name, system_attribute)``: point a data set's search at empty folders of
    ``tmp_path`` ($COURSEKIT_DATA, the user cache, a 'system' folder); returns their paths."""
    from coursekit import data

    def isolate(name, system_attribute):
        env, xdg, system = tmp_path / "env", tmp_path / "xdg", tmp_path / "system"
        monkeypatch.setenv(data.DATA_ENV, str(env))
        monkeypatch.setenv("XDG_CACHE_HOME", str(xdg))
        monkeypatch.setattr(data, system_attribute, (system,))
        return {"env": env / name, "cache": xdg / "coursekit" / name, "system": system}

    return isolate
