#!/usr/bin/env python3
"""Real programs from Debian's packages (issue 26): xz, gzip, sha256sum, sqlite3, python3, gcc, sort
and grep, timed inside a Debian riscv64 guest under trapeze and under qemu-system-riscv64, and natively
from Debian's amd64 packages of the same versions (bench/programs/fetch checks that), in the same
run, alternating.

The guest is Debian's kernel with the test initramfs; its disk is the riscv64 tree with the programs,
their inputs and bench/programs/run, which times each program inside the guest with the guest's
clock (boot is not counted) after a warm-up on a small input. The native runs chroot into the amd64
tree in a user namespace and run the same script. Each program's output checksum must agree across
every run on the guest, and with the native run except where the output is the architecture's own
(gcc's object file).

Prints each program's median times and speed ratios (higher is faster), then one line
    geomean: trapeze/qemu X.XX, trapeze/native Y.YY
(trapeze's speed against QEMU's and against native speed, geometric means over the programs, first
engine). With --plot, writes the medians as a gnuplot chart (SVG) and its data beside it.

--baseline PATH compares two builds of trapeze instead: --trapeze's and PATH's run alternately,
taking turns at going first (QEMU and native do not run), on the first engine, and the report ends
with one line
    geomean: trapeze/baseline Z.ZZZ
(--trapeze's speed against the baseline's; each program's line also says in how many rounds
--trapeze was the faster; a change is worth keeping only where that holds over
several such runs: one build's runs spread by several percent on a busy host).

usage: bench/programs.sh [--runs N] [--engines jit,interp] [--programs a,b,...] [--trapeze PATH]
                         [--plot FILE.svg|FILE.png] [--baseline PATH]
"""
import argparse
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.join(ROOT, "bench", "programs")
CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "trapeze")
GUEST = os.path.join(CACHE, "debian-riscv64")
TREES = os.path.join(CACHE, "programs")

def read_programs():
    """The programs bench/programs/run knows, in its order (its `readonly all="..."` line)."""
    with open(os.path.join(HERE, "run")) as f:
        m = re.search(r'^readonly all="([^"]+)"$', f.read(), re.M)
    if not m:
        sys.exit("programs: bench/programs/run has no 'readonly all=\"...\"' line")
    return m.group(1).split()


PROGRAMS = read_programs()
ARCH_SPECIFIC_OUTPUT = {"gcc"}  # an object file for the architecture that ran it
BENCH_FILES = ["run", "workload.py", "workload.sql"]
MEMORY_MIB = 1024
# Both guests get a virtio entropy device: without one, the first program that asks getrandom()
# for bytes waits while the kernel gathers entropy from timer jitter (seconds, and not the same
# seconds under each VMM).
TIMEOUT = 1800


def die(msg):
    sys.exit(f"programs: {msg}")


def log(msg):
    print(msg, flush=True)


def prepare():
    """Fetches the guest and both trees, writes the inputs and the scripts into each tree's /bench."""
    for cmd in ([os.path.join(ROOT, "tools", "fetch-guest")], [os.path.join(HERE, "fetch")]):
        if subprocess.run(cmd).returncode != 0:
            die(f"{os.path.relpath(cmd[0], ROOT)} failed")
    data = os.path.join(TREES, "data")
    recipe = os.path.join(data, "recipe")
    inputs = os.path.join(HERE, "inputs.py")
    with open(inputs, "rb") as f:
        wanted = f.read()
    if not os.path.exists(recipe) or open(recipe, "rb").read() != wanted:
        log("writing the input files")
        shutil.rmtree(data, ignore_errors=True)
        subprocess.run([sys.executable, inputs, data], check=True)
        with open(recipe, "wb") as f:
            f.write(wanted)
    for arch in ("riscv64", "amd64"):
        bench = os.path.join(TREES, arch, "bench")
        shutil.rmtree(bench, ignore_errors=True)
        os.makedirs(os.path.join(bench, "data"))
        for name in BENCH_FILES:
            shutil.copy2(os.path.join(HERE, name), bench)
        for name in ("text.txt", "text.txt.gz", "blob.bin"):  # hard links: the inputs are never written
            os.link(os.path.join(data, name), os.path.join(bench, "data", name))
        shutil.copytree(os.path.join(TREES, "lua"), os.path.join(bench, "lua"))
    null = os.path.join(TREES, "amd64", "dev", "null")  # where the native run binds /dev/null
    if not os.path.exists(null):
        open(null, "w").close()


def make_disk(path):
    tree = os.path.join(TREES, "riscv64")
    used = int(subprocess.run(["du", "-sm", tree], capture_output=True, text=True, check=True).stdout.split()[0])
    size = f"{used * 5 // 4 + 64}M"
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "programs", "-d", tree, path, size], check=True,
                   stdout=subprocess.DEVNULL)


def run(cmd, who):
    """{program: (milliseconds, checksum)} from the PROGRAM lines of a run that finished (a guest
    that printed its marker, a native script that exited 0), and the run's output."""
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        die(f"{who}: no result within {TIMEOUT} s")
    out = p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")
    finished = p.returncode == 0 if who == "native" else "TRAPEZE-TEST-OK" in out
    if not finished:
        die(f"{who}: the run did not finish (exit status {p.returncode}):\n{out[-3000:]}")
    found = re.findall(r"^PROGRAM: (\S+) (\d+) ([0-9a-f]+)\s*$", out, re.M)
    return {name: (int(ms), checksum) for name, ms, checksum in found}, out


def guest_append(programs):
    return f"console=ttyS0 panic=-1 trapeze.programs={','.join(programs)}"


def trapeze_cmd(trapeze, engine, disk, programs):
    return [trapeze, "run", "--engine", engine, "--no-stats",
            "--kernel", os.path.join(GUEST, "Image"), "--bios", os.path.join(GUEST, "fw_jump.bin"),
            "--initrd", os.path.join(GUEST, "test-initrd.img"), "--memory", str(MEMORY_MIB),
            "--disk", f"{disk},ro", "--append", guest_append(programs)]


def qemu_cmd(disk, programs):
    return ["qemu-system-riscv64", "-M", "virt", "-m", f"{MEMORY_MIB}M", "-nographic", "-no-reboot",
            "-bios", os.path.join(GUEST, "fw_jump.bin"), "-kernel", os.path.join(GUEST, "Image"),
            "-initrd", os.path.join(GUEST, "test-initrd.img"), "-append", guest_append(programs),
            "-drive", f"file={disk},format=raw,if=none,id=d0,readonly=on",
            "-device", "virtio-blk-device,drive=d0", "-device", "virtio-rng-device"]


def native_cmd(programs):
    # A user namespace makes the chroot possible without root; /dev/null is bound in from the host.
    script = 'mount --bind /dev/null "$1/dev/null" && exec chroot "$1" /usr/bin/dash /bench/run "${@:2}"'
    return ["unshare", "--map-root-user", "--mount", "bash", "-c", script, "-",
            os.path.join(TREES, "amd64"), *programs]


def check_outputs(results, programs):
    """Every run's checksum of a program agrees (native apart where the output is per architecture)."""
    guest = {who: runs for who, runs in results.items() if who != "native"}
    for p in programs:
        sums = {s for runs in guest.values() for _, s in runs[p]}
        if len(sums) != 1:
            die(f"{p}: the guest runs' outputs differ: {sorted(sums)} ({guest})")
        if "native" not in results:
            continue
        native = {s for _, s in results["native"][p]}
        if p not in ARCH_SPECIFIC_OUTPUT and native != sums:
            die(f"{p}: native output {sorted(native)} differs from the guest's {sorted(sums)}")


def geomean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values))


def report(results, programs, engines):
    med = {who: {p: statistics.median(ms for ms, _ in runs[p]) for p in programs} for who, runs in results.items()}
    cols = [f"trapeze-{e}" for e in engines] + ["qemu", "native"]
    log("\nmedian times in ms, and trapeze's speed against QEMU and native (higher is faster):")
    log(f"{'program':<10}" + "".join(f"{c:>16}" for c in cols) +
        "".join(f"{f'{e}/qemu':>14}{f'{e}/native':>14}" for e in engines))
    for p in programs:
        row = f"{p:<10}" + "".join(f"{med[c][p]:>16.0f}" for c in cols)
        for e in engines:
            t = med[f"trapeze-{e}"][p]
            row += f"{med['qemu'][p] / t:>14.2f}{med['native'][p] / t:>14.2f}"
        log(row)
    # The first engine's line last, in the form issue 26 asks for.
    for e in engines[1:] + engines[:1]:
        speed = {ref: geomean([med[ref][p] / med[f"trapeze-{e}"][p] for p in programs]) for ref in ("qemu", "native")}
        label = "geomean" if e == engines[0] else f"geomean ({e})"
        log(f"{label}: trapeze/qemu {speed['qemu']:.2f}, trapeze/native {speed['native']:.2f}")
    return med


def report_builds(results, programs, engine):
    """--baseline's report: both builds' median times and --trapeze's speed against the baseline's."""
    new, old = f"trapeze-{engine}", f"baseline-{engine}"
    med = {who: {p: statistics.median(ms for ms, _ in results[who][p]) for p in programs} for who in (new, old)}
    log(f"\nmedian times in ms ({engine}), --trapeze's speed against the baseline's (higher is faster), and the")
    log("rounds in which --trapeze was faster (the two builds' runs of one round came one after the other):")
    log(f"{'program':<10}{'trapeze':>12}{'baseline':>12}{'speed':>10}{'faster in':>14}")
    for p in programs:
        pairs = list(zip(results[new][p], results[old][p]))  # one per round
        faster = sum(1 for (t, _), (b, _) in pairs if t < b)
        log(f"{p:<10}{med[new][p]:>12.0f}{med[old][p]:>12.0f}{med[old][p] / med[new][p]:>10.3f}"
            f"{f'{faster} of {len(pairs)}':>14}")
    log(f"geomean: trapeze/baseline {geomean([med[old][p] / med[new][p] for p in programs]):.3f}")


def rounds(args, engines, disk, programs):
    """Each round's runs, in order: who and the command."""
    if args.baseline:
        e = engines[0]
        pair = [(f"trapeze-{e}", trapeze_cmd(args.trapeze, e, disk, programs)),
                (f"baseline-{e}", trapeze_cmd(args.baseline, e, disk, programs))]
        return [pair if i % 2 == 0 else pair[::-1] for i in range(args.runs)]
    runs = [(f"trapeze-{e}", trapeze_cmd(args.trapeze, e, disk, programs)) for e in engines]
    runs += [("qemu", qemu_cmd(disk, programs)), ("native", native_cmd(programs))]
    return [runs] * args.runs


def order_warning(args):
    """With --baseline and an odd --runs, --trapeze goes first once more than the baseline; on a
    host where the first run of a pair is slower (this project's: about 5%, the host's fresh huge
    pages), that alone moves the ratio."""
    if args.baseline and args.runs % 2 == 1:
        return (f"note: with --runs {args.runs} --trapeze goes first in one round more than the baseline; "
                "an even number of runs gives each build the first place equally often")
    return None


def plot(med, programs, engines, path):
    """Speed relative to QEMU per program (QEMU = 1, log scale), one bar per engine and native; an
    SVG chart, or a PNG one if path ends in .png."""
    if not shutil.which("gnuplot"):
        die("gnuplot is missing (tools/install-deps installs gnuplot-nox)")
    data = os.path.splitext(path)[0] + ".dat"
    cols = [f"trapeze-{e}" for e in engines] + ["qemu", "native"]
    with open(data, "w") as f:
        f.write("# bench/programs.sh medians in ms; the chart shows qemu/column (speed, QEMU = 1)\n")
        f.write("# program " + " ".join(cols) + "\n")
        for p in programs:
            f.write(p + " " + " ".join(f"{med[c][p]:.0f}" for c in cols) + "\n")
    qemu = 2 + len(engines)
    bars = [f"'{data}' using (${qemu}/${i + 2}):xtic(1) title 'trapeze {e}'" for i, e in enumerate(engines)]
    bars.append(f"'' using (${qemu}/${qemu}) title 'QEMU TCG'")
    bars.append(f"'' using (${qemu}/${qemu + 1}) title 'native (amd64)'")
    terminal = ("pngcairo size 900,420 font 'sans,10'" if path.endswith(".png") else
                "svg size 900,420 dynamic font 'sans,12' background '#ffffff'")
    script = f"""
set terminal {terminal}
set output '{path}'
set title 'Real programs from Debian: speed relative to qemu-system-riscv64 (higher is faster)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set logscale y 2
set ytics (0.0625, 0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64)
set yrange [{0.0625 if "interp" in engines else 0.5}:64]
set grid ytics
set key top left
plot {", ".join(bars)}
"""
    subprocess.run(["gnuplot"], input=script.encode(), check=True)
    log(f"chart: {path} (data: {data})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--engines", default="jit")
    ap.add_argument("--programs", default=",".join(PROGRAMS))
    ap.add_argument("--trapeze", default=os.path.join(ROOT, "build", "trapeze"))
    ap.add_argument("--plot")
    ap.add_argument("--baseline", metavar="PATH", help="another trapeze build to compare with (no QEMU, no native)")
    args = ap.parse_args()
    engines = args.engines.split(",")
    programs = args.programs.split(",")
    if args.runs < 1:
        die("--runs must be at least 1")
    for e in engines:
        if e not in ("jit", "interp"):
            die(f"unknown engine '{e}' (jit, interp)")
    for p in programs:
        if p not in PROGRAMS:
            die(f"unknown program '{p}' (known: {', '.join(PROGRAMS)})")
    if not os.access(args.trapeze, os.X_OK):
        die(f"{args.trapeze} is not built (make build)")
    if args.baseline and not os.access(args.baseline, os.X_OK):
        die(f"--baseline {args.baseline} is not an executable")
    if args.baseline and args.plot:
        die("--plot charts trapeze against QEMU and native, which --baseline does not run")
    if warning := order_warning(args):
        print(warning, file=sys.stderr)
    for tool in ("qemu-system-riscv64", "mkfs.ext4", "unshare"):
        if not shutil.which(tool):
            die(f"{tool} is missing (tools/install-deps)")
    prepare()
    with tempfile.TemporaryDirectory() as work:
        disk = os.path.join(work, "programs.img")
        make_disk(disk)
        plan = rounds(args, engines, disk, programs)
        results = {who: {p: [] for p in programs} for who, _ in plan[0]}
        for i, runs in enumerate(plan, start=1):
            for who, cmd in runs:
                found, out = run(cmd, who)
                missing = [p for p in programs if p not in found]
                if missing:
                    die(f"{who} run {i}: no result for {', '.join(missing)}:\n{out[-3000:]}")
                for p in programs:
                    results[who][p].append(found[p])
                log(f"run {i} {who}: " + ", ".join(f"{p} {found[p][0]} ms" for p in programs))
        check_outputs(results, programs)
        if args.baseline:
            report_builds(results, programs, engines[0])
            return
        med = report(results, programs, engines)
        if args.plot:
            plot(med, programs, engines, args.plot)


if __name__ == "__main__":
    main()
