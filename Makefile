# Quick start:  make run   boots the default Debian guest (a busybox shell on this terminal)
#               make debian  builds a full Debian system disk once (tools/debian-image), boots it
#               make test  builds and runs every test, guest boots included, but the slow ones
#               make test-slow  the tests labelled slow (the Debian system image, 20-fold replays)
#               make test-sanitize  the unit, isa and guest tests built with ASan + UBSan
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
BENCH_ARGS ?=
# make debian: the system disk, and how the machine that boots it is shaped.
DEBIAN_IMAGE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/trapeze/debian.img
DEBIAN_RUN_ARGS ?= --cpus 2 --memory 2048 --net user,hostfwd=tcp:127.0.0.1:2222-:22
SANITIZE_BUILD ?= build-sanitize
# The tests `make test-sanitize` runs (a ctest label regex; x86guest and fuzz are left out).
SANITIZE_LABELS ?= ^(unit|isa|hostile|process|guest)$$
# Optimisation of the sanitizer tree, fixed when it is configured (CI: -O1 -g1, see .ci/run).
SANITIZE_OPT ?= -O2 -g
# Leaks, and any ASan report, end the process with an error (abort, so ctest names the signal);
# UBSan is built not to recover (-fno-sanitize-recover=all) and prints where it stopped.
SANITIZE_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1

.PHONY: all deps guest build run debian test test-slow build-sanitize test-sanitize test-smp-soak build-tsan bench clean

all: build

deps:
	tools/install-deps

guest: deps
	tools/fetch-guest
	tests/x86guest/fetch-debian-cloud-kernel.sh >/dev/null

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD)

run: guest build
	$(BUILD)/trapeze run

# Debian trixie with systemd, a serial login and ssh on 127.0.0.1:2222 (README, "A full Debian
# system"); the image is built the first time only.
debian: guest build
	test -e $(DEBIAN_IMAGE) || tools/debian-image --trapeze $(BUILD)/trapeze $(DEBIAN_IMAGE)
	$(BUILD)/trapeze run --boot disk --disk $(DEBIAN_IMAGE) $(DEBIAN_RUN_ARGS)

# Everything but the tests labelled slow (minutes each: the full Debian system, 20-fold replays).
test: guest build
	ctest --test-dir $(BUILD) --output-on-failure -j2 -LE slow

test-slow: guest build
	ctest --test-dir $(BUILD) --output-on-failure -L slow

# Debian booted again and again on 2, 4 and 8 parallel harts under both engines (minutes).
SOAK_ROUNDS ?= 3
test-smp-soak: guest build
	tests/guest/smp_soak.sh $(BUILD)/trapeze $(SOAK_ROUNDS)

# ThreadSanitizer: the unit, smp and guest tests with harts on threads (see docs/architecture.md).
TSAN_BUILD ?= build-tsan
$(TSAN_BUILD)/build.ninja:
	cmake -S . -B $(TSAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRAPEZE_TSAN=ON \
		-DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++

build-tsan: deps $(TSAN_BUILD)/build.ninja
	cmake --build $(TSAN_BUILD) --target trapeze runloop_test rv64_jit_test baremetal_guests

# gcc, whatever CC/CXX say: the sanitizer flags are the ones gcc takes.
$(SANITIZE_BUILD)/build.ninja:
	cmake -S . -B $(SANITIZE_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRAPEZE_SANITIZE=ON \
		-DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ "-DTRAPEZE_OPT_FLAGS=$(SANITIZE_OPT)"

build-sanitize: deps $(SANITIZE_BUILD)/build.ninja
	$(SANITIZE_ENV) cmake --build $(SANITIZE_BUILD)

test-sanitize: guest build-sanitize
	$(SANITIZE_ENV) ctest --test-dir $(SANITIZE_BUILD) --output-on-failure -j2 -L '$(SANITIZE_LABELS)'

bench: guest build
	bench/boot.sh --trapeze $(BUILD)/trapeze $(BENCH_ARGS)

clean:
	rm -rf $(BUILD) $(SANITIZE_BUILD) $(TSAN_BUILD)
