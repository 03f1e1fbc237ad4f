#!/usr/bin/env bash
# Record and replay cost (issue 24): see the header of bench/replay.py.
# usage: bench/replay.sh [--runs N] [--engine jit|interp] [--trapeze PATH] [--idle SECONDS] [--steps N]
exec python3 "$(dirname "${BASH_SOURCE[0]}")/replay.py" "$@"
