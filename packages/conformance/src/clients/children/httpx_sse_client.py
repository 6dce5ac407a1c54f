"""Reads one event stream with httpx-sse and prints what it dispatches, one JSON object a line.

Usage: python3 httpx_sse_client.py URL
Prints {"open": status} once the response head is in, then {"type", "data", "id", "retry"} for
every event httpx-sse yields, {"end": true} when the server ends the response, or {"error": text}.
Exits with status 3, naming the module, when httpx or httpx-sse is not installed.
"""

import json
import sys

try:
    import httpx
    from httpx_sse import connect_sse
except ImportError as error:
    sys.stderr.write(f"MISSING {error.name}\n")
    sys.exit(3)


def say(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main(url):
    try:
        with httpx.Client(timeout=httpx.Timeout(10.0, read=None)) as client:
            with connect_sse(client, "GET", url) as source:
                say({"open": source.response.status_code})
                for sse in source.iter_sse():
                    say({"type": sse.event or "message", "data": sse.data, "id": sse.id, "retry": sse.retry})
        say({"end": True})
    except Exception as error:  # reported to the test, which fails with it
        say({"error": f"{type(error).__name__}: {error}"})


if __name__ == "__main__":
    main(sys.argv[1])
