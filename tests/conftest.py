"""Shared test settings: deterministic seeds and a thread count that suits a 2-core CI machine."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import torch

torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def _seed_everything() -> None:
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


@dataclass
class LoopbackServer:
    """Serves ``files`` (URL path -> bytes); records each request's Range header and bytes sent."""

    url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    honour_range: bool = True
    cut_after: int | None = None  # announce the full length but close after this many bytes
    ranges: list[str | None] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    """A loopback HTTP server for download tests (resume, restart, truncation); ``files`` maps URL paths
    to bytes."""
    state = LoopbackServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            payload = state.files.get(self.path)
            range_header = self.headers.get("Range")
            state.ranges.append(range_header)
            if payload is None:
                self.send_error(404)
                return
            start = 0
            if range_header and state.honour_range:
                start = int(range_header.removeprefix("bytes=").split("-")[0])
                if start >= len(payload):
                    self.send_error(416)
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(payload) - 1}/{len(payload)}")
            else:
                self.send_response(200)
            body = payload[start:]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if state.cut_after is not None:
                body = body[: state.cut_after]
                state.cut_after = None
                self.close_connection = True
            self.wfile.write(body)
            state.sent.append(len(body))

        def log_message(self, format: str, *args: object) -> None:  # keep test output clean
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()
