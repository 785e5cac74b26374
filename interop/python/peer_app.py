"""A tiny Python service registered in Eureka with py_eureka_client, the
way the book's Python services register: it serves its own /info (the
statusPageUrl py_eureka_client registers by default) and /health.

    python peer_app.py --eureka http://127.0.0.1:8761/eureka --app interop-py-peer

It listens on 127.0.0.1 and a free port, prints one line
"listening http://127.0.0.1:PORT" once registered, and on SIGTERM or SIGINT
deregisters and exits. /info's body is deliberately not shaped like the
sports service's (other fields, nesting, odd spacing, its own media type) so
a test can see that a caller passes it through byte for byte.
"""

import argparse
import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import py_eureka_client.eureka_client as eureka_client

INFO_CONTENT_TYPE = "application/vnd.interop-peer+json; charset=utf-8"


def info_body(app: str) -> bytes:
    # Spacing and key order are part of what must come through unchanged.
    return (
        '{"peer": "%s",  "runtime": "python", "client": "py_eureka_client",'
        ' "nested": {"list": [1, 2, 3], "unicode": "d\\u00e9j\\u00e0 vu"}}\n' % app
    ).encode()


def handler(app: str):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            if self.path == "/info":
                self.answer(200, INFO_CONTENT_TYPE, info_body(app))
            elif self.path == "/health":
                self.answer(200, "application/json", json.dumps({"status": "UP"}).encode())
            else:
                self.answer(404, "text/plain; charset=utf-8", b"not found\n")

        def answer(self, status: int, content_type: str, body: bytes):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *args):  # keep the test's output to what matters
            pass

    return Handler


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eureka", required=True, help="Eureka service URL, e.g. http://127.0.0.1:8761/eureka")
    parser.add_argument("--app", default="interop-py-peer", help="application name to register under")
    parser.add_argument("--renewal", type=int, default=30, help="lease renewal interval, seconds (Eureka's default 30)")
    parser.add_argument("--duration", type=int, default=90, help="lease duration, seconds (Eureka's default 90)")
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(args.app))
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    # statusPageUrl, healthCheckUrl and homePageUrl are py_eureka_client's
    # defaults: http://host:port/info, /health and /.
    eureka_client.init(
        eureka_server=args.eureka,
        app_name=args.app,
        instance_host="127.0.0.1",
        instance_ip="127.0.0.1",
        instance_port=port,
        renewal_interval_in_secs=args.renewal,
        duration_in_secs=args.duration,
        should_discover=False,
    )
    print(f"listening http://127.0.0.1:{port}", flush=True)
    stop.wait()
    eureka_client.stop()  # deregisters
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
