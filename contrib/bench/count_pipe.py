#!/usr/bin/env python3
"""Runs a command with stdin/stdout relayed through this process, counting the bytes each way.

Usage: count_pipe.py COUNTFILE CMD [ARGS...]
Appends "<bytes to the command> <bytes from the command>" to COUNTFILE when the command exits.
Used as git's --upload-pack wrapper so git's wire bytes are measured like hg-bft's.
"""
import os
import subprocess
import sys
import threading

count_file, command = sys.argv[1], sys.argv[2:]
proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
counts = [0, 0]


def relay(src, dst, index, close):
    while True:
        data = os.read(src.fileno(), 65536)
        if not data:
            break
        counts[index] += len(data)
        dst.write(data)
        dst.flush()
    if close:
        dst.close()


to_child = threading.Thread(target=relay, args=(sys.stdin.buffer, proc.stdin, 0, True))
to_child.daemon = True
to_child.start()
relay(proc.stdout, sys.stdout.buffer, 1, False)
status = proc.wait()
with open(count_file, "a") as f:
    f.write("%d %d\n" % (counts[0], counts[1]))
sys.exit(status)
