/* A TAP 14 harness: every test prints one test point as soon as it ends (line-buffered).
 * With names as arguments only those tests run, which is how lab re-runs the tests left
 * after one was stopped. */
#include <stdio.h>
#include <string.h>

#include "numtools.h"

static int failed;
#define EXPECT_EQ(got, want) do { int g_ = (got), w_ = (want); if (g_ != w_) { \
    printf("  ---\n  message: \"%s: expected %d, got %d\"\n  ...\n", #got, w_, g_); failed = 1; } } while (0)

static void sum_digits_small(void) { EXPECT_EQ(sum_digits(123), 6); }
static void sum_digits_zero(void) { EXPECT_EQ(sum_digits(0), 0); }
static void primes(void) { EXPECT_EQ(is_prime(2), 1); EXPECT_EQ(is_prime(97), 1); }
static void composites(void) { EXPECT_EQ(is_prime(1), 0); EXPECT_EQ(is_prime(91), 0); }
static void gcd_basic(void) { EXPECT_EQ(gcd(12, 18), 6); }
static void gcd_with_zero(void) { EXPECT_EQ(gcd(0, 5), 5); }

static const struct { const char *name; void (*fn)(void); } TESTS[] = {
    {"sum_digits small", sum_digits_small}, {"sum_digits zero", sum_digits_zero},
    {"primes", primes}, {"composites", composites},
    {"gcd basic", gcd_basic}, {"gcd with zero", gcd_with_zero},
};
#define NTESTS (int)(sizeof TESTS / sizeof TESTS[0])

static int wanted(int argc, char **argv, const char *name) {
    if (argc < 2) return 1;
    for (int i = 1; i < argc; i++) if (strcmp(argv[i], name) == 0) return 1;
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    int n = 0;
    for (int i = 0; i < NTESTS; i++) n += wanted(argc, argv, TESTS[i].name);
    printf("TAP version 14\n1..%d\n", n);
    for (int i = 0, k = 0; i < NTESTS; i++) {
        if (!wanted(argc, argv, TESTS[i].name)) continue;
        failed = 0;
        char buf[4096];
        /* the assertion block goes after the test point, as TAP wants it */
        fflush(stdout);
        FILE *saved = stdout;
        FILE *mem = fmemopen(buf, sizeof buf, "w");
        stdout = mem;
        TESTS[i].fn();
        fclose(mem);
        stdout = saved;
        printf("%s %d - %s\n%s", failed ? "not ok" : "ok", ++k, TESTS[i].name, failed ? buf : "");
    }
    return 0;
}
