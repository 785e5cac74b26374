"""Calls a service registered in Eureka the way the book's Python services
do: py_eureka_client's do_service, by application name, with its defaults.

    python call_service.py --eureka http://127.0.0.1:8761/eureka --app sports-service --calls 4
    python call_service.py --eureka ... --loop   # until SIGINT/SIGTERM, then counters

With --calls it prints {"app", "path", "answers": [parsed JSON of each
answer]} and exits 1 with py_eureka_client's error on stderr when a call
fails. With --loop it prints "looping" once the registry is loaded, calls
every --interval seconds until SIGINT or SIGTERM, and then prints
{"ok", "failed", "perInstance", "errors"} (perInstance keyed by the
answer's "instance" field): a failed call is counted, not fatal.
"""

import argparse
import json
import signal
import sys
import threading

import py_eureka_client.eureka_client as eureka_client

MAX_ERRORS = 20


def call_n(args) -> int:
    try:
        answers = [
            eureka_client.do_service(args.app, args.path, return_type="json", timeout=5)
            for _ in range(args.calls)
        ]
    except Exception as e:  # report what py_eureka_client raised, whatever it is
        print(f"do_service({args.app!r}, {args.path!r}) failed: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    json.dump({"app": args.app, "path": args.path, "answers": answers}, sys.stdout)
    print()
    return 0


def loop(args) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stats = {"ok": 0, "failed": 0, "perInstance": {}, "errors": []}
    print("looping", flush=True)
    while not stop.is_set():
        try:
            answer = eureka_client.do_service(args.app, args.path, return_type="json", timeout=5)
            stats["ok"] += 1
            who = str(answer.get("instance", "unknown"))
            stats["perInstance"][who] = stats["perInstance"].get(who, 0) + 1
        except Exception as e:  # every failure counts, whatever py_eureka_client raised
            stats["failed"] += 1
            if len(stats["errors"]) < MAX_ERRORS:
                stats["errors"].append(f"{type(e).__name__}: {e}")
        stop.wait(args.interval)
    json.dump(stats, sys.stdout)
    print()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eureka", required=True, help="Eureka service URL, e.g. http://127.0.0.1:8761/eureka")
    parser.add_argument("--app", default="sports-service", help="application name to call (py_eureka_client upper-cases it)")
    parser.add_argument("--path", default="/info", help="path to GET on the chosen instance")
    parser.add_argument("--calls", type=int, default=1, help="how many calls to make")
    parser.add_argument("--loop", action="store_true", help="call until SIGINT/SIGTERM, then print counters")
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between calls with --loop")
    args = parser.parse_args()

    # Discover only: this script is a caller, not a service. The registry
    # refresh stays py_eureka_client's default (every 30 s).
    eureka_client.init(eureka_server=args.eureka, should_register=False, should_discover=True)
    try:
        return loop(args) if args.loop else call_n(args)
    finally:
        eureka_client.stop()


if __name__ == "__main__":
    sys.exit(main())
