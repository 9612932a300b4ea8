#!/usr/bin/env python3
"""Writes src/retrieve/common-english.txt: lowercase English words common enough that a
word from it is never taken for a misspelling (Zipf frequency >= 3.2 in wordfreq's English
data, letters a-z only), sorted.

    pip install wordfreq==3.1.1 && python3 scripts/common-english.py

The word list is derived from wordfreq's data (Robyn Speer, CC BY-SA 4.0,
https://github.com/rspeer/wordfreq); see the header the file is written with.
"""
import pathlib
import re

from wordfreq import top_n_list, zipf_frequency

MIN_ZIPF = 3.2
OUT = pathlib.Path(__file__).resolve().parent.parent / "src" / "retrieve" / "common-english.txt"

words = sorted(
    w
    for w in top_n_list("en", 100_000)
    if re.fullmatch("[a-z]+", w) and zipf_frequency(w, "en") >= MIN_ZIPF
)
OUT.parent.mkdir(exist_ok=True)
with OUT.open("w") as f:
    f.write(
        f"# English words with a wordfreq Zipf frequency >= {MIN_ZIPF} (scripts/common-english.py).\n"
        "# Derived from wordfreq 3.1.1 data by Robyn Speer et al., CC BY-SA 4.0.\n"
    )
    f.write("\n".join(words) + "\n")
print(f"{len(words)} words -> {OUT}")
