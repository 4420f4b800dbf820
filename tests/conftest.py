"""Shared fixtures: the repository root and the environment every test subprocess gets."""

import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent


def quick_env(**extra):
    """Environment for subprocesses: the venv's tools first on PATH, labs in the quick setting."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["COURSEKIT_QUICK"] = "1"
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def root():
    return ROOT
