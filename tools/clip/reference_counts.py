#!/usr/bin/env python3
"""Writes the reference CLIP token counts that mural-clip's tests compare with.

Uses open_clip's own SimpleTokenizer (the `open_clip_torch` wheel, unpacked;
torch and numpy are stubbed because counting does not need them):

  pip download open_clip_torch --no-deps -d /tmp/oc && (cd /tmp/oc && unzip -q *.whl)
  pip install ftfy regex
  python3 tools/clip/reference_counts.py /tmp/oc > crates/mural-clip/tests/fixtures/clip_counts.tsv
"""
import sys
import types

sys.path.insert(0, sys.argv[1])
for name in ("torch", "numpy"):
    sys.modules[name] = types.ModuleType(name)
sys.modules["torch"].LongTensor = sys.modules["torch"].Tensor = object
import importlib.util  # noqa: E402

spec = importlib.util.spec_from_file_location("tok", sys.argv[1] + "/open_clip/tokenizer.py")
tok = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tok)
t = tok.SimpleTokenizer()

texts = []
with open("data/eval/PartiPrompts.tsv", encoding="utf-8") as f:
    next(f)
    for line in f:
        texts.append(line.split("\t")[0])
texts += [
    "(masterpiece:1.2), best quality, 8k uhd, dslr",
    "It's a dog's life, isn't it?!",
    "café déjà vu, naïve façade",
    "“curly quotes” and ‘single’ ones",
    "emoji 🐱 and 日本語 text",
    "&amp; html &lt;tags&gt;",
    "--ar 16:9 --stylize 250 --v 6.1",
    "a  lot   of\twhitespace\n here",
]
for text in texts:
    clean = " ".join(text.split())
    print(f"{len(t.encode(text))}\t{clean}")
