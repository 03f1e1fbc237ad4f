# Sourced by the guest test scripts: arguments, the guest cache and its images, the time limit,
# and the console helpers they all use.
#   $1 TRAPEZE binary, $2 ENGINE; TRAPEZE_GUEST_DIR, TRAPEZE_GUEST_TIMEOUT as in boot_test.sh.
# Sets trapeze, engine, dir, timeout_s, work (removed at exit unless the script sets its own trap).

fail() { echo "FAIL: $*" >&2; exit 1; }

(($# >= 2)) || fail "usage: $(basename "$0") TRAPEZE ENGINE"
trapeze=$1 engine=$2
dir=${TRAPEZE_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/trapeze/debian-riscv64}
timeout_s=${TRAPEZE_GUEST_TIMEOUT:-600}
for f in Image fw_jump.bin test-initrd.img; do
  [[ -s $dir/$f ]] || fail "guest image $dir/$f is missing: run tools/fetch-guest (make test does)"
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The console without carriage returns, and the last lines of it and of stderr on failure.
clean_console() { tr -d '\r' <"$work/console.raw" >"$work/console"; }
show() { echo "--- console (last 40 lines)"; tail -n 40 "$work/console"; echo "--- stderr"; cat "$work/stderr"; }

# A TCP port on host loopback nobody listens on now.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# An HTTP server on host loopback serving $work/www/trapeze-http.txt, which holds a fresh random
# token (the guest's trapeze.http=PORT fetch prints it); it stops by itself after the time limit.
# Sets token, http_port and http_pid.
start_http_server() {
  mkdir -p "$work/www"
  token=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  echo "$token" >"$work/www/trapeze-http.txt"
  http_port=$(free_port)
  timeout "$timeout_s" python3 -m http.server "$http_port" --bind 127.0.0.1 --directory "$work/www" \
    >"$work/http.log" 2>&1 &
  http_pid=$!
}
