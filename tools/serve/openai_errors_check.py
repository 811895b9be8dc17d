#!/usr/bin/env python3
"""The official openai client against `mural serve`'s error contract.

usage: openai_errors_check.py BASE_URL TOKEN

A token with + / = (the studio sends it percent-encoded on the event
stream; the client sends it in the Authorization header). Checks that a
body of the wrong type raises BadRequestError (not UnprocessableEntityError),
an unknown model NotFoundError, stream=True a BadRequestError naming
"stream", a wrong method an APIStatusError with OpenAI's error body, and
that models.retrieve works. Prints "ok" and exits 0 when everything holds.
"""
import sys

import openai

base, token = sys.argv[1], sys.argv[2]
client = openai.OpenAI(base_url=base + "/v1", api_key=token, max_retries=0)

m = client.models.retrieve("sketch")
assert m.id == "sketch" and m.object == "model", m
m = client.models.retrieve("openai/gpt-image-2")
assert m.id == "openai/gpt-image-2", m

try:
    # a shut-down model is not offered
    client.models.retrieve("openai/dall-e-3")
    raise SystemExit("a shut-down model was listed")
except openai.NotFoundError as e:
    assert e.status_code == 404 and e.code == "model_not_found", e

try:
    client.models.retrieve("picasso")
    raise SystemExit("an unknown model was found")
except openai.NotFoundError as e:
    assert e.status_code == 404 and e.code == "model_not_found", e

try:
    # a wrong type in the body: OpenAI answers 400, so must mural
    client.images.generate(model="sketch", prompt="a cat", n="two")  # type: ignore[arg-type]
    raise SystemExit("n='two' was accepted")
except openai.UnprocessableEntityError as e:
    raise SystemExit(f"a type error came back as 422: {e}")
except openai.BadRequestError as e:
    assert e.status_code == 400 and e.param == "n", e

try:
    client.images.generate(model="sketch", prompt="a cat", size="256x256", stream=True)
    raise SystemExit("stream=True was accepted")
except openai.BadRequestError as e:
    assert e.param == "stream", e

try:
    client.get("/images/generations", cast_to=object)
    raise SystemExit("GET on a POST route was accepted")
except openai.APIStatusError as e:
    assert e.status_code == 405, e
    assert e.code == "method_not_allowed" and isinstance(e.body, dict) and "message" in e.body, e.body

r = client.images.generate(model="sketch", prompt="a harbor", n=1, size="256x256",
                           response_format="url")
assert r.data[0].url.startswith(base + "/files/"), r.data[0].url

print("ok")
