"""A tiny program for the sample pipeline: adds numbers given on the command line."""
import sys


def add(values):
    return sum(int(v) for v in values)


if __name__ == "__main__":
    print(add(sys.argv[1:]))
