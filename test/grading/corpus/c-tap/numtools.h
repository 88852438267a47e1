int sum_digits(int n);
int is_prime(int n);
int gcd(int a, int b);
