/* Multiplies instead of adding. */
#include <stdio.h>

int main(void) {
  long v, p = 1;
  while (scanf("%ld", &v) == 1) p *= v;
  printf("sum %ld\n", p);
  return 0;
}
