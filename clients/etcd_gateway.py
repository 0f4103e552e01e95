#!/usr/bin/env python3
"""An etcd client for splitbrain, in Python: the register, set and counter workloads
over etcd's v3 JSON gateway (POST /v3/kv/range, /v3/kv/put, /v3/kv/txn; keys and
values base64), speaking splitbrain's JSON-lines client protocol on stdin/stdout
(docs/client-protocol.md). Standard library only.

    client:
      type: process
      command: [python3, ../clients/etcd_gateway.py]
      options:
        read-consistency: linearizable   # or serializable (local reads, no quorum)
        request-timeout: 0.8             # seconds per op; keep it below op-timeout
        prefix: /splitbrain              # every key lives under it
        cas-retries: 20                  # counter add: compare-and-set attempts - 1

`splitbrain client-check -- python3 clients/etcd_gateway.py` checks it without etcd:
with `"reference": true` in the options it sends each invoke to the reference store's
`POST /invoke` at node.host:node.ports.client instead, with the same error rules.

It mirrors the built-in Rust client (workloads/src/etcd/) so that both write the same
keys and values and turn the same errors into the same outcomes:

- keys: register `{prefix}/register/{key}`, set `{prefix}/set/{element as JSON}`,
  counter `{prefix}/counter`; a value is stored as its compact JSON text;
- register: read = range, write = put, cas = txn comparing the VALUE with the old one
  (a failed comparison wrote nothing: fail);
- set: add = one put per element, read = a keys-only range over `{prefix}/set/`;
- counter: add = read value and mod_revision, then txn "put value+n if mod_revision is
  unchanged", retried with the value the failed txn returned; read of no key = 0;
- errors: no connection (refused, connect timeout) = fail; etcd rejected the request
  (gRPC InvalidArgument, ResourceExhausted, ..., or an HTTP 4xx without a code) = fail;
  anything after the request may have left (timeout, reset, 5xx, unreadable answer)
  = info; a read that went wrong in any way = fail (reads have no effect).

It talks to the node it was opened for and nothing else: no redirects, no proxies.
Diagnostics go to stderr, which splitbrain keeps in the run's store.
"""

import base64
import decimal
import http.client
import json
import math
import select
import socket
import sys
import time
import traceback

DEFAULT_PORT = 2379
CONNECT_TIMEOUT = 1.0  # as the Rust client's connect_timeout
OPTIONS = {
    "read-consistency": "linearizable",
    "request-timeout": 0.8,
    "prefix": "/splitbrain",
    "cas-retries": 20,
    "reference": False,
}
WORKLOADS = ("register", "set", "counter")

# gRPC codes with which etcd rejects a request it did not apply (as
# REJECTING_GRPC_CODES in workloads/src/etcd/mod.rs): InvalidArgument, NotFound,
# AlreadyExists, PermissionDenied, ResourceExhausted, FailedPrecondition, OutOfRange,
# Unimplemented, Unauthenticated. The others may follow a proposal that still commits.
REJECTING_GRPC_CODES = (3, 5, 6, 7, 8, 9, 11, 12, 16)


class NotSent(Exception):
    """The request certainly did not leave: fail."""


class Rejected(Exception):
    """etcd (or this client) refused the request before applying it: fail."""


class Ambiguous(Exception):
    """The request may have been applied: info (fail for reads)."""


class Unknown(Exception):
    """The store itself said the outcome is unknown: info, reads too."""


# --- values: the same text as serde_json and the history's EDN display -------------


def to_json(value):
    """Compact JSON, UTF-8 as is: the text serde_json::to_string writes for a Value."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def b64(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.b64encode(data).decode("ascii")


def unb64(text):
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as e:
        raise Ambiguous(f"etcd returned invalid base64: {e}") from None


def encode_value(value):
    return b64(to_json(value))


def decode_bytes(data):
    """Stored JSON back to a value; text that is not JSON comes back as a string."""
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", errors="replace")


def decode_value(stored):
    return decode_bytes(unb64(stored))


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def edn(v):
    """The history's display of a value (EDN-like): how the Rust client names keys."""
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "true" if v else "false"
    if is_int(v):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        # Rust's f64 Display: no exponent, no trailing ".0".
        text = format(decimal.Decimal(repr(v)), "f")
        return text[:-2] if text.endswith(".0") else text
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + " ".join(edn(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{edn(k)} {edn(x)}" for k, x in v.items()) + "}"
    return str(v)


def key_text(key):
    """A register key in etcd: strings as they are, other values as EDN, none as nil."""
    return key if isinstance(key, str) else edn(key)


# --- the connection -----------------------------------------------------------------


class Gateway:
    """One keep-alive HTTP connection to one member's gateway, reopened when needed."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.conn = None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _idle_conn_is_dead(self):
        # An idle keep-alive socket that is readable has been closed by etcd (or holds
        # junk): reconnect before sending, while nothing has left yet.
        sock = self.conn.sock
        if sock is None:
            return True
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def _connect(self, deadline):
        if self.conn is not None and self._idle_conn_is_dead():
            self.close()
        if self.conn is None:
            budget = min(CONNECT_TIMEOUT, deadline - time.monotonic())
            if budget <= 0:
                raise NotSent("not sent: no time left to connect")
            conn = http.client.HTTPConnection(self.host, self.port, timeout=budget)
            try:
                conn.connect()
                conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError as e:
                conn.close()
                raise NotSent(
                    f"not sent: cannot connect to {self.host}:{self.port}: {describe(e)}"
                ) from None
            self.conn = conn
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise NotSent("not sent: no time left after connecting")
        self.conn.sock.settimeout(remaining)

    def call(self, path, body, deadline):
        """POSTs `body` to /v3/kv/{path}; the decoded answer, or why not."""
        status, raw = self.post(f"/v3/kv/{path}", body, deadline)
        if not 200 <= status < 300:
            raise classify_status(status, raw)
        return parse_answer(raw)

    def post(self, path, body, deadline):
        """POSTs `body` as JSON to `path`: (status, body), or NotSent / Ambiguous."""
        self._connect(deadline)
        data = to_json(body).encode("utf-8")
        try:
            self.conn.request(
                "POST",
                path,
                body=data,
                headers={"Content-Type": "application/json"},
            )
            resp = self.conn.getresponse()
            status = resp.status
            raw = resp.read()
            if resp.will_close:
                self.close()
        except (OSError, http.client.HTTPException) as e:
            # Some of the request may have left: unknown.
            self.close()
            kind = "timeout: " if isinstance(e, (socket.timeout, TimeoutError)) else ""
            what = path.rsplit("/", 1)[-1]
            raise Ambiguous(f"{kind}{what} on {self.host}:{self.port}: {describe(e)}") from None
        return status, raw


def parse_answer(raw):
    try:
        return json.loads(raw)
    except ValueError as e:
        raise Ambiguous(
            f"unreadable answer ({e}): {raw[:200].decode('utf-8', 'replace')}"
        ) from None


def describe(e):
    """`ConnectionRefusedError: [Errno 111] Connection refused`: the kind and the text."""
    text = str(e)
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def classify_status(status, raw):
    """An HTTP error answer (`{"error":..,"message":..,"code":..}`) as an exception."""
    try:
        parsed = json.loads(raw)
        if not isinstance(parsed, dict):
            parsed = None
    except ValueError:
        parsed = None
    message = None
    code = None
    if parsed is not None:
        message = parsed.get("message") or parsed.get("error")
        code = parsed.get("code")
        if not is_int(code):
            code = None
    if not isinstance(message, str):
        message = raw[:200].decode("utf-8", "replace")
    if code is not None:
        text = f"HTTP {status}, gRPC code {code}: {message}"
        rejected = code in REJECTING_GRPC_CODES
    else:
        text = f"HTTP {status}: {message}"
        # Without a code: a client error that is not about time or cancellation.
        rejected = 400 <= status < 500 and status not in (408, 409, 499)
    return Rejected(text) if rejected else Ambiguous(text)


# --- the workloads ------------------------------------------------------------------


class Etcd:
    def __init__(self, host, port, options):
        self.gw = Gateway(host, port)
        self.prefix = options["prefix"]
        self.serializable = options["read-consistency"] == "serializable"
        self.timeout = options["request-timeout"]
        self.cas_retries = options["cas-retries"]

    def key(self, suffix):
        return f"{self.prefix}/{suffix}"

    def range(self, key, serializable, deadline):
        body = {"key": b64(key)}
        if serializable:
            body["serializable"] = True
        kvs = self.gw.call("range", body, deadline).get("kvs") or []
        return kvs[0] if kvs else None

    def register(self, f, value, key, deadline):
        k = self.key(f"register/{key_text(key)}")
        if f == "read":
            kv = self.range(k, self.serializable, deadline)
            return decode_value(kv.get("value", "")) if kv else None
        if f == "write":
            self.gw.call("put", {"key": b64(k), "value": encode_value(value)}, deadline)
            return value
        if f == "cas":
            if not (isinstance(value, list) and len(value) == 2):
                raise Rejected(f"cas needs an [old new] pair, got {edn(value)}")
            old, new = value
            body = {
                "compare": [
                    {"key": b64(k), "target": "VALUE", "result": "EQUAL",
                     "value": encode_value(old)}
                ],
                "success": [{"request_put": {"key": b64(k), "value": encode_value(new)}}],
            }
            # The gateway omits `succeeded` when false.
            if self.gw.call("txn", body, deadline).get("succeeded"):
                return value
            raise Rejected("cas: the value differs")
        raise Rejected(f"the register workload has no function `{f}`")

    def set(self, f, value, key, deadline):
        d = self.key("set/")
        if f == "add":
            k = d + to_json(value)
            self.gw.call("put", {"key": b64(k), "value": encode_value(value)}, deadline)
            return value
        if f == "read":
            start = d.encode("utf-8")
            end = start[:-1] + bytes([start[-1] + 1])  # every key under the prefix
            body = {"key": b64(start), "range_end": b64(end), "keys_only": True}
            if self.serializable:
                body["serializable"] = True
            kvs = self.gw.call("range", body, deadline).get("kvs") or []
            elements = [decode_bytes(unb64(kv.get("key", ""))[len(start):]) for kv in kvs]
            # etcd orders keys as bytes ("10" < "9"): numbers in numeric order, the rest
            # first in etcd's order, as the Rust client's stable sort_by_key(as_int).
            elements.sort(key=lambda v: (1, v) if is_int(v) else (0, 0))
            return elements
        raise Rejected(f"the set workload has no function `{f}`")

    def counter(self, f, value, key, deadline):
        k = self.key("counter")
        if f == "read":
            kv = self.range(k, self.serializable, deadline)
            return decode_value(kv.get("value", "")) if kv else 0
        if f == "add":
            if not is_int(value):
                raise Rejected(f"add needs an integer, got {edn(value)}")
            # Until a txn was sent nothing was written: every error is a fail. Always a
            # linearizable read: a stale revision only costs a retry.
            try:
                current = self.range(k, False, deadline)
            except (NotSent, Rejected, Ambiguous) as e:
                raise Rejected(f"add: reading the counter: {e}") from None
            for _ in range(self.cas_retries + 1):
                if current:
                    try:
                        n = decode_value(current.get("value", ""))
                    except Ambiguous as e:
                        raise Rejected(f"add: reading the counter: {e}") from None
                    if not is_int(n):
                        raise Rejected(f"add: the counter holds {edn(n)}, not an integer")
                    revision = int(current.get("mod_revision", 0))
                else:
                    n, revision = 0, 0  # an absent key has mod_revision 0
                body = {
                    "compare": [
                        {"key": b64(k), "target": "MOD", "result": "EQUAL",
                         "mod_revision": str(revision)}
                    ],
                    "success": [
                        {"request_put": {"key": b64(k), "value": encode_value(n + value)}}
                    ],
                    "failure": [{"request_range": {"key": b64(k)}}],
                }
                r = self.gw.call("txn", body, deadline)
                if r.get("succeeded"):
                    return value
                current = None
                for op in r.get("responses") or []:
                    kvs = (op.get("response_range") or {}).get("kvs") or []
                    if kvs:
                        current = kvs[0]
                        break
            raise Rejected(
                f"add: the counter changed under each of {self.cas_retries + 1} "
                "compare-and-set attempts"
            )
        raise Rejected(f"the counter workload has no function `{f}`")


class Reference:
    """`"reference": true`: splitbrain client-check's in-process store, which takes the
    invoke as it is (`POST /invoke`) and answers {"type": "ok"|"fail"|"info", ...}. The
    same rules: not sent = fail, lost reply or timeout = info (fail for reads)."""

    def __init__(self, host, port, options):
        self.gw = Gateway(host, port)
        self.timeout = options["request-timeout"]

    def run(self, f, value, key, deadline):
        msg = {"type": "invoke", "f": f, "value": value}
        if key is not None:
            msg["key"] = key
        status, raw = self.gw.post("/invoke", msg, deadline)
        if status in (400, 503):
            # 503: the store refused the op; 400: it could not read it. Neither applied.
            raise Rejected(f"reference store: HTTP {status}: {raw[:200].decode('utf-8', 'replace')}")
        if status != 200:
            raise Ambiguous(f"reference store: HTTP {status}: {raw[:200].decode('utf-8', 'replace')}")
        answer = parse_answer(raw)
        kind = answer.get("type") if isinstance(answer, dict) else None
        if kind == "ok":
            return answer.get("value")
        error = answer.get("error") if isinstance(answer, dict) else None
        error = error if isinstance(error, str) else to_json(error)
        if kind == "fail":
            raise Rejected(error)
        if kind == "info":
            raise Unknown(error)
        raise Ambiguous(f"reference store: unexpected answer {raw[:200]!r}")


# --- the protocol -------------------------------------------------------------------


def send(msg):
    try:
        line = json.dumps(msg, separators=(",", ":"), allow_nan=False)
    except ValueError as e:
        # A value JSON cannot carry (NaN): say so instead of writing bad JSON.
        line = json.dumps({"type": "info", "id": msg.get("id"),
                           "error": f"cannot write the reply as JSON: {e}"})
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def log(text):
    print(f"etcd_gateway: {text}", file=sys.stderr, flush=True)


def parse_options(raw):
    """The client's options with defaults; ValueError says what is wrong."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ValueError(f"options must be a map, got {to_json(raw)}")
    unknown = sorted(set(raw) - set(OPTIONS))
    if unknown:
        raise ValueError(
            f"unknown option `{unknown[0]}`; expected one of {', '.join(OPTIONS)}"
        )
    o = dict(OPTIONS, **raw)
    if o["read-consistency"] not in ("linearizable", "serializable"):
        raise ValueError(
            f"unknown read consistency `{o['read-consistency']}`; "
            "expected linearizable or serializable"
        )
    t = o["request-timeout"]
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t <= 3600:
        raise ValueError(f"request-timeout: expected seconds > 0, got {to_json(t)}")
    if not isinstance(o["prefix"], str) or not o["prefix"]:
        raise ValueError(f"prefix: expected a non-empty string, got {to_json(o['prefix'])}")
    if not isinstance(o["reference"], bool):
        raise ValueError(f"reference: expected true or false, got {to_json(o['reference'])}")
    if not is_int(o["cas-retries"]) or o["cas-retries"] < 0:
        raise ValueError(f"cas-retries: expected an integer >= 0, got {to_json(o['cas-retries'])}")
    return o


def open_client(msg):
    """An Etcd and its workload's method for an `open`; ValueError says what is wrong."""
    node = msg.get("node")
    if not isinstance(node, dict) or not isinstance(node.get("host"), str):
        raise ValueError("open: no node.host")
    port = (node.get("ports") or {}).get("client", DEFAULT_PORT)
    if not is_int(port) or not 0 < port < 65536:
        raise ValueError(f"open: node.ports.client is not a port: {to_json(port)}")
    workload = (msg.get("test") or {}).get("workload")
    if workload not in WORKLOADS:
        raise ValueError(
            f"this client serves the {', '.join(WORKLOADS)} workloads, not `{workload}`"
        )
    options = parse_options(msg.get("options"))
    if options["reference"]:
        ref = Reference(node["host"], port, options)
        return ref, ref.run
    etcd = Etcd(node["host"], port, options)
    return etcd, getattr(etcd, workload)


def invoke(client, run, msg):
    """The reply to one invoke. Every path answers; nothing escapes."""
    mid, f = msg.get("id"), msg.get("f")
    read_only = f == "read"
    deadline = time.monotonic() + client.timeout
    try:
        value = run(f, msg.get("value"), msg.get("key"), deadline)
        return {"type": "ok", "id": mid, "value": value}
    except (NotSent, Rejected) as e:
        return {"type": "fail", "id": mid, "error": str(e)}
    except Ambiguous as e:
        return {"type": "fail" if read_only else "info", "id": mid, "error": str(e)}
    except Unknown as e:
        return {"type": "info", "id": mid, "error": str(e)}
    except Exception as e:  # a bug here must not look like a certain failure
        log(f"unexpected error in op {mid}:\n{traceback.format_exc()}")
        client.gw.close()
        return {"type": "info", "id": mid, "error": f"client error: {describe(e)}"}


def main():
    client = run = None
    for raw in sys.stdin.buffer:
        if not raw.strip():
            continue
        try:
            msg = json.loads(raw)
            if not isinstance(msg, dict):
                raise ValueError("not an object")
        except ValueError as e:
            log(f"ignored a line that is not a JSON object ({e}): {raw[:200]!r}")
            continue
        kind = msg.get("type")
        try:
            if kind == "open":
                try:
                    client, run = open_client(msg)
                except ValueError as e:
                    send({"type": "error", "error": str(e)})
                    continue
                send({"type": "open_ok"})
            elif kind in ("setup", "teardown"):
                # Nothing to prepare or clean: keys live under the prefix.
                send({"type": f"{kind}_ok"})
            elif kind == "invoke":
                if client is None:
                    send({"type": "info", "id": msg.get("id"), "error": "invoke before open"})
                else:
                    send(invoke(client, run, msg))
            elif kind == "close":
                break
            else:
                log(f"ignored a message of unknown type {kind!r}")
        except Exception:
            log(f"unexpected error on a {kind!r} message:\n{traceback.format_exc()}")
            if kind == "invoke":
                send({"type": "info", "id": msg.get("id"), "error": "client error"})
    if client is not None:
        client.gw.close()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:
        # splitbrain closed our stdout: it no longer listens.
        pass
