"""The records workload's inputs and its Python peer.

    python3 records.py gen N DIR      writes DIR/records-N.csv and .tsv: the
                                      same N records (a header, then one
                                      name in ten quoted, with a comma and "")
    python3 records.py pool J FILE    csv.DictReader in a multiprocessing.Pool(J)
                                      over tasks of 1000 lines; prints each
                                      record's price, as records.lua does
"""
import csv
import io
import random
import sys
from multiprocessing import Pool


def gen(n, outdir):
    r = random.Random(7)
    regions = ["north", "south", "east", "west"]
    with open(f"{outdir}/records-{n}.csv", "w", newline="") as c, \
         open(f"{outdir}/records-{n}.tsv", "w") as t:
        c.write("id,name,region,units,price\n")
        t.write("id\tname\tregion\tunits\tprice\n")
        for i in range(1, n + 1):
            name = "item %d" % r.randint(1, 5000)
            boxed = i % 10 == 0
            region, units = r.choice(regions), r.randint(1, 50)
            price = "%d.%02d" % (r.randint(1, 999), r.randint(0, 99))
            quoted = '"%s, ""boxed"""' % name if boxed else name
            plain = name + ', "boxed"' if boxed else name
            c.write(f"{i},{quoted},{region},{units},{price}\n")
            t.write(f"{i}\t{plain}\t{region}\t{units}\t{price}\n")


FIELDS = None


def init(fields):
    global FIELDS
    FIELDS = fields


def work(lines):
    reader = csv.DictReader(io.StringIO("".join(lines)), fieldnames=FIELDS)
    return "".join(d["price"] + "\n" for d in reader)


def pool(jobs, path):
    with open(path, newline="") as f:
        fields = next(csv.reader([f.readline()]))

        def tasks():
            buf = []
            for line in f:
                buf.append(line)
                if len(buf) == 1000:
                    yield buf
                    buf = []
            if buf:
                yield buf

        with Pool(jobs, initializer=init, initargs=(fields,)) as p:
            for out in p.imap(work, tasks()):
                sys.stdout.write(out)


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(int(sys.argv[2]), sys.argv[3])
    else:
        pool(int(sys.argv[2]), sys.argv[3])
