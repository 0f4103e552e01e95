#!/usr/bin/env python3
"""A well-behaved client of splitbrain's JSON-lines client protocol, for tests.

Every OS process shares one store: a JSON file (`options.store`), read and rewritten
under an exclusive flock for each op, so each op takes effect atomically between its
invoke and its reply and every history it makes is linearizable. Workloads: register
(read, write, cas per key), set (add, read), counter (add, read), unique-ids (generate).
Standard library only.

The misbehaving test programs import it and break the protocol through
`serve(misbehave=...)`, after the op took effect (a lost reply, the harder case).
"""

import fcntl
import json
import os
import sys


def apply(state, workload, msg):
    f, value = msg["f"], msg.get("value")
    if workload == "register":
        regs = state.setdefault("registers", {})
        key = json.dumps(msg.get("key"))
        if f == "read":
            return {"type": "ok", "value": regs.get(key)}
        if f == "write":
            regs[key] = value
            return {"type": "ok"}
        if f == "cas":
            old, new = value
            if regs.get(key) != old:
                return {"type": "fail", "error": "cas: value differs"}
            regs[key] = new
            return {"type": "ok"}
    elif workload == "set":
        elements = state.setdefault("elements", [])
        if f == "add":
            if value not in elements:
                elements.append(value)
            return {"type": "ok"}
        if f == "read":
            return {"type": "ok", "value": elements}
    elif workload == "counter":
        if f == "add":
            state["counter"] = state.get("counter", 0) + value
            return {"type": "ok"}
        if f == "read":
            return {"type": "ok", "value": state.get("counter", 0)}
    elif workload == "unique-ids":
        if f == "generate":
            state["next"] = state.get("next", 0) + 1
            return {"type": "ok", "value": state["next"]}
    # Nothing was done: a certain failure.
    return {"type": "fail", "error": f"no function {f!r} in workload {workload!r}"}


def with_store(path, op):
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        text = f.read()
        state = json.loads(text) if text else {}
        reply = op(state)
        f.seek(0)
        f.truncate()
        json.dump(state, f)
        f.flush()
        return reply


def send(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def serve(misbehave=None):
    """Answers requests until `close` or EOF. `misbehave(n, msg, reply)` is called for
    the n-th invoke of this OS process (from 1) after it took effect; it returns the
    bytes to write instead of the reply, or None to send the reply."""
    print(f"pid {os.getpid()}", file=sys.stderr, flush=True)
    store = workload = None
    n = 0
    for line in sys.stdin:
        msg = json.loads(line)
        kind = msg["type"]
        if kind == "open":
            print(f"open {line.strip()}", file=sys.stderr, flush=True)
            store = msg["options"].get("store")
            workload = msg["test"]["workload"]
            if not store:
                send({"type": "error", "error": "options.store: the store file's path is required"})
            else:
                send({"type": "open_ok"})
        elif kind in ("setup", "teardown"):
            print(kind, file=sys.stderr, flush=True)
            send({"type": kind + "_ok"})
        elif kind == "close":
            break
        elif kind == "invoke":
            n += 1
            reply = with_store(store, lambda state: apply(state, workload, msg))
            reply["id"] = msg["id"]
            instead = misbehave(n, msg, reply) if misbehave else None
            if instead is None:
                send(reply)
            else:
                sys.stdout.buffer.write(instead)
                sys.stdout.flush()
    print("bye", file=sys.stderr, flush=True)


if __name__ == "__main__":
    serve()
