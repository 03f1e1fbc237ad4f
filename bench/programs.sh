#!/usr/bin/env bash
# Real programs from Debian's packages inside the guest, trapeze against QEMU and native (issue 26):
# see bench/programs.py.
# usage: bench/programs.sh [--runs N] [--engines jit,interp] [--programs a,b,...] [--trapeze PATH] [--plot FILE.svg]
#                          [--baseline PATH]
exec python3 "$(dirname "${BASH_SOURCE[0]}")/programs.py" "$@"
