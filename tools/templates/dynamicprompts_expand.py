#!/usr/bin/env python3
"""Expands templates with the real dynamicprompts, for mural's comparison test.

usage: dynamicprompts_expand.py CORPUS.json WILDCARDS_DIR

Prints a JSON array: for each template of CORPUS.json (a JSON array of
strings), the prompts of dynamicprompts' CombinatorialPromptGenerator
(max_prompts=1000), or "ERR ..." if it raised.
"""
import json
import logging
import sys
import warnings

warnings.simplefilter("ignore")
logging.disable(logging.CRITICAL)

from dynamicprompts.generators import CombinatorialPromptGenerator
from dynamicprompts.wildcards import WildcardManager

corpus_path, wildcards = sys.argv[1:3]
corpus = json.load(open(corpus_path, encoding="utf-8"))
gen = CombinatorialPromptGenerator(WildcardManager(wildcards))
out = []
for t in corpus:
    try:
        out.append(gen.generate(t, max_prompts=1000))
    except Exception as e:
        out.append(f"ERR {type(e).__name__}: {e}")
json.dump(out, sys.stdout, ensure_ascii=False)
