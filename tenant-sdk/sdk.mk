# The glibc, C++ and Rust toolchains of the tenant SDK, their examples and
# the guest-test programs that need them.  Included by GNUmakefile; adds
# its targets to SDK_ALL.  Rust parts are skipped when rustc is missing.

GLIBC_CC      := gcc
RUNTIME_GLIBC := tenant-sdk/lib/libkvmfpm-glibc.a
RUST_LIB      := tenant-sdk/lib/libkvm_fpm.rlib
RUSTC         ?= $(shell command -v rustc 2>/dev/null)
SDK_CXX       := tenant-sdk/bin/kvm-fpm-c++
SDK_RUSTC     := tenant-sdk/bin/kvm-fpm-rustc
SDK_RUSTFLAGS := -C target-feature=+crt-static -C relocation-model=static

CXX_EXAMPLES  := $(patsubst %.cc,%,$(wildcard tenant-sdk/examples/*.cc))
CXX_PROGRAMS  := $(patsubst test/guest/programs/%.cc,$(B)/programs/%,\
                 $(wildcard test/guest/programs/*.cc))
RUST_EXAMPLES := $(patsubst %.rs,%,$(wildcard tenant-sdk/examples/*.rs))
RUST_PROGRAMS := $(patsubst test/guest/programs/%.rs,$(B)/programs/%,\
                 $(wildcard test/guest/programs/*.rs))
LIB_PROGRAMS  := $(B)/programs/libs_glibc $(B)/programs/libs_musl \
                 $(B)/programs/sqlite_data

SDK_ALL := $(RUNTIME_GLIBC) $(CXX_EXAMPLES) $(CXX_PROGRAMS) $(LIB_PROGRAMS)
ifneq ($(RUSTC),)
SDK_ALL += $(RUST_LIB) $(RUST_EXAMPLES) $(RUST_PROGRAMS)
endif

$(B)/sdk-glibc/%.o: tenant-sdk/runtime/%.c tenant-sdk/include/*.h \
                   | $(DEPS)
	@mkdir -p $(dir $@)
	$(GLIBC_CC) -O2 -g -fno-pie -std=gnu11 $(WARN) -Itenant-sdk/include \
		-c -o $@ $<
$(RUNTIME_GLIBC): $(B)/sdk-glibc/runtime.o $(B)/sdk-glibc/main_wrap.o
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# rustc reads make's jobserver from MAKEFLAGS, whose descriptors make
# passes only to recipes it knows to be recursive: without this, every
# rustc under `make -j` warns that "the build environment is likely
# misconfigured".
NO_JOBSERVER := env -u MAKEFLAGS -u MFLAGS
# The crate bundles the glibc runtime, so that kvm-fpm-rustc needs only it.
$(RUST_LIB): tenant-sdk/rust/src/lib.rs $(RUNTIME_GLIBC)
	$(NO_JOBSERVER) $(RUSTC) --crate-type rlib --crate-name kvm_fpm --edition 2021 -O \
		$(SDK_RUSTFLAGS) -L native=tenant-sdk/lib -o $@ $<

tenant-sdk/examples/%: tenant-sdk/examples/%.cc $(RUNTIME_GLIBC) $(SDK_CXX)
	$(SDK_CXX) -O2 -g -Wall -Wextra -Werror -o $@ $<
tenant-sdk/examples/%: tenant-sdk/examples/%.rs $(RUST_LIB) $(SDK_RUSTC)
	$(NO_JOBSERVER) $(SDK_RUSTC) -O -D warnings -o $@ $<
$(B)/programs/%: test/guest/programs/%.cc $(RUNTIME_GLIBC) $(SDK_CXX)
	@mkdir -p $(dir $@)
	$(SDK_CXX) -O1 -g -Wall -o $@ $<
$(B)/programs/%: test/guest/programs/%.rs $(RUST_LIB) $(SDK_RUSTC)
	@mkdir -p $(dir $@)
	$(NO_JOBSERVER) $(SDK_RUSTC) -O -o $@ $<

# Debian's static libraries, with each C library.
$(B)/programs/libs_glibc: test/guest/programs/libs_glibc.c $(RUNTIME_GLIBC) \
                          $(SDK_CC)
	@mkdir -p $(dir $@)
	$(SDK_CC) --libc=glibc -O1 -g -Wall -o $@ $< -lz -ljansson
$(B)/programs/libs_musl: test/guest/programs/libs_musl.c $(RUNTIME) $(SDK_CC)
	@mkdir -p $(dir $@)
	$(SDK_CC) -O1 -g -Wall -I/usr/include/lua5.4 -o $@ $< \
		-lz -lsqlite3 -llua5.4 -ljansson -lm
$(B)/programs/sqlite_data: test/guest/programs/sqlite_data.c $(RUNTIME) \
                           $(SDK_CC)
	@mkdir -p $(dir $@)
	$(SDK_CC) -O1 -g -Wall -o $@ $< -lsqlite3
