# fuzz.mk -- the libFuzzer build (GNU make), run by `make fuzz` from the
# top-level Makefile, which passes FUZZ_CC (clang, found by configure),
# srcdir, the pkg-config flags (FUZZ_CPPFLAGS) and libraries (FUZZ_LIBS).
#
# The layers the parsers live in (lib/util, lib/core, lib/mail, lib/net)
# are compiled again with clang into tests/fuzz/obj/ under the build
# directory, instrumented for coverage and with ASan + UBSan (UBSan not
# recoverable: undefined behaviour is a crash), so the normal gcc build is
# untouched.  Each tests/fuzz/fuzz_NAME.c is linked with libFuzzer's main
# into tests/fuzz/fuzz_NAME.

FUZZ_TARGETS = dsn mime reply header address policy postfix_log config api_json webhook compose http html_links track

FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS = -g -O1 -std=gnu11 -pthread -Wall -Wextra -Wno-unused-parameter -Werror $(FUZZ_SAN)
FUZZ_INCLUDES = -I$(srcdir)/lib/util -I$(srcdir)/lib/core -I$(srcdir)/lib/mail -I$(srcdir)/lib/net \
	-I$(srcdir)/tests/fuzz
FUZZ_DEFS = -DSYSCONFDIR='"/etc"' -DPKGDATADIR='"/usr/share/postinbox"'

FUZZ_LIB_SRCS = $(sort $(wildcard $(srcdir)/lib/util/*.c $(srcdir)/lib/core/*.c $(srcdir)/lib/mail/*.c \
	$(srcdir)/lib/net/*.c))
FUZZ_LIB_OBJS = $(patsubst $(srcdir)/%.c,tests/fuzz/obj/%.o,$(FUZZ_LIB_SRCS))
FUZZ_LIB = tests/fuzz/obj/libfuzzlib.a
FUZZ_BINS = $(patsubst %,tests/fuzz/fuzz_%,$(FUZZ_TARGETS))

all: $(FUZZ_BINS)

tests/fuzz/obj/%.o: $(srcdir)/%.c
	@mkdir -p $(dir $@)
	@echo "  FUZZCC   $<"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_INCLUDES) $(FUZZ_DEFS) $(FUZZ_CPPFLAGS) \
		-MMD -MP -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	@rm -f $@
	@ar rcs $@ $^

tests/fuzz/fuzz_%: $(srcdir)/tests/fuzz/fuzz_%.c $(srcdir)/tests/fuzz/fuzz.h $(FUZZ_LIB)
	@echo "  FUZZLD   $@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_INCLUDES) $(FUZZ_CPPFLAGS) -o $@ $< $(FUZZ_LIB) \
		$(FUZZ_LIBS) -lpthread -lm

clean:
	rm -rf tests/fuzz/obj $(FUZZ_BINS)

.PHONY: all clean
.SECONDARY: $(FUZZ_LIB_OBJS)
-include $(FUZZ_LIB_OBJS:.o=.d)
