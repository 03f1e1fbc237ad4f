#!/usr/bin/env bash
# Multi-hart scaling (issue 21): the CPU-bound guest program of bench/cpu.sh
# (bench/cpu/cpubench.c) runs as one copy on 1 hart and as N copies at once on N harts
# (N = host cores by default; --harts 2,4,8,16 measures each in the same run, sharing the 1-hart
# runs), inside Debian's kernel under trapeze (--cpus) and under
# qemu-system-riscv64 -M virt -smp with multi-threaded TCG, trapeze and QEMU runs alternating.
# Each copy runs cpubench R times in sequence (--reps, default 6) so that a batch lasts seconds.
# The guest's first process is bench/cpu/smp_launcher.c (rdinit=, in the cpio appended to
# test-initrd.img): it waits until the kernel's own start-up work is done (the CPUs idle for
# 200 ms), starts the copies together and times the whole batch with CLOCK_MONOTONIC, so boot
# is excluded. Prints median batch times, throughput (cpubench runs per
# second), scaling = throughput(N harts) / throughput(1 hart), and trapeze's N-hart throughput
# against QEMU's; every run's checksum is checked against the same source run on the host. Each
# N-hart run's line gives the range of its cpubench run times and the longest a run waited for a
# hart in the guest's run queue: a slow copy that never waited ran on a slow hart.
# The same program built for the host, run as 1 and as N copies at once in every run, gives the
# host's own scaling: the ceiling any emulator's scaling meets on that machine (shared caches,
# memory bandwidth and clock boost: a 16-core cloud VM gave native code 12.7, not 16).
# The goals assume an idle host: the load other processes put on it is measured during every
# guest run, and a warning follows the figures when it was not negligible.
#
# usage: bench/smp.sh [--harts N[,N...]] [--runs N] [--reps R] [--engine jit|interp] [--trapeze PATH]
#                     [--qemu PATH] [--dir DIR] [--prebuilt DIR] [--profile DIR [--perf PATH]] [--separate]
#                     [--hart-affinity none|packed|spread]
#        bench/smp.sh --prepare DIR [--dir DIR]
# --prepare builds what the guest runs (initrd.img: the test initramfs with the programs added)
# and the host build of cpubench into DIR, and stops; --prebuilt DIR runs with them instead of
# building, so the host needs no compilers (bench/bundle.sh packs such a run for other hosts).
# --profile DIR records every trapeze run with perf (`perf record -e cpu-clock`, a software
# clock: no hardware counters needed, as in most VMs) into DIR/trapeze-Nharts-runI.data, with
# the JIT's map and code beside it (TRAPEZE_PERF_MAP=1: DIR/perf-PID.map and .code), for
# tools/jit-profile to read on any host: the harts' shared costs on a many-core machine that
# has no profiler of its own (--perf names the perf to use; bench/bundle.sh --perf packs one).
# A profiled run's batch times include perf's overhead: they compare with no other figures.
# --separate also runs, for each N, N separate 1-hart trapeze processes at once (each its own
# guest with one copy; not profiled) and reports the slowest one's batch: what the host does to
# N busy trapeze threads, against what one N-hart process adds to that (the summary's
# "in one process" ratio: the N-hart batch over that slowest batch, medians). The guests start
# together but boot in their own time, so their batches overlap by most, not all, of their length.
# --hart-affinity packed|spread pins each N-hart trapeze run's hart threads (trapeze run
# --hart-affinity): packed puts hart i on the i-th CPU this script may run on, spread on the
# (2i)-th (every other CPU: on hosts that number SMT siblings or the vCPUs of one host core
# next to each other, a core each), against where the host's scheduler puts them (the default,
# none). Only trapeze's N-hart runs are pinned; the line above the figures says which way.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=3 reps=6 engine=jit harts=$(nproc)
trapeze=$root/build/trapeze qemu=qemu-system-riscv64 prepare= prebuilt= profile= perf=perf separate= affinity=none
dir=${TRAPEZE_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/trapeze/debian-riscv64}
die() { echo "smp.sh: $*" >&2; exit 1; }
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
while (($#)); do
  [[ $1 == --separate ]] && { separate=1; shift; continue; }
  (($# >= 2)) || die "$1 needs an argument"
  case $1 in
    --harts) harts=$2 ;;
    --runs) runs=$2 ;;
    --reps) reps=$2 ;;
    --engine) engine=$2 ;;
    --trapeze) trapeze=$2 ;;
    --qemu) qemu=$2 ;;
    --dir) dir=$2 ;;
    --prepare) prepare=$2 ;;
    --prebuilt) prebuilt=$2 ;;
    --profile) profile=$2 ;;
    --perf) perf=$2 ;;
    --hart-affinity) affinity=$2 ;;
    *) die "unknown argument '$1'" ;;
  esac
  shift 2
done
IFS=, read -r -a counts <<<"$harts"
((${#counts[@]})) || die "--harts needs a number"
for n in "${counts[@]}"; do
  [[ $n =~ ^[0-9]+$ ]] && ((n >= 2 && n <= 32)) || die "--harts must be 2..32 (trapeze's --cpus limit), or a comma-separated list of such"
done
[[ $runs =~ ^[0-9]+$ ]] && ((runs >= 1)) || die "--runs must be a positive number"
[[ $reps =~ ^[0-9]+$ ]] && ((reps >= 1)) || die "--reps must be a positive number"
[[ -z $prepare || -z $prebuilt ]] || die "--prepare and --prebuilt exclude each other"
[[ $affinity == none || $affinity == packed || $affinity == spread ]] ||
  die "--hart-affinity must be none, packed or spread, not '$affinity'"
step=1  # between the CPUs of consecutive harts
[[ $affinity == spread ]] && step=2
# The CPUs this script (and so trapeze) may run on, lowest first (taskset's list expanded).
read -r -a host_cpus <<<"$(awk '/^Cpus_allowed_list:/ { print $2 }' /proc/self/status | tr ',' '\n' |
  awk -F- '{ if (NF == 2) for (c = $1; c <= $2; c++) printf "%d ", c; else printf "%d ", $1 }')"
# pinning N: trapeze's --hart-affinity list for N harts under the chosen way (empty for none).
pinning() {
  local n=$1 k list=
  [[ $affinity == none ]] && return 0
  for ((k = 0; k < n; k++)); do list+="${list:+/}${host_cpus[k * step]}"; done
  echo "$list"
}
if [[ $affinity != none ]]; then
  for n in "${counts[@]}"; do
    ((step * (n - 1) < ${#host_cpus[@]})) ||
      die "--hart-affinity $affinity: $n harts need $((step * (n - 1) + 1)) CPUs to run on, this host lets trapeze have ${#host_cpus[@]}"
  done
fi
if [[ -n $profile ]]; then
  mkdir -p "$profile" || die "cannot make $profile"
  profile=$(cd "$profile" && pwd)
  "$perf" --version >/dev/null 2>&1 || die "--profile needs perf ($perf did not run; --perf PATH names another)"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# build_programs OUT: OUT/initrd.img (the test initramfs with cpubench and the launcher in
# /bench) and OUT/cpubench-host.
build_programs() {
  local out=$1 src=$root/bench/cpu/cpubench.c
  [[ -s $dir/test-initrd.img ]] || die "no guest in $dir (tools/fetch-guest)"
  command -v riscv64-linux-gnu-gcc >/dev/null || die "riscv64-linux-gnu-gcc is missing (tools/install-deps)"
  gcc -O2 -o "$out/cpubench-host" "$src" || die "host build failed"
  mkdir -p "$work/root/bench"
  riscv64-linux-gnu-gcc -O2 -static -o "$work/root/bench/cpubench" "$src" || die "riscv64 build failed"
  riscv64-linux-gnu-gcc -O2 -static -o "$work/root/bench/smp_launcher" "$root/bench/cpu/smp_launcher.c" ||
    die "riscv64 launcher build failed"
  (cd "$work/root" && find . | cpio -o -H newc --quiet | gzip -9) >"$work/extra.cpio.gz" || die "cpio failed"
  cat "$dir/test-initrd.img" "$work/extra.cpio.gz" >"$out/initrd.img"
}
if [[ -n $prepare ]]; then
  mkdir -p "$prepare" || die "cannot make $prepare"
  build_programs "$prepare"
  echo "smp.sh: the guest's initramfs and the host build are in $prepare"
  exit 0
fi

require "$trapeze"
[[ -s $dir/Image && -s $dir/fw_jump.bin ]] || die "no guest in $dir (tools/fetch-guest)"
command -v "$qemu" >/dev/null || die "$qemu is missing (tools/install-deps)"
if [[ -n $prebuilt ]]; then
  [[ -s $prebuilt/initrd.img && -x $prebuilt/cpubench-host ]] ||
    die "$prebuilt holds no initrd.img and cpubench-host (bench/smp.sh --prepare makes them)"
  cp "$prebuilt/initrd.img" "$prebuilt/cpubench-host" "$work/" || die "cannot copy from $prebuilt"
else
  build_programs "$work"
fi
# Every run uses this copy, so a rebuild of build/trapeze during the benchmark changes nothing.
cp "$trapeze" "$work/trapeze" || die "cannot copy $trapeze"
trapeze_built=$(date -r "$trapeze" '+%F %T')
trapeze=$work/trapeze
"$work/cpubench-host" >"$work/n.log" || die "host cpubench failed"
ref=$(awk '/^CPUBENCH:/ { print $5 }' "$work/n.log")
[[ -n $ref ]] || die "host cpubench printed no checksum"

append() { echo "console=ttyS0 panic=-1 rdinit=/bench/smp_launcher trapeze.smpbench=$1 trapeze.smpreps=$reps"; }

# check LOG CPUS WHO: prints the batch seconds, or dies when the guest, with CPUS harts online,
# did not run CPUS copies x reps cpubench runs that all exited 0 with the host's checksum, or its
# kernel reported a stall, a lockup or a bug.
check() {
  local log=$1 n=$2 who=$3 line secs copies r online failed sums
  line=$(tr -d '\r' <"$log" | awk '/^SMPBENCH:/' | tail -n 1)
  read -r _ secs _ _ copies _ r _ online _ failed <<<"$line"
  [[ -n $line && $copies == "$n" && $r == "$reps" && $online == "$n" && $failed == 0 ]] ||
    { tail -20 "$log" >&2; die "$who printed no good result (${line:-no SMPBENCH line})"; }
  if bad=$(tr -d '\r' <"$log" | grep -E -m 3 'rcu: INFO|detected stall|soft lockup|hard LOCKUP|Oops|BUG:'); then
    tail -20 "$log" >&2; die "$who: the kernel reported: $bad"
  fi
  grep -q 'SMPBENCH-SETTLE: the CPUs did not go idle' "$log" &&
    echo "warning: $who: the guest's CPUs never went idle before the batch (its kernel kept busy)" >&2
  sums=$(tr -d '\r' <"$log" | awk '/^CPUBENCH:/ { print $5 }' | sort | uniq -c | awk '{ print $1, $2 }')
  [[ $sums == "$((n * reps)) $ref" ]] ||
    { tail -20 "$log" >&2; die "$who: expected $((n * reps)) runs with checksum $ref, got (count checksum): $(echo $sums)"; }
  echo "$secs"
}
# spread LOG: the range of the batch's cpubench run times, the longest time a run waited for
# a hart in the guest's run queue (CPUBENCH-SCHED, from /proc/PID/schedstat) and the most times
# the guest moved one run to another hart (where its kernel tells: /proc/PID/sched). Slow runs that
# never waited had a slow hart (the host's or the emulator's doing); slow runs that waited
# shared a hart with another copy (the guest scheduler's placement).
spread() {
  tr -d '\r' <"$1" | awk '/^CPUBENCH:/ { t = $2 + 0; lo = (n++ && lo < t) ? lo : t; hi = hi > t ? hi : t }
    /^CPUBENCH-SCHED:/ { w = $6 + 0; if (!seen++ || w > wait) wait = w
      if ($10 == "migrations") { m = $11 + 0; moved++; if (m > most) most = m } }
    END { printf "runs %.2f-%.2f s", lo, hi; if (seen) printf ", waits <= %.3f s", wait
      if (moved) printf ", moves between harts <= %d", most }'
}
# profiled CPUS COMMAND...: COMMAND (with a time limit), under perf record when --profile asked
# for it, its data named by the hart count and run number, the JIT's map and code moved beside
# it. The shell that records its pid execs COMMAND, so the pid is trapeze's (the map's name).
profiled() {
  local n=$1
  shift
  [[ -n $profile ]] || { timeout 900 "$@"; return; }
  local data=$profile/trapeze-${n}harts-run$i.data pid status
  rm -f "$work/pid"
  TRAPEZE_PERF_MAP=1 timeout 900 "$perf" record -q -N -e cpu-clock -F 999 -o "$data" -- \
    sh -c 'echo $$ >"$0"; exec "$@"' "$work/pid" "$@"
  status=$?
  pid=$(cat "$work/pid" 2>/dev/null)
  # (This function's output is the guest's log: what it has to say goes to DIR/index.)
  if [[ -n $pid ]] && mv -f "/tmp/perf-$pid.map" "/tmp/perf-$pid.code" "$profile/" 2>/dev/null; then
    echo "${data##*/}: tools/jit-profile $data $profile/perf-$pid.map" >>"$profile/index"
  else
    echo "${data##*/}: trapeze (pid ${pid:-unknown}) left no JIT map and code in /tmp" >>"$profile/index"
  fi
  return $status
}
# trapeze_cmd CPUS: the trapeze command line of a guest with CPUS harts and as many copies, in cmd.
trapeze_cmd() {
  cmd=("$trapeze" run --engine "$engine" --no-stats --no-rng --kernel "$dir/Image"
    --bios "$dir/fw_jump.bin" --initrd "$work/initrd.img" --memory 512 --cpus "$1"
    --append "$(append "$1")")
  if (($1 > 1)) && [[ $affinity != none ]]; then cmd+=(--hart-affinity "$(pinning "$1")"); fi
}
run_trapeze() {  # CPUS LOG
  trapeze_cmd "$1"
  profiled "$1" "${cmd[@]}" </dev/null >"$2" 2>&1
}
# separate N RUN: N 1-hart trapeze processes at once, each its own guest with one copy (not
# profiled); prints the slowest one's batch seconds, or dies as check does.
separate() {
  local n=$1 k pids=() slowest=0 secs
  trapeze_cmd 1
  for ((k = 0; k < n; k++)); do
    timeout 900 "${cmd[@]}" </dev/null >"$work/s$k.log" 2>&1 &
    pids+=($!)
  done
  for k in "${pids[@]}"; do wait "$k"; done
  for ((k = 0; k < n; k++)); do
    secs=$(check "$work/s$k.log" 1 "trapeze separate process $((k + 1)) of $n, run $2") || exit 1
    slowest=$(awk -v a="$secs" -v b="$slowest" 'BEGIN { print (a > b ? a : b) }')
  done
  echo "$slowest"
}
run_qemu() {  # CPUS LOG
  timeout 900 "$qemu" -M virt -accel tcg,thread=multi -smp "$1" -m 512M -nographic \
    -no-reboot -bios "$dir/fw_jump.bin" -kernel "$dir/Image" -initrd "$work/initrd.img" \
    -append "$(append "$1")" </dev/null >"$2" 2>&1
}

# The goal figures are for an idle host: busy() and own() (clock ticks: every CPU's busy time,
# and this script's waited-for children's) bracket each guest run, and measured() turns the
# difference into the CPU cores that other processes kept busy on average meanwhile.
busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
own() { awk '{ sub(/^.*\) /, ""); print $14 + $15 }' "/proc/$$/stat"; }
now() { date +%s%N; }
others=() worst=0
measured() {  # COMMAND...: runs it, appends the others' average cores to others[]
  local b0 o0 w0 b1 o1 w1 x
  b0=$(busy) o0=$(own) w0=$(now)
  "$@"
  b1=$(busy) o1=$(own) w1=$(now)
  x=$(awk -v b="$((b1 - b0))" -v o="$((o1 - o0))" -v w="$((w1 - w0))" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { x = (b - o) / hz / (w / 1e9); printf "%.2f", x < 0 ? 0 : x }')
  others+=("$x")
}

echo "smp.sh: N = ${counts[*]} harts, $runs run(s), trapeze --engine $engine (built $trapeze_built)," \
  "$("$qemu" --version | head -n 1)"
echo "host: $(nproc) cores, load average $(cut -d ' ' -f 1-3 /proc/loadavg)"
[[ -z $profile ]] || echo "profiling every trapeze run into $profile (its times include perf's overhead)"
for n in "${counts[@]}"; do
  [[ $affinity == none ]] || echo "trapeze's $n-hart runs pinned ($affinity): --hart-affinity $(pinning "$n")"
done
# native N: seconds for N copies of the host build at once, each running it reps times.
native() {
  local n=$1 s e k pids=()
  s=$(now)
  for ((k = 0; k < n; k++)); do
    (for ((r = 0; r < reps; r++)); do "$work/cpubench-host" >/dev/null || exit 1; done) &
    pids+=($!)
  done
  for k in "${pids[@]}"; do wait "$k" || die "the host build of cpubench failed"; done
  e=$(now)
  awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f", (e - s) / 1e9 }'
}
declare -a t1 q1 h1
declare -A tn qn hn sn  # [N] = space-separated batch times, one per run
for ((i = 1; i <= runs; i++)); do
  others=()
  measured run_trapeze 1 "$work/t1.log"; a=$(check "$work/t1.log" 1 "trapeze 1-hart run $i") || exit 1
  measured run_qemu 1 "$work/q1.log"; b=$(check "$work/q1.log" 1 "qemu 1-hart run $i") || exit 1
  h=$(native 1) || exit 1
  t1+=("$a") q1+=("$b") h1+=("$h")
  line="run $i: 1 hart, 1 copy: trapeze $a s, qemu $b s"
  for n in "${counts[@]}"; do
    measured run_trapeze "$n" "$work/tn.log"; c=$(check "$work/tn.log" "$n" "trapeze $n-hart run $i") || exit 1
    measured run_qemu "$n" "$work/qn.log"; d=$(check "$work/qn.log" "$n" "qemu $n-hart run $i") || exit 1
    h=$(native "$n") || exit 1
    tn[$n]+="$c " qn[$n]+="$d " hn[$n]+="$h "
    line+="; $n harts, $n copies: trapeze $c s ($(spread "$work/tn.log")), qemu $d s ($(spread "$work/qn.log"))"
    if [[ -n $separate ]]; then
      measured separate "$n" "$i" >"$work/sep" || exit 1
      e=$(cat "$work/sep")
      sn[$n]+="$e "
      line+=", $n separate 1-hart trapeze processes: slowest $e s"
    fi
  done
  echo "$line (other processes' load meanwhile: ${others[*]} cores)"
  for x in "${others[@]}"; do awk -v x="$x" -v w="$worst" 'BEGIN { exit !(x > w) }' && worst=$x; done
done
med() { printf '%s\n' "$@" | median; }
# throughput: cpubench runs per second; scaling: throughput(N) / throughput(1).
thr() { awk -v c="$1" -v s="$2" 'BEGIN { printf "%.3f", c / s }'; }
mt1=$(med "${t1[@]}") mq1=$(med "${q1[@]}") mh1=$(med "${h1[@]}")
tt1=$(thr "$reps" "$mt1") tq1=$(thr "$reps" "$mq1")
echo "median batch time over $runs run(s) (each copy runs cpubench $reps times; checksum $ref in every run):"
printf '  %-16s %2d hart(s), %2d copies: %8.3f s, throughput %6.3f runs/s\n' \
  "trapeze ($engine)" 1 1 "$mt1" "$tt1" "qemu (mttcg)" 1 1 "$mq1" "$tq1"
summary=()
for n in "${counts[@]}"; do
  # shellcheck disable=SC2086 # the run times are space-separated numbers
  mtn=$(med ${tn[$n]}) mqn=$(med ${qn[$n]}) mhn=$(med ${hn[$n]})
  sh=$(ratio "$(thr $((n * reps)) "$mhn")" "$(thr "$reps" "$mh1")")
  ttn=$(thr $((n * reps)) "$mtn") tqn=$(thr $((n * reps)) "$mqn")
  st=$(ratio "$ttn" "$tt1") sq=$(ratio "$tqn" "$tq1")
  printf '  %-16s %2d hart(s), %2d copies: %8.3f s, throughput %6.3f runs/s, scaling %s\n' \
    "trapeze ($engine)" "$n" "$n" "$mtn" "$ttn" "$st" "qemu (mttcg)" "$n" "$n" "$mqn" "$tqn" "$sq"
  summary+=("$n harts: scaling trapeze $st (goal >= $(awk -v n="$n" 'BEGIN { printf "%.1f", 0.9 * n }')), qemu $sq, host's native $sh; throughput trapeze/qemu $(ratio "$ttn" "$tqn") (goal >= 2)")
  # shellcheck disable=SC2086
  [[ -z $separate ]] || summary+=("$n harts in one process: batch $mtn s against $(med ${sn[$n]}) s for the slowest of $n separate 1-hart processes (ratio $(ratio "$mtn" "$(med ${sn[$n]})"))")
done
echo "1-hart throughput: trapeze/qemu $(ratio "$tt1" "$tq1")"
printf '%s\n' "${summary[@]}"
for n in "${counts[@]}"; do
  if ((n > $(nproc))); then
    echo "note: N = $n is more harts than host cores ($(nproc)): scaling cannot reach N there" >&2
    break
  fi
done
if awk -v w="$worst" 'BEGIN { exit !(w > 0.1) }'; then
  echo "warning: the host was not idle: other processes kept up to $worst cores busy during a guest run," \
    "so these figures understate scaling" >&2
fi
exit 0
