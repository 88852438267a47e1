"""Checker: the program's output (/check/stdout) holds the input's numbers, sorted."""
import sys

expected = sorted(int(x) for x in open(sys.argv[1]).read().split())
try:
    got = [int(x) for x in open("/check/stdout").read().split()]
except ValueError:
    print("the output is not a list of integers")
    sys.exit(1)
if got == expected:
    print("sorted correctly")
    sys.exit(0)
if sorted(got) == expected:
    print("the right numbers, but not in order")
    sys.exit(1)
print(f"expected {len(expected)} numbers in order, got {got[:10]}")
sys.exit(1)
