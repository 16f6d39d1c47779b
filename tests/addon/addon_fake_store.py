"""A stand-in for the sync service's two endpoints the add-on calls (stdlib HTTP server)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "s3cret-token"


class FakeStore:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        store = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                store.requests.append({"path": self.path, "headers": dict(self.headers),
                                       "body": body})
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._answer(401, {"code": "unauthorized", "message": "Bad token."})
                elif self.path == "/admin/render-jobs":
                    if b'name="preset"\r\n\r\nnowhere' in body:
                        self._answer(422, {"code": "unknown_preset", "message": "No preset."})
                    else:
                        self._answer(202, {"id": "job_1", "status": "rendering"})
                elif self.path == "/admin/render-jobs/job_1/outputs":
                    self._answer(200, {"id": "job_1", "status": "completed"})
                else:
                    self._answer(404, {"code": "not_found", "message": "No such route."})

            def _answer(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeStore:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()
