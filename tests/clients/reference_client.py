#!/usr/bin/env python3
"""A client in reference mode only, for `splitbrain client-check`'s own tests.

It forwards each invoke to the reference store (POST /invoke) and relays the answer.
Flags make it misbehave on purpose:
  --fail-on-timeout  answers `fail` when the store's reply does not come (wrong: the op
                     took effect, so the answer must be `info`);
  --wrong-id         answers every third op with the wrong id (a protocol violation).
"""
import json
import sys
import urllib.error
import urllib.request

FAIL_ON_TIMEOUT = "--fail-on-timeout" in sys.argv
WRONG_ID = "--wrong-id" in sys.argv


def send(msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


url = None
count = 0
for line in sys.stdin:
    msg = json.loads(line)
    kind = msg.get("type")
    if kind == "open":
        if not msg.get("options", {}).get("reference"):
            send({"type": "error", "error": "this client only runs against the reference store"})
            continue
        node = msg["node"]
        url = "http://%s:%d/invoke" % (node["host"], node["ports"]["client"])
        send({"type": "open_ok"})
    elif kind in ("setup", "teardown"):
        send({"type": kind + "_ok"})
    elif kind == "invoke":
        count += 1
        op_id = msg["id"] + 1 if WRONG_ID and count % 3 == 0 else msg["id"]
        req = urllib.request.Request(
            url, data=json.dumps(msg).encode(), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=0.5) as r:
                reply = json.loads(r.read())
            send({"type": reply["type"], "id": op_id, "value": reply.get("value"),
                  "error": reply.get("error")})
        except urllib.error.HTTPError as e:
            # 503: refused, not applied.
            send({"type": "fail" if e.code == 503 else "info", "id": op_id,
                  "error": "HTTP %d" % e.code})
        except Exception as e:  # a timeout: the op may have taken effect
            send({"type": "fail" if FAIL_ON_TIMEOUT else "info", "id": op_id, "error": str(e)})
    elif kind == "close":
        break
