# SPDX-License-Identifier: MIT
#
# make            build/libcloudshim.so and build/cloudshim
# make test       install what is missing, then every test, plain and under
#                 AddressSanitizer+UBSan (and ThreadSanitizer for the engine
#                 and for the library under threaded check tools)
# make demo       install what is missing, start a local object store, read
#                 it through the shim with unmodified programs
# make bench      the benchmarks in bench/ (ratios, side by side)
#
# BUILD=dir and SAN=asan|tsan select a sanitizer build in its own directory.

CC      ?= cc
BUILD   ?= build
SAN     ?=

# libcurl's and libcrypto's headers only: backend/curl_lib.c and
# backend/crypto_lib.c open the libraries at first use
PKGS    := libcurl libcjson libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs libcjson 2>/dev/null || echo -lcjson)

# Wrappers are compiled without _FILE_OFFSET_BITS=64 and without fortify so
# that "open" is emitted as open and "open64" as open64 (see shim/real.h).
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -U_FORTIFY_SOURCE -fPIC -pthread \
	   -Wall -Wextra -Werror -Wno-unused-parameter -fvisibility=hidden \
	   -I. $(PKG_CFLAGS)
LDLIBS  := $(PKG_LIBS) -ldl -pthread

ifeq ($(SAN),asan)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(SAN),tsan)
CFLAGS  += -fsanitize=thread -fno-omit-frame-pointer
LDFLAGS += -fsanitize=thread
endif

BACKEND_SRC := $(sort $(wildcard backend/*.c))
# shim sources that do not interpose anything: unit tests link them directly
SHIM_CORE_SRC := shim/config.c shim/config_json.c shim/config_value.c shim/path.c
SHIM_SRC    := $(filter-out $(SHIM_CORE_SRC) shim/cloudshim.c,$(sort $(wildcard shim/*.c)))
UNIT_SRC    := $(sort $(wildcard tests/unit/test_*.c))
TOOL_SRC    := $(sort $(wildcard tests/tools/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

CORE_OBJ    := $(call obj,$(BACKEND_SRC) $(SHIM_CORE_SRC))
SHIM_OBJ    := $(call obj,$(SHIM_SRC))
UNIT_BIN    := $(patsubst tests/unit/%.c,$(BUILD)/%,$(UNIT_SRC))
TOOL_BIN    := $(patsubst tests/tools/%.c,$(BUILD)/%,$(TOOL_SRC))

all: $(BUILD)/libcloudshim.so $(BUILD)/cloudshim

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# ThreadSanitizer's runtime calls __cxa_atexit before it is set up (shim/wrap_atexit.c)
$(BUILD)/obj/shim/wrap_atexit.o: CFLAGS += -fno-sanitize=thread

$(BUILD)/libcore.a: $(CORE_OBJ)
	$(AR) rcs $@ $^

# Only the interposed symbols are exported (-fvisibility=hidden elsewhere).
$(BUILD)/libcloudshim.so: $(SHIM_OBJ) $(BUILD)/libcore.a
	$(CC) -shared $(LDFLAGS) -Wl,-z,now -o $@ $(SHIM_OBJ) $(BUILD)/libcore.a $(LDLIBS)

$(BUILD)/cloudshim: $(call obj,shim/cloudshim.c) $(BUILD)/libcore.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/test_%: tests/unit/test_%.c $(BUILD)/libcore.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%: tests/tools/%.c tests/tools/report.h tests/tools/mounted.h
	$(CC) $(CFLAGS) -O2 $(LDFLAGS) -o $@ $< $(LDLIBS)

units: $(UNIT_BIN)
tools: $(TOOL_BIN)

deps:
	@scripts/deps.sh

test: deps
	@tests/run.sh

demo: deps all
	@scripts/demo.sh

bench: deps all
	@bench/run.sh

clean:
	rm -rf build

.PHONY: all units tools deps test demo bench clean
.SECONDARY:

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
