#!/usr/bin/env python3
"""Derive mural's WordNet sense and hypernym tables from WordNet 3.0.

Input: /usr/share/wordnet (Debian's `wordnet-base`). Output, in
crates/mural-knowledge/data/wordnet/:

  senses.tsv     sorted `lemma<TAB>synset,synset,...`: a noun's senses in
                 WordNet's order (most frequent first), all of them, for
                 lemmas of up to four words ("statue of liberty").
  hypernyms.tsv  sorted `synset<TAB>parent`: each noun synset's first
                 hypernym (or instance hypernym), for every synset on a
                 chain from a sense in senses.tsv. entity.n.01 has none.

Synset names follow NLTK's convention (first lemma of the synset, its sense
number for that lemma): owl.n.01, pen.n.02. Concept frames use them as ids.

Run: python3 tools/wordnet/gen_synsets.py
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "knowledge"))
import wn  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "crates", "mural-knowledge", "data", "wordnet")


def main():
    index = wn.read_noun_index()
    data = wn.read_noun_data()
    names = wn.synset_names(index, data)
    senses = {}
    for lemma, offs in index.items():
        if any(ch.isdigit() for ch in lemma) or lemma.count("_") > 3:
            continue
        key = lemma.replace("_", " ").lower()
        senses.setdefault(key, [names[o] for o in offs])
    parent = {}
    offset_of = {v: k for k, v in names.items()}
    todo = [offset_of[s] for ss in senses.values() for s in ss]
    while todo:
        o = todo.pop()
        if names[o] in parent:
            continue
        ups = data[o][1]
        parent[names[o]] = names[ups[0]] if ups else ""
        if ups:
            todo.append(ups[0])
    rows = sorted(senses.items(), key=lambda r: r[0].encode())
    with open(os.path.join(OUT, "senses.tsv"), "w", encoding="utf-8") as f:
        for lemma, ss in rows:
            f.write(f"{lemma}\t{','.join(ss)}\n")
    with open(os.path.join(OUT, "hypernyms.tsv"), "w", encoding="utf-8") as f:
        for s, p in sorted(parent.items(), key=lambda r: r[0].encode()):
            f.write(f"{s}\t{p}\n")
    print(f"{len(rows)} lemmas, {len(parent)} synsets", file=sys.stderr)


if __name__ == "__main__":
    main()
