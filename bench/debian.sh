#!/usr/bin/env bash
# The Debian system booted through U-Boot, trapeze against QEMU (issue 25): see bench/debian.py.
# usage: bench/debian.sh [--runs N] [--image IMAGE] [--trapeze PATH] [--engine jit|interp] [--cpus 1,2]
exec python3 "$(dirname "${BASH_SOURCE[0]}")/debian.py" "$@"
