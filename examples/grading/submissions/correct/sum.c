#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b) {
  long x = *(const long *)a, y = *(const long *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  long v[1000];
  int n = 0;
  while (n < 1000 && scanf("%ld", &v[n]) == 1) n++;
  if (n == 0) {
    fprintf(stderr, "no numbers on input\n");
    return 1;
  }
  long sum = 0;
  for (int i = 0; i < n; i++) sum += v[i];
  if (argc > 1 && strcmp(argv[1], "--mean") == 0) {
    printf("%.4f\n", (double)sum / n);
  } else if (argc > 1 && strcmp(argv[1], "--sort") == 0) {
    qsort(v, n, sizeof v[0], cmp);
    for (int i = 0; i < n; i++) printf("%ld\n", v[i]);
  } else {
    printf("sum %ld\n", sum);
  }
  return 0;
}
