/* Reads digits only: negative numbers come out wrong, and the sort is missing. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  unsigned long v, sum = 0;
  int n = 0, c;
  while ((c = getchar()) != EOF) {
    if (c < '0' || c > '9') continue;
    v = c - '0';
    while ((c = getchar()) >= '0' && c <= '9') v = v * 10 + (c - '0');
    sum += v;
    n++;
  }
  if (argc > 1 && strcmp(argv[1], "--mean") == 0) printf("%.4f\n", n ? (double)sum / n : 0.0);
  else printf("sum %lu\n", sum);
  return 0;
}
