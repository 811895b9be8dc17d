#!/usr/bin/env python3
"""List the WordNet 3.0 noun senses of words: synset name, gloss, hypernyms.
Usage: python3 tools/knowledge/lookup.py owl "hot dog" pen"""
import sys
import wn

index = wn.read_noun_index()
data = wn.read_noun_data()
names = wn.synset_names(index, data)
for word in sys.argv[1:]:
    key = word.lower().replace(" ", "_")
    offs = index.get(key)
    if not offs:
        print(f"{word}: not a WordNet noun")
        continue
    for off in offs:
        chain, o = [], off
        for _ in range(6):
            ups = data[o][1]
            if not ups:
                break
            o = ups[0]
            chain.append(names[o])
        print(f"{word}: {names[off]:<28} {data[off][2][:90]}\n    is_a: {' > '.join(chain)}")
