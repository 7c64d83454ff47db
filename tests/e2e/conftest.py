"""pytest fixtures shared by the end-to-end tests."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


@pytest.fixture
def origin():
    """A strata-origin on a free loopback port."""
    p = harness.start_origin()
    yield p
    assert p.stop() == 0


@pytest.fixture
def tmpdir_path(tmp_path):
    return str(tmp_path)
