#!/usr/bin/env python3
"""Answers two ops, then never answers the third (it took effect): a lost reply."""

import time

import file_store


def hang(n, msg, reply):
    if n == 3:
        time.sleep(3600)


file_store.serve(hang)
