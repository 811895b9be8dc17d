#!/usr/bin/env python3
"""Derive mural's compact noun -> category table from WordNet 3.0.

Input: the WordNet 3.0 database as Debian's `wordnet-base` package installs it
(/usr/share/wordnet). Output, in crates/mural-knowledge/data/wordnet/:

  nouns.tsv    sorted `lemma<TAB>code` lines (single words, and two-word
               compounds such as "hot dog" unless they are abstract), and
               code "-" for words WordNet knows only as verbs, adjectives
               or adverbs. The code is one letter per
               category (see CODES); upper case marks a "weak" noun, a lemma
               whose verb/adjective/adverb senses are tagged more often in
               WordNet's sense-tagged corpus than its noun senses (red, flying), which the analyzer treats as a modifier first.
  plurals.tsv  sorted `plural<TAB>singular` lines from noun.exc, for the
               irregular plurals whose singular is in nouns.tsv.

A lemma's category is that of its first WordNet sense (the most frequent);
when WordNet has no frequency evidence for the lemma, that of the most
pictureable of its senses (PREFERENCE). A sense's category is the first
root in ROOTS found among its hypernyms (instance hypernyms included).

Run: python3 tools/wordnet/gen_categories.py [/usr/share/wordnet]
"""
import os
import sys

WN = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/wordnet"
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "crates", "mural-knowledge", "data", "wordnet")

# (category, code, roots as lemma.sense_number). Order matters: the first match wins.
ROOTS = [
    ("person", "p", ["person.1", "people.1"]),
    ("animal", "a", ["animal.1", "mythical_monster.1", "imaginary_being.1"]),
    ("food", "f", ["food.1", "food.2", "beverage.1", "dish.2", "edible_fruit.1"]),
    ("plant", "l", ["plant.2", "fungus.1", "flower.1"]),
    ("vehicle", "v", ["vehicle.1", "craft.2"]),
    ("artwork", "r", ["art.1", "painting.1", "photograph.1", "sculpture.1", "graphic_art.1"]),
    ("text", "t", ["text.1", "writing.2", "written_communication.1", "signboard.1", "emblem.1",
                    "logo.1", "letter.2", "character.8", "inscription.1", "book.1", "poster.1"]),
    ("building", "b", ["building.1", "structure.1", "housing.1"]),
    ("landscape", "s", ["geological_formation.1", "body_of_water.1", "geographical_area.1",
                         "land.4", "biome.1", "forest.1", "sky.1", "celestial_body.1", "tract.1",
                         "landscape.2", "field.1"]),
    ("object", "o", ["object.1", "matter.3", "artifact.1"]),
]
ABSTRACT = "x"
# Among equally frequent senses, the one that makes the better picture.
PREFERENCE = ["a", "f", "l", "v", "b", "o", "r", "t", "s", "p", "x"]


def read_index(pos):
    """lemma -> list of synset offsets, most frequent first."""
    out = {}
    with open(os.path.join(WN, "index." + pos), encoding="latin-1") as f:
        for line in f:
            if line.startswith("  "):
                continue
            parts = line.split()
            lemma, _pos, synset_cnt, p_cnt = parts[0], parts[1], int(parts[2]), int(parts[3])
            tagged = int(parts[4 + p_cnt + 1])
            offsets = parts[4 + p_cnt + 2:]
            assert len(offsets) == synset_cnt, line
            out[lemma] = (offsets, tagged)
    return out


def read_hypernyms():
    """offset -> list of hypernym offsets (@ and @i pointers)."""
    hyp = {}
    with open(os.path.join(WN, "data.noun"), encoding="latin-1") as f:
        for line in f:
            if line.startswith("  "):
                continue
            parts = line.split(" | ")[0].split()
            offset = parts[0]
            w_cnt = int(parts[3], 16)
            i = 4 + 2 * w_cnt
            p_cnt = int(parts[i])
            i += 1
            ups = []
            for _ in range(p_cnt):
                sym, target, pos = parts[i], parts[i + 1], parts[i + 2]
                if sym in ("@", "@i") and pos == "n":
                    ups.append(target)
                i += 4
            hyp[offset] = ups
    return hyp


def main():
    nouns = read_index("noun")
    others = {}
    for pos in ("verb", "adj", "adv"):
        for lemma, (_offs, tagged) in read_index(pos).items():
            others[lemma] = others.get(lemma, 0) + tagged
    hyp = read_hypernyms()

    root_code = {}
    for _cat, code, roots in ROOTS:
        for r in roots:
            lemma, sense = r.rsplit(".", 1)
            off = nouns[lemma][0][int(sense) - 1]
            root_code.setdefault(off, code)
    order = {code: i for i, (_c, code, _r) in enumerate(ROOTS)}

    cache = {}

    def category(off):
        if off in cache:
            return cache[off]
        best = None
        seen = set()
        stack = [off]
        while stack:
            o = stack.pop()
            if o in seen:
                continue
            seen.add(o)
            code = root_code.get(o)
            if code is not None and (best is None or order[code] < order[best]):
                best = code
            stack.extend(hyp.get(o, []))
        cache[off] = best or ABSTRACT
        return cache[off]

    rows = []
    for lemma, (offs, tagged) in nouns.items():
        if any(ch.isdigit() for ch in lemma) or lemma.count("_") > 1:
            continue
        code = category(offs[0])
        if tagged == 0 and len(offs) > 1:
            # No frequency evidence: prefer the most pictureable sense
            # ("heron" the bird over Heron of Alexandria, "hot dog" the food).
            code = min((category(o) for o in offs), key=PREFERENCE.index)
        if "_" in lemma and code == ABSTRACT:
            continue  # abstract compounds never name a pictureable subject
        if others.get(lemma, 0) > tagged:
            code = code.upper()
        rows.append((lemma.replace("_", " ").lower(), code))
    # Words WordNet knows only as verbs, adjectives or adverbs, so the
    # analyzer can tell "never seen" (a new noun) from "not a noun".
    noun_lemmas = {lemma for lemma, _ in rows}
    for pos in ("verb", "adj", "adv"):
        for lemma in read_index(pos):
            if "_" in lemma or any(ch.isdigit() for ch in lemma):
                continue
            word = lemma.lower()
            if word not in noun_lemmas:
                rows.append((word, "-"))
    rows = sorted(set(rows), key=lambda r: r[0].encode("utf-8"))
    # one row per lemma (lowercased duplicates such as "Mars"/"mars": keep the first)
    uniq, last = [], None
    for lemma, code in rows:
        if lemma != last:
            uniq.append((lemma, code))
            last = lemma
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "nouns.tsv"), "w", encoding="utf-8") as f:
        for lemma, code in uniq:
            f.write(f"{lemma}\t{code}\n")
    known = {lemma for lemma, _ in uniq}
    plurals = []
    with open(os.path.join(WN, "noun.exc"), encoding="latin-1") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and "_" not in parts[0]:
                base = parts[1].replace("_", " ")
                if base in known and parts[0] != base:
                    plurals.append((parts[0], base))
    plurals = sorted(set(plurals), key=lambda r: r[0].encode("utf-8"))
    with open(os.path.join(OUT, "plurals.tsv"), "w", encoding="utf-8") as f:
        for p, base in plurals:
            f.write(f"{p}\t{base}\n")
    print(f"{len(uniq)} nouns, {len(plurals)} irregular plurals", file=sys.stderr)


if __name__ == "__main__":
    main()
