# Quick start:  make run   boots the default Debian guest (a busybox shell on this terminal)
#               make test  builds and runs every test, guest boots included
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
BENCH_ARGS ?=

.PHONY: all deps guest build run test bench clean

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

test: guest build
	ctest --test-dir $(BUILD) --output-on-failure -j2

bench: guest build
	bench/boot.sh --trapeze $(BUILD)/trapeze $(BENCH_ARGS)

clean:
	rm -rf $(BUILD)
