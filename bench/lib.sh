# Sourced by the bench/*.sh scripts: what they all need. The caller defines die.

# The median of the numbers on standard input, one per line (the mean of the middle two for an
# even count).
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# require TRAPEZE [GUEST_DIR] [qemu]: trapeze is built; with GUEST_DIR, the guest tools/fetch-guest
# makes is there; with "qemu", the comparison is installed.
require() {
  [[ -x $1 ]] || die "$1 is not built (make build)"
  local f
  if [[ -n ${2:-} ]]; then
    for f in Image fw_jump.bin test-initrd.img; do
      [[ -s $2/$f ]] || die "$2/$f is missing (tools/fetch-guest)"
    done
  fi
  if [[ ${3:-} == qemu ]]; then
    command -v qemu-system-riscv64 >/dev/null || die "qemu-system-riscv64 is missing (tools/install-deps)"
  fi
  return 0
}

# require_comparison: trapeze and the guest are there, and what it is compared against: the
# --baseline build if one was given (it must be an executable), else QEMU.
require_comparison() {
  if [[ -n $baseline ]]; then
    require "$trapeze" "$dir"
    [[ -x $baseline ]] || die "--baseline $baseline is not an executable"
  else
    require "$trapeze" "$dir" qemu
  fi
}

# guest_bench_options ARGS...: the options of the whole-guest benchmarks (boot.sh, nested.sh),
# --engine, --runs, --cpus, --trapeze, --dir, --timeout, --baseline, --baseline-cpus and --plot,
# into the variables of those names (engine, runs, cpus, trapeze, dir, timeout_s, baseline,
# baseline_cpus, plot), whose defaults the caller sets first (a script without a baseline
# comparison or a chart leaves `baseline` and `baseline_cpus`, or `plot`, unset: those options
# are then refused).
guest_bench_options() {
  while (($#)); do
    (($# >= 2)) || die "$1 needs an argument"
    case $1 in
      --engine) engine=$2 ;;
      --runs) runs=$2 ;;
      --cpus) cpus=$2 ;;
      --trapeze) trapeze=$2 ;;
      --dir) dir=$2 ;;
      --timeout) timeout_s=$2 ;;
      --baseline)
        [[ -v baseline ]] || die "unknown argument '$1' (see the header of $0)"
        baseline=$2 ;;
      --baseline-cpus)
        [[ -v baseline_cpus ]] || die "unknown argument '$1' (see the header of $0)"
        baseline_cpus=$2 ;;
      --plot)
        [[ -v plot ]] || die "unknown argument '$1' (see the header of $0)"
        plot=$2 ;;
      *) die "unknown argument '$1' (see the header of $0)" ;;
    esac
    shift 2
  done
  [[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive number"
  [[ $cpus =~ ^[1-9][0-9]*$ ]] || die "--cpus must be a positive number"
  if [[ -v baseline_cpus && -n $baseline_cpus ]]; then
    [[ $baseline_cpus =~ ^[1-9][0-9]*$ ]] || die "--baseline-cpus must be a positive number"
  fi
  [[ $timeout_s =~ ^[1-9][0-9]*$ ]] || die "--timeout must be a positive number of seconds"
}

# ratio A B: A / B to two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# timed_run OUT ERR CMD...: runs CMD (stdin /dev/null, stdout to OUT, stderr to ERR) within
# timeout_s seconds; prints its wall time in seconds and returns its exit status.
timed_run() {
  local out=$1 err=$2; shift 2
  local start end status
  start=$(date +%s.%N)
  timeout --kill-after=10 "$timeout_s" "$@" </dev/null >"$out" 2>"$err"
  status=$?
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f\n", e - s }'
  return $status
}

# initrd_with_program SRC NAME WORK [GCC_FLAGS...]: builds the C program SRC for riscv64 (static)
# as /NAME and writes WORK/initrd.img: the guest's test initramfs with it appended, for
# rdinit=/NAME. Dies if the build fails.
initrd_with_program() {
  local src=$1 name=$2 work=$3
  shift 3
  command -v riscv64-linux-gnu-gcc >/dev/null || die "riscv64-linux-gnu-gcc is missing (tools/install-deps)"
  mkdir -p "$work/root"
  riscv64-linux-gnu-gcc -O2 -static "$@" -o "$work/root/$name" "$src" || die "riscv64 build failed"
  (cd "$work/root" && find . | cpio -o -H newc --quiet | gzip -9) >"$work/extra.cpio.gz"
  cat "$dir/test-initrd.img" "$work/extra.cpio.gz" >"$work/initrd.img"
}
