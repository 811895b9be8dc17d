#!/usr/bin/env python3
"""Compares mural's combinatorial expansion with the real dynamicprompts.

usage: compare.py CORPUS.json WILDCARDS_DIR MURAL_EXPAND_BINARY

CORPUS.json is a JSON array of templates. For each, dynamicprompts'
CombinatorialPromptGenerator (max_prompts=1000) and mural's
`examples/expand` must give the same prompts in the same order. Prints
every difference; exits 1 if there is one.
"""
import json
import subprocess
import sys
import warnings
import logging

warnings.simplefilter("ignore")
logging.disable(logging.CRITICAL)

from dynamicprompts.generators import CombinatorialPromptGenerator
from dynamicprompts.wildcards import WildcardManager

corpus_path, wildcards, binary = sys.argv[1:4]
corpus = json.load(open(corpus_path, encoding="utf-8"))
gen = CombinatorialPromptGenerator(WildcardManager(wildcards))

expected = []
for t in corpus:
    try:
        expected.append(gen.generate(t, max_prompts=1000))
    except Exception as e:  # the corpus must hold templates both accept
        expected.append(f"ERR {type(e).__name__}: {e}")

got = json.loads(
    subprocess.run(
        [binary, wildcards, "1000"],
        input=json.dumps(corpus),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
)

bad = 0
for t, e, g in zip(corpus, expected, got):
    if e != g:
        bad += 1
        print(f"MISMATCH {t!r}\n  dynamicprompts: {json.dumps(e)[:400]}\n  mural:          {json.dumps(g)[:400]}")
total = sum(len(e) for e in expected if isinstance(e, list))
print(f"{len(corpus) - bad}/{len(corpus)} templates agree ({total} prompts)")
sys.exit(1 if bad or len(corpus) < 100 else 0)
