#!/usr/bin/env python3
"""Writes bench/programs' input files into DIR, the same bytes on every host and run: English-like
text (words drawn from a fixed vocabulary with a Zipf-like law, as in real prose) and pseudo-random
bytes, and the text compressed with gzip (level 6, no name or time in its header). Only the standard
library's seeded generator and zlib are used, so the files never change.

usage: bench/programs/inputs.py DIR
"""
import gzip
import itertools
import os
import random
import sys

TEXT_BYTES = 12 << 20
BLOB_BYTES = 64 << 20
VOCABULARY = 20000


def vocabulary(rng):
    syllables = ["an", "ber", "co", "da", "el", "fi", "gor", "ha", "in", "jo", "ka", "lu", "mi", "no",
                 "or", "pa", "qui", "ro", "sa", "ti", "un", "ve", "wa", "xi", "yo", "ze", "ing", "tion"]
    words = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))))
    return sorted(words)


def text(rng, size):
    words = vocabulary(rng)
    cumulative = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(words))))
    out, n = [], 0
    while n < size:
        line = " ".join(rng.choices(words, cum_weights=cumulative, k=rng.randint(4, 16)))
        if rng.random() < 0.3:
            line = line.capitalize() + "."
        out.append(line)
        n += len(line) + 1
    return ("\n".join(out) + "\n").encode()[:size]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(26)
    corpus = text(rng, TEXT_BYTES)
    with open(os.path.join(out, "text.txt"), "wb") as f:
        f.write(corpus)
    with open(os.path.join(out, "text.txt.gz"), "wb") as f:
        f.write(gzip.compress(corpus, compresslevel=6, mtime=0))
    with open(os.path.join(out, "blob.bin"), "wb") as f:
        f.write(rng.randbytes(BLOB_BYTES))


if __name__ == "__main__":
    main()
