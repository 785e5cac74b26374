"""Calls a service registered in Eureka the way the book's Python services
do: py_eureka_client's do_service, by application name, with its defaults.

    python call_service.py --eureka http://127.0.0.1:8761/eureka --app sports-service --calls 4

Prints one JSON document: {"app", "path", "answers": [parsed JSON of each
answer]}. Exits 1 with the error on stderr when a call fails, so a test sees
py_eureka_client's own message.
"""

import argparse
import json
import sys

import py_eureka_client.eureka_client as eureka_client


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eureka", required=True, help="Eureka service URL, e.g. http://127.0.0.1:8761/eureka")
    parser.add_argument("--app", default="sports-service", help="application name to call (py_eureka_client upper-cases it)")
    parser.add_argument("--path", default="/info", help="path to GET on the chosen instance")
    parser.add_argument("--calls", type=int, default=1, help="how many calls to make")
    args = parser.parse_args()

    # Discover only: this script is a caller, not a service.
    eureka_client.init(eureka_server=args.eureka, should_register=False, should_discover=True)
    try:
        answers = [
            eureka_client.do_service(args.app, args.path, return_type="json", timeout=5)
            for _ in range(args.calls)
        ]
    except Exception as e:  # report what py_eureka_client raised, whatever it is
        print(f"do_service({args.app!r}, {args.path!r}) failed: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    finally:
        eureka_client.stop()
    json.dump({"app": args.app, "path": args.path, "answers": answers}, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
