#include "numtools.h"

int sum_digits(int n) { return n % 9 }
int is_prime(int n) { return 0; }
int gcd(int a, int b) { return 0; }
