/*
 * rgtest.h - a small table-driven test runner
 *
 * Each check counts as one test; a failure prints "got X, want Y" with
 * the file and line. RGT_MAIN runs the listed suites and ends with the
 * line "N passed, N failed"; the exit status is 1 when anything failed.
 */
#ifndef RGTEST_H
#define RGTEST_H

#include <stdio.h>
#include <string.h>

static int rgt_passed, rgt_failed;
static const char *rgt_case = "";

#define RGT_CASE(name) (rgt_case = (name))

#define RGT_CHECK(cond, ...) do { \
	if (cond) { \
		rgt_passed++; \
	} else { \
		rgt_failed++; \
		printf("FAIL %s:%d [%s]: ", __FILE__, __LINE__, rgt_case); \
		printf(__VA_ARGS__); \
		printf("\n"); \
	} \
} while (0)

#define RGT_STREQ(got, want) do { \
	const char *g_ = (got), *w_ = (want); \
	RGT_CHECK(g_ != NULL && strcmp(g_, w_) == 0, "got \"%s\", want \"%s\"", \
	    g_ ? g_ : "(null)", w_); \
} while (0)

#define RGT_CONTAINS(got, want) do { \
	const char *g_ = (got), *w_ = (want); \
	RGT_CHECK(g_ != NULL && strstr(g_, w_) != NULL, \
	    "got \"%s\", want it to contain \"%s\"", g_ ? g_ : "(null)", w_); \
} while (0)

#define RGT_INTEQ(got, want) do { \
	long long g_ = (long long)(got), w_ = (long long)(want); \
	RGT_CHECK(g_ == w_, "got %lld, want %lld", g_, w_); \
} while (0)

#define RGT_MAIN(...) \
int main(void) { \
	void (*suites_[])(void) = { __VA_ARGS__ }; \
	for (size_t i_ = 0; i_ < sizeof(suites_) / sizeof(suites_[0]); i_++) \
		suites_[i_](); \
	printf("%d passed, %d failed\n", rgt_passed, rgt_failed); \
	return rgt_failed != 0; \
}

#endif
