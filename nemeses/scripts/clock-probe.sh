#!/bin/sh
# $1: program; $2: libfaketime. Can libfaketime move this program's clock? Prints
# `ok PATH`, `go PATH`, `static PATH`, `missing PROGRAM` or `nolib`.
p=$(command -v -- "$1" 2>/dev/null) || { echo "missing $1"; exit 0; }
[ -f "$2" ] || { echo nolib; exit 0; }
[ -f "$p" ] || { echo "ok $p"; exit 0; }
if [ "$(head -c 4 -- "$p" | tail -c 3)" != "ELF" ]; then echo "ok $p"; exit 0; fi
if grep -q -a 'Go buildinf:' -- "$p" 2>/dev/null; then echo "go $p"; exit 0; fi
if LC_ALL=C ldd -- "$p" 2>&1 | grep -q 'not a dynamic executable'; then echo "static $p"; exit 0; fi
echo "ok $p"
