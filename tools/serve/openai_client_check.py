#!/usr/bin/env python3
"""The official openai client against a running `mural serve`.

usage: openai_client_check.py BASE_URL TOKEN

Checks images.generate (n=2, b64_json), models.list, and that a bad size,
an empty prompt and a wrong token raise the client's own error classes.
Prints "ok" and exits 0 when everything holds.
"""
import base64
import sys

import openai

base, token = sys.argv[1], sys.argv[2]
client = openai.OpenAI(base_url=base + "/v1", api_key=token, max_retries=0)

r = client.images.generate(model="sketch", prompt="a lighthouse in a storm", n=2,
                           size="256x256", response_format="b64_json")
assert len(r.data) == 2, r
for d in r.data:
    assert base64.b64decode(d.b64_json).startswith(b"\x89PNG")
    assert "lighthouse" in d.revised_prompt and len(d.revised_prompt) > 30, d.revised_prompt

ids = [m.id for m in client.models.list()]
assert "sketch" in ids and "writer/builtin" in ids, ids

try:
    client.images.generate(model="sketch", prompt="a cat", size="13x13")
    raise SystemExit("a bad size was accepted")
except openai.BadRequestError as e:
    assert e.status_code == 400 and "size" in str(e), e

try:
    client.images.generate(model="sketch", prompt="")
    raise SystemExit("an empty prompt was accepted")
except openai.BadRequestError as e:
    assert "empty" in str(e), e

wrong = openai.OpenAI(base_url=base + "/v1", api_key="wrong-token", max_retries=0)
try:
    wrong.models.list()
    raise SystemExit("a wrong token was accepted")
except openai.AuthenticationError as e:
    assert e.status_code == 401, e

print("ok")
