"""A fake of the few Medusa v2 admin routes the push uses, with the shapes measured on a real
2.21.2 server (see issues 7 and 15: variants with a Color option, and variant images that read
as the product's unlinked images plus the variant's own), for the error paths a real server
cannot produce on demand: 429 and 5xx answers, and a request that succeeds but answers too
late (timeout after success).
Everything else is tested against the real Medusa."""

from __future__ import annotations

import base64
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

API_KEY = "sk_fake_0123456789"
EMAIL = "admin@fake.test"
PASSWORD = "fake-password"


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    import json

    return Response(json.dumps(body), status=status, headers=headers or {},
                    mimetype="application/json")


@dataclass
class Fault:
    method: str
    path_prefix: str
    kind: str  # "429", "503", "slow" (answer after the work is done, too late)
    times: int = 1
    delay_s: float = 1.5


@dataclass
class FakeMedusa:
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    uploads: dict[str, str] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    log: list[tuple[str, str]] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    logins: int = 0
    #: image id -> the variant ids it is linked to
    links: dict[str, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add_product(self, *urls: str, colors: tuple[str, ...] = (),
                    option: str = "Color") -> dict[str, Any]:
        product_id = f"prod_{uuid.uuid4().hex[:10]}"
        self.products[product_id] = {
            "id": product_id, "title": "Fake tee", "thumbnail": urls[0] if urls else None,
            "metadata": {"owner": "shop"},
            "images": [{"id": f"img_{uuid.uuid4().hex[:10]}", "url": u, "rank": i}
                       for i, u in enumerate(urls)],
            "variants": [{"id": f"variant_{uuid.uuid4().hex[:10]}", "title": c,
                          "options": [{"value": c, "option": {"title": option}}]}
                         for c in colors],
        }
        return self.products[product_id]

    def variant_images(self, product_id: str) -> dict[str, list[str]]:
        """variant title -> image urls, as Medusa reads `variants[].images`."""
        product = self.products[product_id]
        general = [i for i in product["images"] if not self.links.get(i["id"])]
        return {v["title"]: [i["url"] for i in general] + [
            i["url"] for i in product["images"] if v["id"] in self.links.get(i["id"], set())]
            for v in product["variants"]}

    def count(self, method: str, prefix: str) -> int:
        return sum(1 for m, p in self.log if m == method and p.startswith(prefix))

    # -- WSGI ----------------------------------------------------------------------------------

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            return self._serve(request, environ, start_response)
        finally:
            request.close()  # the uploaded files' spooled temporary files

    def _serve(self, request: Request, environ: dict[str, Any], start_response: Any) -> Any:
        self.log.append((request.method, request.path))
        fault = next((f for f in self.faults if f.times > 0 and f.method == request.method
                      and request.path.startswith(f.path_prefix)), None)
        if fault is not None:
            fault.times -= 1
            if fault.kind in ("429", "503"):
                body = {"type": "unexpected_state", "message": "Too many requests"
                        if fault.kind == "429" else "Service unavailable"}
                return _json(body, int(fault.kind), {"Retry-After": "0"})(
                    environ, start_response)
        response = self.handle(request)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay_s)  # the work is done; the answer comes too late
        return response(environ, start_response)

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user = base64.b64decode(header[6:]).decode().split(":", 1)[0]
            return user == API_KEY
        return header.startswith("Bearer ") and header[7:] in self.tokens

    def handle(self, request: Request) -> Response:
        path, method = request.path, request.method
        if path == "/auth/user/emailpass" and method == "POST":
            body = request.get_json()
            if body == {"email": EMAIL, "password": PASSWORD}:
                self.logins += 1
                token = uuid.uuid4().hex
                self.tokens.add(token)
                return _json({"token": token})
            return _json({"type": "unauthorized", "message": "Invalid email or password"}, 401)
        if not self._authorised(request):
            return _json({"type": "unauthorized", "message": "Unauthorized"}, 401)
        if path == "/admin/uploads" and method == "POST":
            files = request.files.getlist("files")
            if not files:
                return _json({"code": "unknown_error", "type": "unknown_error",
                              "message": "An unknown error occurred."}, 500)
            out = []
            for item in files:
                file_id = f"{int(time.time() * 1000)}-{item.filename}"
                self.uploads[file_id] = f"{self.url}/static/{file_id}"
                out.append({"id": file_id, "url": self.uploads[file_id]})
            return _json({"files": out})
        if path.startswith("/admin/uploads/") and method == "DELETE":
            file_id = path.rsplit("/", 1)[1]
            self.uploads.pop(file_id, None)
            return _json({"id": file_id, "object": "file", "deleted": True})
        parts = path.split("/")
        if (len(parts) == 8 and parts[:3] == ["", "admin", "products"] and parts[4] == "images"
                and parts[6:] == ["variants", "batch"] and method == "POST"):
            product = self.products.get(parts[3]) or {"images": []}
            if parts[5] not in {i["id"] for i in product["images"]}:
                return _json({"type": "not_found", "message": "You tried to set relationship "
                              f"image_id: {parts[5]}, but such entity does not exist"}, 404)
            add = (request.get_json() or {}).get("add") or []
            self.links.setdefault(parts[5], set()).update(add)
            return _json({"added": add, "removed": []})
        if path.startswith("/admin/products/"):
            product = self.products.get(path.rsplit("/", 1)[1])
            if product is None:
                return _json({"type": "not_found", "message": "Product not found"}, 404)
            if method == "POST":
                body = request.get_json()
                if "images" in body:
                    known = {i["id"] for i in product["images"]}
                    product["images"] = [
                        {"id": i["id"] if i.get("id") in known
                         else f"img_{uuid.uuid4().hex[:10]}", "url": i["url"], "rank": rank}
                        for rank, i in enumerate(body["images"])]
                    kept = {i["id"] for i in product["images"]}
                    for image_id in set(self.links) - kept:  # links go with their image
                        del self.links[image_id]
                if "thumbnail" in body:
                    product["thumbnail"] = body["thumbnail"]
                if "metadata" in body:
                    product["metadata"] = {**product["metadata"], **body["metadata"]}
            return _json({"product": product})
        return _json({"type": "not_found", "message": f"Cannot {method} {path}"}, 404)
