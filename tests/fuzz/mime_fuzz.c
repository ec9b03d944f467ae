/*
 * mime_fuzz.c - libFuzzer target for the body scan (mime.c, uri.c and
 * their helpers): a whole message, header included, cut into chunks whose
 * sizes come from the first input byte; small caps on every other run so
 * that the cap paths are fuzzed too.
 *
 * Seeds: tests/data/mime (tests/fuzz/corpus/mime links there). `make fuzz
 * FUZZ_TARGETS=mime` builds and runs it; every build replays the seeds
 * and tests/fuzz/regressions/mime (see tests/fuzz/README.md).
 */
#include <stddef.h>
#include <stdint.h>

#include "msgscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct rg_mime_limits big = { 1 << 20, 500, 32 };
	static const struct rg_mime_limits tiny = { 100, 5, 2 };
	struct rg_msgscan *s;
	size_t chunk;

	if (size == 0)
		return 0;
	chunk = (size_t)(data[0] & 0x7f) + 1;
	s = rg_msgscan_new_limits(data[0] & 0x80 ? &tiny : &big, 50, 20);
	rg_msgscan_expect_header(s);
	for (size_t i = 1; i < size; i += chunk)
		rg_msgscan_body(s, data + i, size - i < chunk ? size - i : chunk);
	rg_msgscan_end(s);
	s = rg_msgscan_free(s);
	return 0;
}
