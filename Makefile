# pickled: memoize a command's output for cron jobs and shell scripts.
# GNU make. `make`, `make check`, `make install`, `make demo`, `make deps`.

VERSION    = 0.1.0
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
# Shell completions go where the system's shells look for them, whatever
# PREFIX: the directories bash-completion's and fish's pkg-config files
# name, and Debian's zsh vendor directory.  Override for a user install
# (e.g. BASHCOMPDIR=~/.local/share/bash-completion/completions).
BASHCOMPDIR ?= $(or $(shell $(PKG_CONFIG) --variable=completionsdir bash-completion 2>/dev/null),/usr/share/bash-completion/completions)
FISHCOMPDIR ?= $(or $(shell $(PKG_CONFIG) --variable=completionsdir fish 2>/dev/null),/usr/share/fish/vendor_completions.d)
ZSHCOMPDIR ?= /usr/share/zsh/vendor-completions

CC        ?= cc
AR        ?= ar
PKG_CONFIG ?= pkg-config
PKGS       = yaml-0.1 libxxhash libzstd hiredis libsodium libseccomp

CFLAGS    ?= -O2 -g
WARNINGS   = -Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes \
             -Wmissing-prototypes -Wformat=2 -Wundef -Wcast-qual -Wvla
ifdef WERROR
WARNINGS  += -Werror
endif
DEP_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
YAML_VERSION := $(shell $(PKG_CONFIG) --modversion yaml-0.1 2>/dev/null)
# Small libraries are linked statically by default: a hit is mostly process
# start-up, and binding shared libraries costs more than the replay.
# libzstd stays shared: Debian's libzstd.a is built without threads, and
# compression must run on zstd's workers to keep up with the command.
# STATIC_DEPS=0 links everything dynamically.
STATIC_DEPS ?= 1
STATIC_PKGS = yaml-0.1 libxxhash hiredis libsodium libseccomp
ifeq ($(STATIC_DEPS),1)
DEP_LIBS   := -Wl,-Bstatic $(shell $(PKG_CONFIG) --libs $(STATIC_PKGS) 2>/dev/null) -Wl,-Bdynamic \
              $(shell $(PKG_CONFIG) --libs libzstd 2>/dev/null)
else
DEP_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
endif
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 \
             -DPK_VERSION='"$(VERSION)"' -DPK_SYSCONFDIR='"$(SYSCONFDIR)"' \
             -Ilib $(WARNINGS) $(DEP_CFLAGS) $(CPPFLAGS) $(CFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS)
LIBS       = $(DEP_LIBS) -lpthread

# What the objects are built with, warnings aside, kept in .build-flags:
# objects depend on it, so that `make SYSCONFDIR=/opt/etc` (or another CC or
# CFLAGS) after a build rebuilds rather than ship the old path.  Warnings
# are left out: `WERROR=1 make check` and `make stress` share one tree in
# CI, at the same time, and must not rebuild under each other.
BUILD_FLAGS := $(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(DEP_CFLAGS) $(LIBS) $(VERSION) $(SYSCONFDIR) \
               $(YAML_VERSION)
ifneq ($(BUILD_FLAGS),$(file <.build-flags))
$(file >.build-flags,$(BUILD_FLAGS))
endif

LIB_SRC   = $(wildcard lib/*.c)
CMD_SRC   = $(wildcard cmd/*.c)
UNIT_SRC  = $(wildcard tests/unit/test_*.c)
LIB_OBJ   = $(LIB_SRC:.c=.o)
CMD_OBJ   = $(CMD_SRC:.c=.o)
UNIT_BIN  = $(UNIT_SRC:.c=)
FIU_HELPER = tests/faults/fiu_nth.so

.PHONY: all check unit cli trace stress faults fuzz valgrind deps depcheck install uninstall clean demo bench fmt fmt-check lint-man deb
all: depcheck pickled

depcheck:
	@sh scripts/deps.sh --check build

deps:
	@sh scripts/deps.sh --install build test

$(LIB_OBJ) $(CMD_OBJ): .build-flags

lib/libpickled.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

pickled: $(CMD_OBJ) lib/libpickled.a
	$(CC) $(ALL_LDFLAGS) -o $@ $(CMD_OBJ) lib/libpickled.a $(LIBS)

%.o: %.c
	$(CC) $(ALL_CFLAGS) $(FILE_CFLAGS) -c -o $@ $<

# `pickled --version` names the libraries linked in and their versions
# (libyaml's headers carry none: YAML_VERSION, from pkg-config, above).
lib/version.o: FILE_CFLAGS = -DPK_STATIC_DEPS=$(STATIC_DEPS) -DPK_YAML_BUILT='"$(YAML_VERSION)"'

# XXH3's AVX2 code for hash.c to pick at run time (see lib/hash.h).
ifeq ($(shell uname -m),x86_64)
lib/hash_avx2.o: FILE_CFLAGS = -mavx2
endif

tests/unit/test_%: tests/unit/test_%.c lib/libpickled.a
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< lib/libpickled.a $(LIBS) \
		$$($(PKG_CONFIG) --libs cmocka)

# The tracer's fast path (lib/trace_shm.h): a shared object preloaded into
# the traced programs, embedded in pickled by lib/trace_blob.c.  Built with
# its own flags: CFLAGS may ask for sanitizers, whose runtime a program
# that preloads it does not have.
SHIM_CFLAGS = -std=c11 -D_GNU_SOURCE -O2 -fPIC -shared -fvisibility=hidden -Ilib $(WARNINGS)
lib/trace-shim/shim.so: lib/trace-shim/shim.c lib/trace_path.c lib/trace_path.h lib/trace_shm.h lib/trace_record.h
	$(CC) $(SHIM_CFLAGS) -o $@ lib/trace-shim/shim.c lib/trace_path.c
lib/trace_blob.o: lib/trace-shim/shim.so

# The tracer's test driver (tests/trace/trace-run.c): lib/trace through
# lib/capture, as pickled run --trace runs it, writing the records.
tests/trace/trace-run: tests/trace/trace-run.c lib/libpickled.a
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< lib/libpickled.a $(LIBS)

# `make check` first installs missing test tools when run as root (the
# README's second command), checks that lib/ is still in layers (no include
# cycle, nothing of cmd/: scripts/check-layers.sh), then runs both tiers
# through prove, with a private redis-server for the Redis tier's tests
# (scripts/with-redis.sh).
check: deps
	@sh scripts/check-layers.sh
	@$(MAKE) --no-print-directory pickled $(UNIT_BIN) tests/trace/trace-run
	@sh scripts/with-redis.sh $(MAKE) --no-print-directory unit cli trace

unit: $(UNIT_BIN)
	CMOCKA_MESSAGE_OUTPUT=TAP prove --exec '' $(UNIT_BIN)

cli: pickled $(FIU_HELPER)
	PICKLED_BIN=$(CURDIR)/pickled prove --exec 'bats --tap' tests/cli/*.bats

# The tracer run against real programs (threads, static binaries, vfork,
# pipelines, io_uring, int 0x80, strace, nobody, Python).
trace: tests/trace/trace-run
	TRACE_RUN=$(CURDIR)/tests/trace/trace-run prove --exec 'bats --tap' tests/trace/*.bats

# Concurrency, crashes, corruption, full disks, hostile caches, signals.
stress: pickled
	PICKLED_BIN=$(CURDIR)/pickled prove --exec 'bats --tap' tests/stress/*.bats

# Fault injection (tests/faults/README.md): every failable call of
# pickled's own code made to fail, one at a time, over a set of scenarios
# (nth.sh), then FAULTS_RUNS operations with each call failing with
# probability 1% (soak.py).  FAULTS_STRIDE=k faults every k-th point only:
# CI's bounded run.  The helper preloaded with libfiu's POSIX wrappers is
# built here (libfiu-dev); the CLI tests use it too.
FAULTS_STRIDE ?= 1
FAULTS_RUNS ?= 10000
FAULTS_SEED ?= 1
FAULTS_WORKERS ?= 4
# Not with CFLAGS: it is preloaded into every program pickled runs too, and
# must not need a sanitizer's runtime.
$(FIU_HELPER): tests/faults/fiu_nth.c
	$(CC) -std=c11 -O2 -g -DFIU_ENABLE=1 $(WARNINGS) -shared -fPIC -o $@ $< \
		$$($(PKG_CONFIG) --libs libfiu) -ldl

faults: pickled $(FIU_HELPER)
	PICKLED_BIN=$(CURDIR)/pickled PK_FIU_HELPER=$(CURDIR)/$(FIU_HELPER) \
		sh scripts/with-redis.sh bash tests/faults/nth.sh -k $(FAULTS_STRIDE)
	PICKLED_BIN=$(CURDIR)/pickled PK_FIU_HELPER=$(CURDIR)/$(FIU_HELPER) \
		python3 tests/faults/soak.py --runs $(FAULTS_RUNS) --seed $(FAULTS_SEED) \
		--workers $(FAULTS_WORKERS)

# libFuzzer harnesses (clang), FUZZ_SECONDS each, FUZZ_JOBS at a time: a
# harness is one process, so FUZZ_JOBS=2 on two cores fuzzes each as long
# with as much CPU, in half the time (each one's output kept together).
FUZZ_SECONDS ?= 20
FUZZ_JOBS ?= 1
FUZZ_HARNESSES = $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
fuzz:
ifeq ($(FUZZ_JOBS),1)
	sh tests/fuzz/run.sh $(FUZZ_SECONDS)
else
	@$(MAKE) --no-print-directory -k -j$(FUZZ_JOBS) -O $(addprefix fuzz-,$(FUZZ_HARNESSES))
endif

fuzz-%:
	sh tests/fuzz/run.sh $(FUZZ_SECONDS) $*

# The CLI tests with pickled under valgrind's memcheck, VALGRIND_JOBS at a
# time: test by test across all files when GNU parallel is installed (bats
# --jobs), else file by file.  Each process's report goes to a file in
# PK_VALGRIND_LOGS (see tests/valgrind-wrapper.sh).  The Redis tier's tests
# get a private redis-server, as in make check.
VALGRIND_JOBS ?= 2
PK_VALGRIND_LOGS ?= /tmp/pickled-valgrind
valgrind: pickled $(FIU_HELPER)
	rm -rf $(PK_VALGRIND_LOGS)
	install -d -m 1777 $(PK_VALGRIND_LOGS)
	install -d -m 0755 $(PK_VALGRIND_LOGS)/bin
	install -m 0755 pickled $(PK_VALGRIND_LOGS)/bin/pickled
	install -m 0644 tests/valgrind.supp $(PK_VALGRIND_LOGS)/bin/valgrind.supp
	@export PK_VALGRIND_LOGS=$(PK_VALGRIND_LOGS) PK_SOURCE_DIR=$(CURDIR) \
		PK_VALGRIND_BIN_DIR=$(PK_VALGRIND_LOGS)/bin \
		PICKLED_BIN=$(CURDIR)/tests/valgrind-wrapper.sh; \
	if parallel --version 2>/dev/null | grep -q 'GNU parallel'; then \
		set -x; sh scripts/with-redis.sh bats --jobs $(VALGRIND_JOBS) --tap tests/cli/*.bats; \
	else \
		set -x; sh scripts/with-redis.sh prove -j$(VALGRIND_JOBS) --exec 'bats --tap' tests/cli/*.bats; \
	fi
	PK_VALGRIND_LOGS=$(PK_VALGRIND_LOGS) sh tests/valgrind-wrapper.sh --check

demo: deps
	@$(MAKE) --no-print-directory pickled
	@sh scripts/demo.sh ./pickled

bench: pickled tests/trace/trace-run
	@TRACE_RUN=$(CURDIR)/tests/trace/trace-run sh bench/run.sh ./pickled

install: pickled
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	install -m 0755 pickled $(DESTDIR)$(BINDIR)/pickled
	install -m 0644 man/pickled.1 $(DESTDIR)$(MANDIR)/man1/pickled.1
	install -m 0644 man/pickled.conf.5 $(DESTDIR)$(MANDIR)/man5/pickled.conf.5
	install -m 0644 completions/pickled.bash $(DESTDIR)$(BASHCOMPDIR)/pickled
	install -m 0644 completions/_pickled $(DESTDIR)$(ZSHCOMPDIR)/_pickled
	install -m 0644 completions/pickled.fish $(DESTDIR)$(FISHCOMPDIR)/pickled.fish

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/pickled $(DESTDIR)$(MANDIR)/man1/pickled.1 \
	      $(DESTDIR)$(MANDIR)/man5/pickled.conf.5 $(DESTDIR)$(BASHCOMPDIR)/pickled \
	      $(DESTDIR)$(ZSHCOMPDIR)/_pickled $(DESTDIR)$(FISHCOMPDIR)/pickled.fish

# The Debian package (debian/, dh): dpkg-buildpackage -us -uc -b in a copy
# of the tree, so that this tree's build is left alone; the .deb, .changes
# and .buildinfo end up in DEBBUILD.
DEBBUILD ?= build-deb
deb:
	@v=$$(dpkg-parsechangelog -S Version) && [ "$$v" = "$(VERSION)" ] || { \
		echo "pickled: debian/changelog says $$v, the Makefile $(VERSION)" >&2; exit 1; }
	rm -rf $(DEBBUILD)/pickled-$(VERSION)
	mkdir -p $(DEBBUILD)/pickled-$(VERSION)
	tar --exclude=./.git --exclude=./$(DEBBUILD) -cf - . | tar -C $(DEBBUILD)/pickled-$(VERSION) -xf -
	cd $(DEBBUILD)/pickled-$(VERSION) && dpkg-buildpackage -us -uc -b
	rm -rf $(DEBBUILD)/pickled-$(VERSION)
	@ls $(DEBBUILD)/pickled_$(VERSION)_*.deb

lint-man:
	mandoc -Tlint -Wwarning man/pickled.1 man/pickled.conf.5

FMT_FILES = lib/*.c lib/*.h lib/trace-shim/*.c cmd/*.c cmd/*.h tests/unit/*.c
fmt:
	clang-format -i $(FMT_FILES)

# What `make fmt` would change, as clang-format's warnings; fails if anything.
fmt-check:
	clang-format --dry-run --Werror $(FMT_FILES)

clean:
	rm -f pickled lib/libpickled.a lib/*.o lib/*.d lib/trace-shim/shim.so cmd/*.o cmd/*.d \
	      $(UNIT_BIN) tests/unit/*.d tests/trace/trace-run tests/trace/*.d .build-flags $(FIU_HELPER)

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d) $(UNIT_SRC:.c=.d) tests/trace/trace-run.d
