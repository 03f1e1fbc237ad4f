#!/usr/bin/env bash
# Snapshots of the x86 machine across processes. x86_run runs the test guest's progress
# computation (two vCPUs, a disk) whole; then paused after "progress 3" by a snapshot and
# resumed in the same process; then stopped by a snapshot at the same point; then a new process
# resumes that snapshot. The resumed process must continue the output where the stopped one
# left it, byte for byte (no restart, the same result, the disk read again on the same queue),
# and the paused-and-resumed run must print exactly what the whole one did.
# Usage: snapshot_test.sh X86_RUN GUEST DISK WORKDIR; exits 77 (skip) without usable KVM.
set -u
x86_run=$1 guest=$2 disk=$3 dir=$4
mkdir -p "$dir" && rm -f "$dir"/*
fail() { echo "FAIL: $*"; exit 1; }
run() { "$x86_run" "$guest" --cpus 2 --disk "$disk" --cmdline "x86guest.smp x86guest.progress" "$@"; }
snapshot_at=(--snapshot-on "x86guest: progress 3 " --state "$dir/vm.state" --memfile "$dir/vm.mem")

run --output "$dir/whole.out" --expect "x86guest: done"
status=$?
[[ $status == 77 ]] && exit 77
[[ $status == 0 ]] || fail "the uninterrupted run"

run "${snapshot_at[@]}" --after-snapshot resume --output "$dir/resumed.out" --expect "x86guest: done" ||
  fail "the run paused for a snapshot and resumed"
cmp "$dir/resumed.out" "$dir/whole.out" || fail "pausing and resuming changed the output"

run "${snapshot_at[@]}" --expect-exit stopped --output "$dir/before.out" || fail "the run stopped by a snapshot"
"$x86_run" --restore "$dir/vm.state" "$dir/vm.mem" --output "$dir/after.out" --expect "x86guest: done" ||
  fail "the restored run"
grep -q "x86guest: hello" "$dir/after.out" && fail "the restored guest started over"
grep -q "x86guest: done" "$dir/before.out" && fail "the snapshot was taken after the guest finished"
cat "$dir/before.out" "$dir/after.out" | cmp - "$dir/whole.out" || fail "the restored run did not continue the output"
echo "PASS: $(wc -l <"$dir/before.out") lines before the snapshot, $(wc -l <"$dir/after.out") after"
