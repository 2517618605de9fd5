"""The csvout workload's Python peer: csv.DictReader to csv.DictWriter in
one process, lines ended by "\n" as luaworkq -f csv ends them.

    python3 csvout.py copy FILE     every record, written back
    python3 csvout.py third FILE    the records whose id is a multiple of 3
"""
import csv
import sys


def main():
    mode, path = sys.argv[1], sys.argv[2]
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        writer = csv.DictWriter(sys.stdout, reader.fieldnames, lineterminator="\n")
        writer.writeheader()
        if mode == "copy":
            writer.writerows(reader)
        else:
            writer.writerows(r for r in reader if int(r["id"]) % 3 == 0)


if __name__ == "__main__":
    main()
