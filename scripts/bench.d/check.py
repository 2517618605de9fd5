"""Compares two benchmark outputs by their parsed JSON content.

    python3 check.py EXPECTED ACTUAL

Each file holds one JSON document per line; the lines are compared as
parsed values, so key order and number formatting do not matter (floats
agree to 12 significant digits: cjson writes 14). Prints
nothing and exits 0 when equal; prints the first difference and exits 1.
"""
import json
import math
import sys


def same(e, a):
    if isinstance(e, float) or isinstance(a, float):
        return isinstance(a, (int, float)) and isinstance(e, (int, float)) and \
            math.isclose(e, a, rel_tol=1e-12)
    if isinstance(e, dict) and isinstance(a, dict):
        return e.keys() == a.keys() and all(same(e[k], a[k]) for k in e)
    if isinstance(e, list) and isinstance(a, list):
        return len(e) == len(a) and all(same(x, y) for x, y in zip(e, a))
    return e == a


def load(path):
    with open(path, "rb") as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    expected, actual = load(sys.argv[1]), load(sys.argv[2])
    if len(expected) != len(actual):
        print(f"{len(actual)} documents, expected {len(expected)}")
        sys.exit(1)
    for i, (e, a) in enumerate(zip(expected, actual), 1):
        if not same(e, a):
            if isinstance(e, dict) and isinstance(a, dict):
                keys = sorted(set(e) ^ set(a)) or sorted(k for k in e if not same(e[k], a[k]))
                print(f"document {i} differs at keys {keys[:5]}")
            else:
                print(f"document {i} differs")
            sys.exit(1)


if __name__ == "__main__":
    main()
