#!/usr/bin/env python3
"""Answers two ops, then writes garbage instead of the third reply (it took effect).
argv[1] says which: text, long (a 2 MiB line), binary (not UTF-8), type (a reply of
the wrong type), noid (a reply without an id)."""

import sys

import file_store

GARBAGE = {
    "text": b"hello, this is not JSON\n",
    "long": b"x" * (2 << 20) + b"\n",
    "binary": b"\xff\xfe\x00 garbage\n",
    "type": b'{"type":"open_ok"}\n',
    "noid": b'{"type":"ok","value":1}\n',
}


def garbage(n, msg, reply):
    if n == 3:
        return GARBAGE[sys.argv[1]]


file_store.serve(garbage)
