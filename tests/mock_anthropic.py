"""A local stand-in for the Anthropic Messages API, for tests of `migrate --llm`.

It serves scripted answers on 127.0.0.1 (a port the OS picks) and records what the
real anthropic SDK sent. Nothing leaves the machine.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def tool_answer(code: Any, *, name: str = "submit_solution", tokens: tuple[int, int] = (900, 120)):
    """A 200 answer whose content is one tool call with `code`."""
    block = {"type": "tool_use", "id": "toolu_01", "name": name, "input": {"code": code}}
    return 200, message([block], tokens), {}


def text_answer(text: str):
    return 200, message([{"type": "text", "text": text}], (500, 40)), {}


def message(content: list[dict], tokens: tuple[int, int]) -> dict:
    return {
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": content, "stop_reason": "tool_use", "stop_sequence": None,
        "usage": {"input_tokens": tokens[0], "output_tokens": tokens[1]},
    }  # fmt: skip


def error(status: int, kind: str, text: str):
    # retry-after 0: the SDK retries at once, so tests stay fast.
    body = {"type": "error", "error": {"type": kind, "message": text}}
    return status, body, {"retry-after": "0"}


def _key(headers) -> str | None:
    """The API key, whichever header this SDK version sends it in."""
    bearer = headers.get("authorization") or ""
    return headers.get("x-api-key") or (bearer[7:] if bearer.startswith("Bearer ") else None)


class MockMessagesAPI:
    def __init__(self) -> None:
        self.answers: deque = deque()
        self.requests: list[dict[str, Any]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                api.requests.append({"path": self.path, "body": body, "headers": dict(self.headers),
                                     "key": _key(self.headers)})  # fmt: skip
                if self.path.split("?")[0] != "/v1/messages":
                    status, payload, headers = 404, {"type": "error"}, {}
                elif api.answers:
                    status, payload, headers = api.answers.popleft()
                else:
                    status, payload, headers = error(500, "api_error", "no scripted answer left")
                data = json.dumps(payload).encode() if not isinstance(payload, bytes) else payload
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> MockMessagesAPI:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
