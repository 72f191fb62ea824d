"""What `rag serve` runs on for speed: uvicorn's event loop is uvloop (libuv) where it is installed."""
import asyncio
import sys

import pytest

from rag.config import Settings
from rag.server import uvicorn_config


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop is not made for Windows")
def test_the_server_runs_on_uvloop():
    import uvloop

    factory = uvicorn_config(Settings(), "rag.app:create_app").get_loop_factory()
    loop = factory()
    try:
        assert isinstance(loop, uvloop.Loop)
        assert loop.run_until_complete(asyncio.sleep(0, result="ran")) == "ran"
    finally:
        loop.close()
