#!/usr/bin/env python3
"""Answers two ops, then answers the third (it took effect) with another id."""

import json

import file_store


def wrong_id(n, msg, reply):
    if n == 3:
        reply["id"] = msg["id"] + 1000
        return (json.dumps(reply) + "\n").encode()


file_store.serve(wrong_id)
