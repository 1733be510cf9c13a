# Bulkhead: the two set-up commands of the README are `make run` and `make test`.
# Each installs what it needs on a fresh Debian 12 machine with Swift (only what is missing).

SWIFT ?= swift
BIN := .build/debug
# Debian packages: libseccomp/libsystemd headers for the C modules, pkg-config to find them,
# systemd for systemd-analyze (tests compare our syscall groups and units with it), iproute2
# for the tap tests, gcc for the test guest, python3 for test fixtures (Debian kernel
# unpacking, a UDP sender inside a test network namespace), strace for the profile coverage
# run (it traces every thread of a VM with the arguments the rules check), tmux for the console
# tests in a real terminal.
PACKAGES := libseccomp-dev libsystemd-dev pkg-config systemd iproute2 gcc python3 strace tmux

.PHONY: deps build run test bench storm load clean fuzz-build fuzz fuzz-smoke profile-coverage

deps:
	@missing=""; for p in $(PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@# The unprivileged user the helpers run as when `bulkhead run` starts as root (README: Security model).
	@getent passwd bulkhead >/dev/null || useradd --system --no-create-home --shell /usr/sbin/nologin bulkhead

build: deps
	$(SWIFT) build

# Boots the built-in test guest (`banner poweroff`) in a fully confined VM; exits 0.
run: build
	$(BIN)/bulkhead run

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(MAKE) fuzz-smoke

# Profile coverage (README "Profile coverage"): every scenario of Tests/CoverageTests under
# strace with the real filters, once in kill mode (every rule exercised or its path declared
# and tested; this run is also part of `make test`) and once with every filter in log mode
# (the calls no rule allows: profile drift). Reports in .build/<triple>/profile-coverage-*.txt.
profile-coverage: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --filter ProfileCoverageTests
	BULKHEAD_COVERAGE_SECCOMP=log $(SWIFT) test --skip-build --filter ProfileCoverageTests

# libFuzzer targets (Fuzzing/, issue 9): their own package and scratch path, so the normal
# build never carries -sanitize=fuzzer. `make fuzz FUZZ_SECONDS=N` runs each target N seconds;
# `make fuzz-smoke` runs each 30 s. Both print executions, exec/s, coverage and crashes per
# target and fail on any crash, hang or OOM (input kept in .build-fuzz/artifacts/TARGET/).
FUZZ_SECONDS ?= 300
FUZZ_BUILD := $(SWIFT) build --package-path Fuzzing --scratch-path $(CURDIR)/.build-fuzz \
	-Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address

fuzz-build: deps
	$(FUZZ_BUILD)

fuzz: fuzz-build
	Fuzzing/run-fuzzers.sh $(FUZZ_SECONDS)

fuzz-smoke: fuzz-build
	Fuzzing/run-fuzzers.sh 30

# Every figure beside its reference from the same run (release build; takes a few minutes),
# then BENCHMARKS.md: the table of them all with the machine it ran on (Benchmarks/report.py).
# BENCH_NOTE="..." adds a sentence to the table (e.g. what else ran on the machine).
REL := .build/release
bench: deps
	$(SWIFT) build -c release
	python3 Benchmarks/report.py BENCHMARKS.md \
		"$(REL)/bulkhead-filter-bench" \
		"$(REL)/bulkhead-protocol-bench" \
		"python3 Benchmarks/WorkerFigures/worker_figures.py $(REL)/bulkhead-worker" \
		"python3 Benchmarks/ParentStart/first-byte.py $(REL) 20" \
		"python3 Benchmarks/ParentStart/run-pss.py $(REL)" \
		"python3 Benchmarks/ParentStart/cgroup-cost.py $(REL) 20" \
		"sh Benchmarks/VirtioRead/virtio-read.sh $(REL)/bulkhead-worker" \
		"python3 Benchmarks/Control/control-bench.py $(REL)"

# Fault storm (Tests/Storm/storm.py): 50 SIGKILLs of each process of a running VM (parent,
# worker, block, net, exec) and 50 of the block helper mid-request, at seeded random moments;
# each run must end promptly, say what happened and leave nothing. `make storm SEED=N` repeats a plan.
storm: build
	python3 Tests/Storm/storm.py --bin $(BIN) --per-victim 50 $(if $(SEED),--seed $(SEED))

# Load (Tests/Storm/load.py): 16 VMs at once, then 200 one after the other with the host's
# file handles, processes and memory sampled; fails unless all is correct and flat.
load: build
	python3 Tests/Storm/load.py --bin $(BIN) --concurrent 16 --sequential 200 --strict

clean:
	rm -rf .build .build-fuzz
