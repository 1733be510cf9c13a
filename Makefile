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

build: deps
	$(SWIFT) build

run: build
	$(BIN)/bulkhead profiles
	$(BIN)/bulkhead profiles vcpu

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

bench: deps
	$(SWIFT) build -c release --product bulkhead-filter-bench
	.build/release/bulkhead-filter-bench

clean:
	rm -rf .build
