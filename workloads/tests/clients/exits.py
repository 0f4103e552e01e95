#!/usr/bin/env python3
"""Answers two ops, then exits with status 3 in the middle of the third (it took effect)."""

import os
import sys

import file_store


def exit_mid_op(n, msg, reply):
    if n == 3:
        print("exiting mid-op on purpose", file=sys.stderr, flush=True)
        os._exit(3)


file_store.serve(exit_mid_op)
