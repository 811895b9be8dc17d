#!/usr/bin/env python3
"""Checks mural knowledge files against the schema in data/SCHEMA.md.
Usage: python3 tools/knowledge/validate.py [FILE.toml ...]  (default: all)
Prints each problem and exits 1 if there is any."""
import glob, os, re, sys, tomllib
import wn

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "crates", "mural-knowledge", "data")
vocab = tomllib.load(open(os.path.join(ROOT, "world", "vocab.toml"), "rb"))
index = wn.read_noun_index()
data = wn.read_noun_data()
SYNSETS = set(wn.synset_names(index, data).values())
MEDIA = set(re.findall(r'^id = "([^"]+)"', open(os.path.join(ROOT, "media.toml")).read(), re.M))
problems = []


def bad(where, msg):
    problems.append(f"{where}: {msg}")


def strs(where, v, lo=0, hi=99, field=""):
    if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
        bad(where, f"{field} must be a list of non-empty strings")
        return []
    if not lo <= len(v) <= hi:
        bad(where, f"{field} has {len(v)} items, want {lo}..{hi}")
    for x in v:
        if x != x.strip() or x.endswith("."):
            bad(where, f"{field}: {x!r} has edge spaces or a final period")
    return v


def ids_in(where, v, allowed, field):
    for x in v:
        if x not in allowed:
            bad(where, f"{field}: unknown id {x!r}")


def check_concept(f, c):
    w = f"{f} concept {c.get('id')}"
    allowed = {"id", "words", "cues", "scale", "look", "states", "found_in", "props", "never", "mood"}
    for k in c:
        if k not in allowed:
            bad(w, f"unknown key {k}")
    if c.get("id") not in SYNSETS:
        bad(w, "id is not a WordNet 3.0 noun synset (see lookup.py)")
    strs(w, c.get("words", []), 0, 20, "words")
    strs(w, c.get("cues", []), 0, 30, "cues")
    if c.get("scale", "medium") not in ("tiny", "small", "medium", "large", "huge", "vast"):
        bad(w, "scale must be tiny|small|medium|large|huge|vast")
    strs(w, c.get("look", []), 0, 8, "look")
    st = c.get("states", {})
    if not isinstance(st, dict):
        bad(w, "states must be a table")
    else:
        ids_in(w, st.keys(), set(vocab["states"]), "states")
        for k, v in st.items():
            strs(w, v, 1, 4, f"states.{k}")
    ids_in(w, strs(w, c.get("found_in", []), 0, 6, "found_in"), set(vocab["settings"]), "found_in")
    strs(w, c.get("props", []), 0, 6, "props")
    strs(w, c.get("never", []), 0, 16, "never")
    if "mood" in c and c["mood"] not in vocab["moods"]:
        bad(w, f"mood {c['mood']!r} is not a vocab mood")
    if not (c.get("look") or st or c.get("found_in") or c.get("props") or c.get("never")):
        bad(w, "empty frame")


def check_table(f, kind, t, spec):
    w = f"{f} {kind} {t.get('id')}"
    for k in t:
        if k not in spec:
            bad(w, f"unknown key {k}")
    for k, (need, check) in spec.items():
        if k not in t:
            if need:
                bad(w, f"missing {k}")
            continue
        check(w, t[k], k)


def S(lo=0, hi=99):
    return lambda w, v, k: strs(w, v, lo, hi, k)


def IDS(vocab_key, lo=0, hi=99):
    return lambda w, v, k: ids_in(w, strs(w, v, lo, hi, k), set(vocab[vocab_key]), k)


def ONE(vocab_key):
    return lambda w, v, k: ids_in(w, [v], set(vocab[vocab_key]), k)


def STR(w, v, k):
    if not isinstance(v, str):
        bad(w, f"{k} must be a string")


def BOOL(w, v, k):
    if not isinstance(v, bool):
        bad(w, f"{k} must be true or false")


def MEDIUM(w, v, k):
    if v not in MEDIA:
        bad(w, f"{k}: unknown medium {v!r} (media.toml ids: {sorted(MEDIA)})")


def KINDED(lo=0):
    def c(w, v, k):
        if not isinstance(v, dict):
            bad(w, f"{k} must be a table of kind -> phrases")
            return
        ids_in(w, [x for x in v if x != "any"], set(vocab["kinds"]), k)
        for kk, vv in v.items():
            strs(w, vv, 1, 6, f"{k}.{kk}")
    return c


def DETAILS(w, v, k):
    if not isinstance(v, list):
        bad(w, f"{k} must be a list of tables")
        return
    for d in v:
        check_table(w, "detail", d, {
            "text": (True, STR), "times": (False, IDS("times")), "not_times": (False, IDS("times")),
            "night": (False, BOOL), "day": (False, BOOL), "weathers": (False, IDS("weathers")),
            "not_weathers": (False, IDS("weathers")), "seasons": (False, IDS("seasons")),
            "not_seasons": (False, IDS("seasons")), "eras": (False, S()),
        })


SPECS = {
    "setting": {"id": (True, STR), "words": (True, S(1, 30)), "parent": (False, ONE("settings")),
                "indoor": (True, BOOL), "sky": (True, BOOL), "horizon": (True, BOOL),
                "daylight": (True, BOOL), "weather": (True, BOOL), "times": (False, IDS("times")),
                "eras": (False, S()), "details": (True, DETAILS), "tags": (True, S(1, 8)),
                "never": (False, S(0, 30)), "moods": (True, IDS("moods", 1, 5)),
                "framing": (True, ONE("framings"))},
    "state": {"id": (True, ONE("states")), "words": (True, S(1, 20)), "kinds": (True, IDS("kinds", 1)),
              "mood": (False, ONE("moods")), "generic": (True, KINDED()), "excludes": (False, S(0, 30)),
              "hides": (False, S(0, 12))},
    "action": {"id": (True, STR), "words": (True, S(1, 20)), "agent": (True, KINDED()),
               "patient": (False, KINDED()), "scene": (False, S(0, 4)), "framing": (True, ONE("framings")),
               "motion": (True, BOOL), "mood": (True, ONE("moods")), "excludes": (False, S(0, 30))},
    "relation": {"id": (True, STR), "words": (True, S(1, 12)), "prose": (True, STR), "tag": (True, STR),
                 "layout": (True, STR)},
    "era": {"id": (True, STR), "words": (True, S(1, 20)), "years": (True, lambda w, v, k: None),
            "clothing": (False, S(0, 6)), "vehicles": (False, S(0, 6)), "materials": (False, S(0, 6)),
            "technology": (False, S(0, 6)), "details": (True, S(1, 8)), "anachronisms": (True, S(1, 40))},
    "abstract": {"id": (True, STR), "words": (True, S(1, 12)), "metaphors": (True, S(3, 8)),
                 "mood": (True, ONE("moods"))},
    "artifact": {"id": (True, STR), "words": (True, S(1, 20)), "aspect": (True, STR),
                 "framing": (True, ONE("framings")), "medium": (True, MEDIUM), "layout": (True, S(1, 6)),
                 "traits": (True, S(1, 8)), "lettering": (True, STR), "never": (True, S(0, 30)),
                 "tags": (True, S(1, 8)), "negative": (True, S(0, 12))},
    "framing": {"id": (True, ONE("framings")), "words": (False, S()), "aspect": (True, STR),
                "text": (True, S(1, 6)), "positions": (False, S()), "lenses": (False, S()),
                "tags": (True, S(1, 6)), "horizon": (True, lambda w, v, k: None)},
    "artist": {"id": (True, STR), "words": (True, S(1, 8)), "medium": (True, MEDIUM), "lead": (True, STR),
               "technique": (True, STR), "palette": (True, STR), "tags": (True, S(1, 6))},
    "look": {"id": (True, STR), "family": (True, STR), "medium": (True, MEDIUM), "lead": (True, STR),
             "light": (True, STR), "palette": (True, STR), "technique": (True, STR),
             "mood": (True, ONE("moods")), "tags": (True, S(1, 8)), "negative": (False, S(0, 10)),
             "times": (False, IDS("times")), "indoor": (False, BOOL), "kinds": (False, IDS("kinds")),
             "framings": (False, IDS("framings")), "moods": (False, IDS("moods")),
             "not_moods": (False, IDS("moods")), "states": (False, IDS("states")),
             "not_states": (False, IDS("states")), "weathers": (False, IDS("weathers")),
             "color": (False, BOOL), "night": (False, BOOL), "day": (False, BOOL), "aspect": (False, STR)},
}


def main(files):
    seen = {}
    for f in files:
        try:
            doc = tomllib.load(open(f, "rb"))
        except Exception as e:
            bad(f, f"not valid TOML: {e}")
            continue
        for kind, rows in doc.items():
            if not isinstance(rows, list):
                continue
            for t in rows:
                key = (kind, t.get("id"))
                if key in seen:
                    bad(f, f"duplicate {kind} id {t.get('id')} (also in {seen[key]})")
                seen[key] = f
                if kind == "concept":
                    check_concept(os.path.basename(f), t)
                elif kind in SPECS:
                    check_table(os.path.basename(f), kind, t, SPECS[kind])
                else:
                    bad(f, f"unknown table [[{kind}]]")
    for p in problems:
        print(p)
    print(f"{len(problems)} problems in {len(files)} files", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    fs = sys.argv[1:] or sorted(glob.glob(os.path.join(ROOT, "concepts", "*.toml")) + glob.glob(os.path.join(ROOT, "world", "*.toml")))
    fs = [f for f in fs if not f.endswith("vocab.toml")]
    sys.exit(main(fs))
