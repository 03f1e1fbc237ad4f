#!/usr/bin/env bash
# Debugger cost benchmark (issue 27): see the header of bench/gdb.py.
# usage: bench/gdb.sh [--runs N] [--engine jit|interp] [--trapeze PATH] [--bp-offset HEX]
exec python3 "$(dirname "${BASH_SOURCE[0]}")/gdb.py" "$@"
