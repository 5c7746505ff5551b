#!/usr/bin/env python3
"""A partner that answers /updateInventory like the contract says, per item, but forgets to
store anything: every answer is honest-looking and no response shows the defect. Its own read
API, GET /stock?p=PRODUCT&v=VARIANT, prints the stored stock (nothing: it never stores).

    python3 bench/partners/forgetful.py PORT CATALOG.json
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

PORT = int(sys.argv[1])
CATALOG = {(e["productId"], e["variantId"]) for e in json.load(open(sys.argv[2]))}
STORE = {}  # the defect: nothing is ever written here


class Partner(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, code, body, ctype="application/json"):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path != "/stock":
            return self.answer(404, {"status": "FAILED"})
        q = parse_qs(url.query)
        key = (q.get("p", [""])[0], q.get("v", [""])[0])
        value = STORE.get(key)
        self.answer(200, "" if value is None else str(value), "text/plain")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if urlparse(self.path).path != "/updateInventory":
            return self.answer(404, {"status": "FAILED"})
        try:
            req = json.loads(body)
            items = req["inventoryList"]
            assert self.headers.get("Content-Type", "").startswith("application/json")
            assert isinstance(items, list) and items
        except Exception:
            return self.answer(400, {"status": "FAILED", "failedProductList": []})
        failed, seen = [], set()
        for it in items:
            p = it.get("productId") if isinstance(it, dict) else None
            v = it.get("variantId") if isinstance(it, dict) else None
            n = it.get("inventory") if isinstance(it, dict) else None
            ok = (
                isinstance(p, str) and isinstance(v, str) and (p, v) in CATALOG
                and type(n) is int and 0 <= n < 2**31
                and isinstance(it.get("hsnCode", ""), str)
            )
            name = (p if isinstance(p, str) else "", v if isinstance(v, str) else "")
            if not ok and name not in seen:
                seen.add(name)
                failed.append({"productId": name[0], "variantId": name[1], "message": "Variant not found or invalid"})
            # a correct partner would do: if ok: STORE[(p, v)] = n
        def name_of(it):
            p = it.get("productId") if isinstance(it, dict) else None
            v = it.get("variantId") if isinstance(it, dict) else None
            return (p if isinstance(p, str) else "", v if isinstance(v, str) else "")
        sent = {name_of(it) for it in items}
        status = "SUCCESS" if not failed else ("FAILED" if len(failed) >= len(sent) else "PARTIAL_SUCCESS")
        self.answer(200, {"status": status, "failedProductList": failed})


ThreadingHTTPServer(("127.0.0.1", PORT), Partner).serve_forever()
