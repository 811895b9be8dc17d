"""Shared WordNet 3.0 reader for mural's knowledge tools (Debian wordnet-base)."""
import os

WN = os.environ.get("WORDNET_DIR", "/usr/share/wordnet")


def read_noun_index():
    """lemma -> [offset, ...] in sense order (most frequent first)."""
    out = {}
    with open(os.path.join(WN, "index.noun"), encoding="latin-1") as f:
        for line in f:
            if line.startswith("  "):
                continue
            parts = line.split()
            lemma, synset_cnt, p_cnt = parts[0], int(parts[2]), int(parts[3])
            out[lemma] = parts[4 + p_cnt + 2:]
    return out


def read_noun_data():
    """offset -> (words, hypernym offsets, gloss)."""
    data = {}
    with open(os.path.join(WN, "data.noun"), encoding="latin-1") as f:
        for line in f:
            if line.startswith("  "):
                continue
            head, _, gloss = line.partition(" | ")
            parts = head.split()
            offset = parts[0]
            w_cnt = int(parts[3], 16)
            words = [parts[4 + 2 * k].lower() for k in range(w_cnt)]
            i = 4 + 2 * w_cnt
            p_cnt = int(parts[i])
            i += 1
            ups, inst = [], []
            for _ in range(p_cnt):
                sym, off, pos = parts[i], parts[i + 1], parts[i + 2]
                if pos == "n" and sym == "@":
                    ups.append(off)
                elif pos == "n" and sym == "@i":
                    inst.append(off)
                i += 4
            data[offset] = (words, ups or inst, gloss.strip())
    return data


def synset_names(index, data):
    """offset -> NLTK-style name (first word of the synset + its sense number)."""
    names = {}
    for off, (words, _, _) in data.items():
        w = words[0]
        # strip adjective markers like "(a)"
        w = w.split("(")[0]
        senses = index.get(w, [])
        n = senses.index(off) + 1 if off in senses else 1
        names[off] = f"{w}.n.{n:02d}"
    return names
