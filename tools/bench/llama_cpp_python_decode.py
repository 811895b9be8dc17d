"""llama-cpp-python's side of mural-llm's `gguf` bench: the same GGUF, prompt
and thread count. Prints one JSON object.

    python llama_cpp_python_decode.py MODEL PROMPT_FILE TOKENS THREADS
"""
import json
import statistics
import sys
import time

from llama_cpp import Llama

model, prompt_file, n, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
prompt = open(prompt_file, encoding="utf-8").read()

t0 = time.perf_counter()
llm = Llama(model_path=model, n_ctx=2048, n_batch=512, n_threads=threads,
            n_threads_batch=threads, verbose=False)
load_s = time.perf_counter() - t0

# time to a first prompt: one completion that stops at the end of the line
t1 = time.perf_counter()
out = llm.create_completion(prompt, max_tokens=120, temperature=0.8, top_p=0.95,
                            top_k=40, stop=["\n", "Idea:"], seed=1)
first_s = load_s + time.perf_counter() - t1

rates = []
for _ in range(3):
    llm.reset()
    tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
    got = 0
    start = None
    # greedy, and end-of-text ignored: exactly n decode steps after the first token
    for _tok in llm.generate(tokens, temp=0.0, top_k=1, reset=True):
        if start is None:
            start = time.perf_counter()
        else:
            got += 1
        if got >= n:
            break
    rates.append(got / (time.perf_counter() - start))

print(json.dumps({
    "load_s": load_s,
    "first_prompt_s": first_s,
    "first_prompt": out["choices"][0]["text"].strip(),
    "decode_tok_s": statistics.median(rates),
    "decode_runs": rates,
    "prompt_tokens": len(llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)),
}))
