# hg-bft — the two commands of the README's quick start are `make demo` and `make test`.
#
#   make demo    install missing system packages, build, and run a short demo
#   make test    install missing system packages, build, and run the whole test suite
#   make bench   release build and the benchmarks of contrib/bench (see docs/PERFORMANCE.md)
#   make fuzz    the libFuzzer targets of contrib/fuzz, FUZZ_SECONDS each (see docs/TESTING.md)
#   make lint    swift-format (shipped with the Swift toolchain) checks the style of .swift-format
#   make format  rewrites the sources in that style

SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PACKAGES := libsodium-dev libgmp-dev zlib1g-dev libdeflate-dev pkg-config
BIN := .build/debug/hg-bft

.PHONY: deps test-deps build demo test bench fuzz release clean lint format

## Install the C libraries hg-bft links against, if pkg-config cannot find them.
deps:
	@if pkg-config --exists libsodium gmp zlib libdeflate 2>/dev/null; then \
		echo "system packages: present"; \
	else \
		echo "installing: $(PACKAGES)"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PACKAGES); \
	fi

## The test suite cross-checks the format with an independent Python reader (contrib/tools),
## which needs python3 and the cryptography package, tests sync over a real OpenSSH
## server (openssh-server, openssh-client), and compares log --graph with git's.
test-deps: deps
	@python3 -c "import cryptography" 2>/dev/null || python3 -m pip install --quiet cryptography 2>/dev/null || \
		( $(SUDO) apt-get update -qq && \
		  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-cryptography )
	@# Tests/HGGraphTests/GraphLayoutGitTests.swift compares log --graph with git log --graph.
	@command -v git >/dev/null 2>&1 || ( $(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq git )
	@# Tests/CLITests/SSHTests.swift starts a throwaway OpenSSH server on a loopback port.
	@if [ -x /usr/sbin/sshd ] && command -v ssh >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1; then \
		echo "openssh: present"; \
	else \
		echo "installing: openssh-server openssh-client"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server openssh-client; \
	fi

build: deps
	$(SWIFT) build

# Static Swift runtime: every command starts about 4 ms sooner (fewer libraries to load and relocate).
release: deps
	$(SWIFT) build -c release --static-swift-stdlib

demo: build
	@contrib/demo.sh $(BIN)

test: test-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

bench: release
	@contrib/bench/run.sh

## libFuzzer targets (contrib/fuzz): builds them with -sanitize=fuzzer,address into .build-fuzz and
## runs each for FUZZ_SECONDS seconds. Not part of `make test` or CI.
FUZZ_SECONDS ?= 60
fuzz: deps
	@SWIFT=$(SWIFT) contrib/fuzz/run.sh $(FUZZ_SECONDS)

## Style: .swift-format (4 spaces, 120 columns, ordered imports, no force try, ...). CI runs lint.
FORMATTED := Sources Tests contrib/bench/HGBench
lint:
	$(SWIFT) format lint --strict --recursive --parallel $(FORMATTED)

format:
	$(SWIFT) format format --in-place --recursive --parallel $(FORMATTED)

clean:
	rm -rf .build
