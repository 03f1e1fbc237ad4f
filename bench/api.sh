#!/usr/bin/env bash
# Control-API benchmark (issue 22): see the header of bench/api.py.
# usage: bench/api.sh [--runs N] [--trapeze PATH]
exec python3 "$(dirname "${BASH_SOURCE[0]}")/api.py" "$@"
