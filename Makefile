# Bulkhead: the two set-up commands of the README are `make run` and `make test`.
# Each installs what it needs on a fresh Debian 12 machine with Swift (only what is missing).

SWIFT ?= swift
BIN := .build/debug
# Debian packages: libseccomp/libsystemd headers for the C modules, pkg-config to find them,
# systemd for systemd-analyze (tests compare our syscall groups and units with it), iproute2
# for the tap tests, gcc for the test guest, python3 for test fixtures (Debian kernel
# unpacking, a UDP sender inside a test network namespace).
PACKAGES := libseccomp-dev libsystemd-dev pkg-config systemd iproute2 gcc python3

.PHONY: deps build run test bench clean

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

# Every figure beside its reference from the same run (release build; takes a few minutes).
bench: deps
	$(SWIFT) build -c release
	.build/release/bulkhead-filter-bench
	.build/release/bulkhead-protocol-bench
	python3 Benchmarks/WorkerFigures/worker_figures.py .build/release/bulkhead-worker
	python3 Benchmarks/ParentStart/first-byte.py .build/release 20
	sh Benchmarks/VirtioRead/virtio-read.sh .build/release/bulkhead-worker

clean:
	rm -rf .build
