# berth: the two commands a newcomer needs on a fresh Debian or Ubuntu machine.
#
#   sudo make demo    the course's walkthrough: every written chapter's demo
#   sudo make test    the whole test suite, failing if it leaves residue
#
# Both install what they need when it is missing (Debian packages, Go
# modules), build what they need, and find Go even under sudo, whose PATH
# usually has none. Instructors: sudo make demo PAUSE=1 waits for Enter
# between beats.

SHELL := /bin/bash

# Debian packages the course needs: a static busybox for every rootfs,
# iproute2 and util-linux's unshare for the network checks, iptables for NAT;
# for chapter 06, a local registry (docker-registry), and skopeo and umoci as
# the reference tools its images are checked against.
PACKAGES := busybox-static iproute2 util-linux iptables docker-registry skopeo umoci

# bench also needs runc: chapter 07's engine is measured against it.
BENCH_PACKAGES := runc

# Go: on PATH, else where the official tarball, Debian or snap put it, else
# the invoking user's go when run through sudo.
GO ?= $(shell command -v go 2>/dev/null || \
	for g in /usr/local/go/bin/go /usr/lib/go/bin/go /snap/bin/go; do [ -x $$g ] && { echo $$g; break; }; done || true)
ifeq ($(GO),)
ifneq ($(SUDO_USER),)
GO := $(shell sudo -u $(SUDO_USER) -i sh -c 'command -v go' 2>/dev/null)
endif
endif

STEPS := bin/steps
NOBODY := 65534
PAUSE ?=
DEMO_FLAGS := $(if $(PAUSE),--pause,)
TEST_FLAGS ?= -count=1 -timeout 20m

.PHONY: all demo test test-user deps gocheck build vet check bench clean

all: build

gocheck:
	@if [ -z "$(GO)" ]; then \
	  echo "make: cannot find the go command. Install Go (https://go.dev/doc/install) or run: sudo make GO=/path/to/go $(MAKECMDGOALS)"; exit 1; fi
	@echo "make: using $(GO) ($$($(GO) env GOVERSION))"

# deps installs the missing Debian packages, saying which, and only those.
deps:
	@missing=""; \
	for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "make: packages present: $(PACKAGES)"; exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then echo "make: missing packages:$$missing; run: sudo make $(MAKECMDGOALS)"; exit 1; fi; \
	echo "make: installing:$$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get install -y -q --no-install-recommends $$missing >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $$missing; } || exit 1; \
	case " $$missing " in *" docker-registry "*) \
	  if command -v systemctl >/dev/null 2>&1 && systemctl disable --now docker-registry >/dev/null 2>&1; then \
	    echo "make: stopped and disabled the docker-registry service Debian starts on :5000 (the course starts its own registries)"; \
	  fi;; \
	esac

build: gocheck
	$(GO) mod download
	$(GO) build -o $(STEPS) ./steps
	@if [ -n "$$SUDO_UID" ]; then chown -R $$SUDO_UID:$$SUDO_GID bin; fi

demo: deps build
	$(STEPS) doctor
	$(STEPS) demo all $(DEMO_FLAGS)

# test runs every tier (as root nothing is skipped: BERTH_REQUIRE_FIXTURES
# turns a missing busybox into a failure), then compares the host with the
# snapshot taken before: any mount, link, netns, cgroup, rule or process left
# behind fails the run.
test: deps build vet
	@set -o pipefail; snap=$$(mktemp /tmp/berth-residue-XXXXXX.json); \
	$(STEPS) residue save $$snap || exit 1; \
	BERTH_REQUIRE_FIXTURES=1 $(GO) test $(TEST_FLAGS) ./...; status=$$?; \
	if [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory test-user || status=1; fi; \
	$(STEPS) residue check $$snap || status=1; \
	rm -f $$snap; exit $$status

# test-user proves the promise made to students without root: `go test ./...`
# as an unprivileged user (nobody) passes, the privileged tests skipping with
# a reason. It runs on a copy of the tree, with its own Go caches, all removed
# afterwards.
test-user: gocheck
	@set -e; dir=$$(mktemp -d /tmp/berth-user-XXXXXX); trap 'rm -rf "$$dir"' EXIT; \
	mkdir "$$dir/src" "$$dir/home"; \
	tar -c --exclude=./.git --exclude=./bin . | tar -x -C "$$dir/src"; \
	chown -R $(NOBODY):$(NOBODY) "$$dir"; chmod 755 "$$dir"; \
	echo "make: go test ./... as an unprivileged user (uid $(NOBODY))"; \
	userenv="env -i PATH=$$(dirname $(GO)):/usr/bin:/bin HOME=$$dir/home GOFLAGS=-modcacherw GOPROXY=$$($(GO) env GOPROXY)"; \
	cd "$$dir/src" && setpriv --reuid=$(NOBODY) --regid=$(NOBODY) --clear-groups $$userenv $(GO) test -count=1 ./...

vet: gocheck
	$(GO) vet ./...

# check prints the course's progress table (go run ./steps check).
check: deps build
	$(STEPS) check

# bench runs every benchmark the chapters quote: the cost of starting a
# process plain, chrooted and pivot_rooted, of a veth pair, of a pull, and
# the engine's `berth run` beside runc and unshare (final/).
bench: deps build
	@$(MAKE) --no-print-directory deps PACKAGES="$(BENCH_PACKAGES)"
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin
	rm -rf "$${XDG_CACHE_HOME:-$$HOME/.cache}"/berth-testkit-* /tmp/berth-testkit-*
