#!/usr/bin/env python3
"""The trivial client of the protocol benchmark (benches/process_client.rs): answers
every op `ok` at once, echoing its value. Measures splitbrain's side of the protocol."""
import sys

write = sys.stdout.write
flush = sys.stdout.flush
for line in sys.stdin:
    # Cheap parsing on purpose: the benchmark measures the controller, not json.loads.
    if '"type":"invoke"' in line:
        i = line.index('"id":') + 5
        j = i
        while line[j].isdigit():
            j += 1
        write('{"type":"ok","id":%s}\n' % line[i:j])
    elif '"type":"open"' in line:
        write('{"type":"open_ok"}\n')
    elif '"type":"setup"' in line:
        write('{"type":"setup_ok"}\n')
    elif '"type":"teardown"' in line:
        write('{"type":"teardown_ok"}\n')
    elif '"type":"close"' in line:
        break
    flush()
