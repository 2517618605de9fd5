"""Compares two benchmark outputs by their parsed JSON content.

    python3 check.py EXPECTED ACTUAL

Each file holds one JSON document per line; the lines are compared as
parsed values, so key order and number formatting do not matter. Prints
nothing and exits 0 when equal; prints the first difference and exits 1.
"""
import json
import sys


def load(path):
    with open(path, "rb") as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    expected, actual = load(sys.argv[1]), load(sys.argv[2])
    if len(expected) != len(actual):
        print(f"{len(actual)} documents, expected {len(expected)}")
        sys.exit(1)
    for i, (e, a) in enumerate(zip(expected, actual), 1):
        if e != a:
            if isinstance(e, dict) and isinstance(a, dict):
                keys = sorted(set(e) ^ set(a)) or sorted(k for k in e if e[k] != a[k])
                print(f"document {i} differs at keys {keys[:5]}")
            else:
                print(f"document {i} differs")
            sys.exit(1)


if __name__ == "__main__":
    main()
