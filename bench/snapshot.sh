#!/usr/bin/env bash
# Snapshot benchmark (issue 23): see the header of bench/snapshot.py.
# usage: bench/snapshot.sh [--runs N] [--trapeze PATH] [--memory MIB]
exec python3 "$(dirname "${BASH_SOURCE[0]}")/snapshot.py" "$@"
