from __future__ import annotations

import json
import math

import pytest

from plexrecs_assets.engines.prompt import OUTPUT_SCHEMA
from plexrecs_emulators.llm_picks import MISTAKE_KINDS

SCHEMA = {"type": "json_schema", "json_schema": {"name": "recs", "schema": {"type": "object"}}}


def chat(http, suite, payload, *, response_format=SCHEMA, model="gpt-4o-mini", key=None, before="", after=""):
    text = payload if isinstance(payload, str) else before + json.dumps(payload) + after
    body = {"model": model, "messages": [{"role": "system", "content": "Return strict JSON."},
                                         {"role": "user", "content": text}]}
    if response_format is not None:
        body["response_format"] = response_format
    return http.post(f"{suite.llm.url}/chat/completions", json=body,
                     headers={"Authorization": f"Bearer {suite.keys['llm'] if key is None else key}"})


def content(r) -> dict:
    assert r.status_code == 200, r.text
    text = r.json()["choices"][0]["message"]["content"].strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    return json.loads(text)


def recs(http, suite, category, count=5, **extra):
    payload = {"task": "recommend", "category": category, "constraints": {"count": count}, **extra}
    return content(chat(http, suite, payload))["recommendations"]


def genres_of(suite, item):
    t = suite.world.get(item["medium"], item["tmdb_id"]) if item["tmdb_id"] else None
    if t is None:
        t = next(t for t in suite.world.titles.values() if t.title == item["title"] and t.medium == item["medium"]
                 and t.year == item["year"])
    return set(t.genres)


TRUE_CRIME = {"label": "True Crime", "type": "genre", "media_types": ["movie", "tv"],
              "tmdb_filters": {"include_genres": ["Documentary", "Crime"]},
              "keywords_prefer": ["true crime", "forensics", "cold case"], "keywords_avoid": ["mockumentary"]}


def test_wrong_or_missing_key_is_401(suite, http):
    r = chat(http, suite, {"task": "x"}, key="sk-wrong-key")
    assert r.status_code == 401
    err = r.json()["error"]
    assert err["code"] == "invalid_api_key" and err["type"] == "invalid_request_error"
    assert "sk-wrong-key" not in err["message"]
    r = http.post(f"{suite.llm.url}/chat/completions", json={"model": "gpt-4o-mini", "messages": []})
    assert r.status_code == 401


def test_models_and_unknown_model(suite, http):
    headers = {"Authorization": f"Bearer {suite.keys['llm']}"}
    models = http.get(f"{suite.llm.url}/models", headers=headers).json()
    assert "gpt-4o-mini" in [m["id"] for m in models["data"]]
    r = chat(http, suite, {"task": "x"}, model="gpt-9-ultra")
    assert r.status_code == 404
    assert r.json() == {"error": {"message": "The model `gpt-9-ultra` does not exist",
                                  "type": "invalid_request_error", "param": None, "code": "model_not_found"}}


def test_completion_shape_and_usage(suite, http):
    r = chat(http, suite, {"task": "recommend", "category": TRUE_CRIME, "constraints": {"count": 2}})
    body = r.json()
    assert body["object"] == "chat.completion" and body["choices"][0]["message"]["role"] == "assistant"
    text = body["choices"][0]["message"]["content"]
    assert body["usage"]["completion_tokens"] == math.ceil(len(text) / 4)
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    answer = json.loads(text)
    assert answer["category"] == "True Crime"
    assert set(answer) == {"category", "recommendations"}  # a model is not asked for a timestamp
    assert set(answer["recommendations"][0]) == {"title", "year", "medium", "why", "keywords", "tmdb_id"}


def test_genre_category_follows_genres_and_avoids(suite, http):
    items = recs(http, suite, TRUE_CRIME, count=4, already_seen=["The Imposter (2012)"])
    assert len(items) == 4  # every remaining Documentary+Crime title; avoided keywords rank last
    for item in items:
        assert {"Documentary", "Crime"} <= genres_of(suite, item)
        assert item["why"].startswith("Fits True Crime")
    titles = [i["title"] for i in items]
    assert "The Imposter" not in titles  # already seen
    assert titles[-1] == "Crime Story Mockumentary"  # keywords_avoid pushes it below the others


def test_media_types_are_respected(suite, http):
    items = recs(http, suite, {**TRUE_CRIME, "media_types": ["tv"]}, count=10)
    assert items and {i["medium"] for i in items} == {"tv"}


def test_keyword_mood_category(suite, http):
    cozy = {"label": "Cozy", "type": "keyword", "mood_keywords": ["cozy", "gentle", "uplifting", "low-stakes"],
            "tmdb_filters": {"exclude_genres": ["Horror", "War"]}}
    items = recs(http, suite, cozy, count=3)
    assert {i["title"] for i in items} == {"Little Village Bakery", "Snowy Friends", "Cozy Valley"}
    for item in recs(http, suite, cozy, count=20):
        assert not genres_of(suite, item) & {"Horror", "War"}


def test_title_seed_recommends_similar_titles(suite, http):
    seed = {"label": "Because — The Jinx", "type": "title_seed", "media_types": ["tv", "movie"],
            "seed": {"title": "The Jinx: The Life and Deaths of Robert Durst", "year": 2015, "medium": "tv"}}
    items = recs(http, suite, seed, count=3)
    assert "The Jinx: The Life and Deaths of Robert Durst" not in [i["title"] for i in items]
    assert {i["title"] for i in items} == {"Making a Murderer", "Cold Case Files", "The Imposter"}
    assert all(i["why"].startswith("Because you watched The Jinx") for i in items)


def test_seed_list_uses_every_seed(suite, http):
    seeds = {"label": "Seeds", "type": "seed_list", "media_types": ["movie"],
             "seeds": [{"title": "The Imposter", "year": 2012, "medium": "movie"},
                       {"title": "Little Village Bakery", "year": 2019, "medium": "movie"}]}
    items = recs(http, suite, seeds, count=4)
    whys = " ".join(i["why"] for i in items)
    assert "The Imposter" in whys and "Little Village Bakery" in whys
    assert {"Snowy Friends"} <= {i["title"] for i in items}


def test_candidates_restrict_the_choice(suite, http):
    candidates = [{"id": 104, "title": "Heist Night", "year": 2010, "medium": "movie", "genres": ["Crime"]},
                  {"id": 102, "title": "Cold Case Files", "year": 2015, "medium": "movie",
                   "genres": ["Documentary", "Crime"]},
                  {"id": 202, "title": "Making a Murderer", "year": 2015, "medium": "tv",
                   "genres": ["Documentary", "Crime"]},
                  {"id": 107, "title": "Snowy Friends", "year": 2016, "medium": "movie", "genres": ["Family"]}]
    items = recs(http, suite, TRUE_CRIME, count=10, candidates=candidates)
    # both genres first, a Crime-only title next, the Family one not at all
    assert [(i["tmdb_id"], i["title"]) for i in items] == [
        (102, "Cold Case Files"), (202, "Making a Murderer"), (104, "Heist Night")]


def test_odd_payloads_get_an_empty_answer(suite, http):
    for payload in ("no json at all", "[1, 2]", json.dumps({"category": "oops", "constraints": {"count": "x"}}),
                    json.dumps({"category": {"label": 5, "type": []}, "already_seen": {"a": 1}})):
        answer = content(chat(http, suite, payload))
        assert answer["recommendations"] == [] or all("title" in i for i in answer["recommendations"])
    assert content(chat(http, suite, "hello"))["recommendations"] == []


def test_payload_with_prose_around_it(suite, http):
    payload = {"task": "recommend", "category": TRUE_CRIME, "constraints": {"count": 2}}
    r = chat(http, suite, payload, before="Here is the request:\n", after="\nThanks {really}.")
    assert len(content(r)["recommendations"]) == 2


def test_structured_output_modes(suite, http):
    payload = {"category": TRUE_CRIME, "constraints": {"count": 1}}
    suite.llm.set_options(structured_output="json_object")
    r = chat(http, suite, payload)
    assert r.status_code == 400 and "response_format" in r.text
    assert content(chat(http, suite, payload, response_format={"type": "json_object"}))["recommendations"]
    suite.llm.set_options(structured_output="none")
    r = chat(http, suite, payload, response_format={"type": "json_object"})
    assert r.status_code == 400 and "response_format" in r.text
    r = chat(http, suite, payload, response_format=None)
    assert r.json()["choices"][0]["message"]["content"].startswith("```json")
    assert content(r)["recommendations"]


def test_fail_labels_make_exactly_that_category_invalid(suite, http):
    suite.llm.set_options(fail_labels=["True Crime"])
    bad = chat(http, suite, {"category": TRUE_CRIME, "constraints": {"count": 3}})
    with pytest.raises(ValueError):
        json.loads(bad.json()["choices"][0]["message"]["content"])
    ok = chat(http, suite, {"category": {**TRUE_CRIME, "label": "Docs"}, "constraints": {"count": 3}})
    assert content(ok)["category"] == "Docs"


def test_invalid_json_rate(suite, http):
    suite.llm.set_options(invalid_json_rate=1.0)
    r = chat(http, suite, {"category": TRUE_CRIME})
    with pytest.raises(ValueError):
        json.loads(r.json()["choices"][0]["message"]["content"])
    state = http.get(f"{suite.llm.root_url}/__emulator/state").json()
    assert state["answers"][-1]["invalid_json"] is True


def test_mistakes_appear_at_the_configured_rate(suite, http):
    category = {"label": "All", "type": "genre", "media_types": ["movie", "tv"]}
    clean = recs(http, suite, category, count=10, already_seen=["Heist Night (2010)"])
    suite.llm.set_options(mistake_rate=0.3)
    noisy = recs(http, suite, category, count=10, already_seen=["Heist Night (2010)"])
    assert recs(http, suite, category, count=10, already_seen=["Heist Night (2010)"]) == noisy  # deterministic
    answers = suite.llm.answers()
    mistakes = answers[-1]["mistakes"]
    assert len(mistakes) == 3
    changed = [n for n, (a, b) in enumerate(zip(clean, noisy)) if
               (a["title"], a["year"], a["medium"]) != (b["title"], b["year"], b["medium"])]
    assert changed == [m["index"] for m in mistakes]


def test_mistake_kinds_are_realistic(suite, http):
    suite.llm.set_options(mistake_rate=1.0)
    candidates = [{"id": t.tmdb_id, "title": t.title, "year": t.year, "medium": t.medium, "genres": list(t.genres)}
                  for t in suite.world.titles.values()]
    kinds = set()
    for n in range(12):
        items = recs(http, suite, {"label": f"L{n}", "type": "genre"}, count=6, candidates=candidates,
                     already_seen=["Heist Night (2010)"])
        for m in suite.llm.answers()[-1]["mistakes"]:
            kinds.add(m["kind"])
            item = items[m["index"]]
            if m["kind"] == "made_up_title":
                found = [t for t in suite.world.titles.values() if t.title == item["title"]]
                assert found == [] and item["tmdb_id"] is None
            if m["kind"] == "wrong_tmdb_id":
                assert item["tmdb_id"] != m["original"]["tmdb_id"]
                assert item["tmdb_id"] in {c["id"] for c in candidates}
            if m["kind"] == "already_seen":
                assert item["title"] == "Heist Night"
            if m["kind"] == "year_off":
                assert abs(item["year"] - m["original"]["year"]) == 1
    assert kinds <= set(MISTAKE_KINDS) and len(kinds) >= 5


def test_options_over_http(suite, http):
    r = http.put(f"{suite.llm.root_url}/__emulator/options", json={"mistake_rate": 0.15})
    assert r.status_code == 200 and r.json()["mistake_rate"] == 0.15
    r = http.put(f"{suite.llm.root_url}/__emulator/options", json={"mistake_rate": 3})
    assert r.status_code == 400 and "mistake_rate" in r.json()["error"]
    assert suite.llm.options.mistake_rate == 0.15


# ---------------------------------------------------------------- OpenAI's request rules (issue 12)

def _strict(schema, name="recommendations"):
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


def _error(r, status=400) -> dict:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


def test_strict_schema_must_close_every_object(suite, http):
    open_items = {"type": "object", "additionalProperties": False, "required": ["recommendations"],
                  "properties": {"recommendations": {"type": "array", "items": {"type": "object",
                                                                                "properties": {"title": {"type": "string"}},
                                                                                "required": ["title"]}}}}
    error = _error(chat(http, suite, {"category": TRUE_CRIME}, response_format=_strict(open_items)))
    assert error == {"message": "Invalid schema for response_format 'recommendations': In context=('properties', "
                                "'recommendations', 'items'), 'additionalProperties' is required to be supplied and "
                                "to be false.", "type": "invalid_request_error", "param": "response_format",
                     "code": None}
    root_open = {"type": "object", "required": [], "properties": {}}
    assert "In context=(), 'additionalProperties'" in _error(
        chat(http, suite, {"category": TRUE_CRIME}, response_format=_strict(root_open)))["message"]


def test_strict_schema_must_require_every_property(suite, http):
    optional_year = {"type": "object", "additionalProperties": False, "required": ["title"],
                     "properties": {"title": {"type": "string"}, "year": {"type": ["integer", "null"]}}}
    error = _error(chat(http, suite, {"category": TRUE_CRIME}, response_format=_strict(optional_year)))
    assert error["param"] == "response_format" and error["type"] == "invalid_request_error"
    assert error["message"].endswith("In context=(), 'required' is required to be supplied and to be an array "
                                     "including every key in properties. Missing 'year'.")
    extra = {**optional_year, "required": ["title", "year", "rating"]}
    assert "Extra required key 'rating'" in _error(
        chat(http, suite, {"category": TRUE_CRIME}, response_format=_strict(extra)))["message"]
    not_object = {"type": "array", "items": {"type": "string"}}
    assert "must be a JSON Schema of 'type: \"object\"'" in _error(
        chat(http, suite, {"category": TRUE_CRIME}, response_format=_strict(not_object)))["message"]


def test_json_schema_needs_a_valid_name(suite, http):
    error = _error(chat(http, suite, {"category": TRUE_CRIME}, response_format={"type": "json_schema"}))
    assert error["code"] == "missing_required_parameter" and error["param"] == "response_format.json_schema"
    error = _error(chat(http, suite, {"category": TRUE_CRIME}, response_format=_strict(OUTPUT_SCHEMA, name="my recs")))
    assert error["code"] == "invalid_value" and error["param"] == "response_format.json_schema.name"


def test_the_pipeline_schema_passes_strict_mode_and_answers_hold_only_its_keys(suite, http):
    r = chat(http, suite, {"category": TRUE_CRIME, "constraints": {"count": 3}}, response_format=_strict(OUTPUT_SCHEMA))
    answer = content(r)
    assert set(answer) == {"category", "recommendations"}
    assert all(set(item) == set(OUTPUT_SCHEMA["properties"]["recommendations"]["items"]["properties"])
               for item in answer["recommendations"])


def test_answers_never_hold_keys_outside_a_closed_schema(suite, http):
    narrow = {"type": "object", "additionalProperties": False, "required": ["recommendations"],
              "properties": {"recommendations": {"type": "array", "items": {
                  "type": "object", "additionalProperties": False, "required": ["title", "rank"],
                  "properties": {"title": {"type": "string"}, "rank": {"type": ["integer", "null"]}}}}}}
    answer = content(chat(http, suite, {"category": TRUE_CRIME, "constraints": {"count": 3}},
                          response_format=_strict(narrow)))
    assert set(answer) == {"recommendations"} and answer["recommendations"]
    assert all(set(item) == {"title", "rank"} for item in answer["recommendations"])


@pytest.mark.parametrize("model", ["o4-mini", "o3-mini", "gpt-5-mini"])
def test_reasoning_models_reject_a_temperature_but_the_default(suite, http, model):
    body = {"model": model, "temperature": 0.2, "response_format": {"type": "json_object"},
            "messages": [{"role": "user", "content": "Reply with JSON: " + json.dumps({"category": TRUE_CRIME})}]}
    headers = {"Authorization": f"Bearer {suite.keys['llm']}"}
    error = _error(http.post(f"{suite.llm.url}/chat/completions", json=body, headers=headers))
    assert error == {"message": "Unsupported value: 'temperature' does not support 0.2 with this model. Only the "
                                "default (1) value is supported.", "type": "invalid_request_error",
                     "param": "temperature", "code": "unsupported_value"}
    error = _error(http.post(f"{suite.llm.url}/chat/completions", json={**body, "temperature": 1, "max_tokens": 500},
                             headers=headers))
    assert error["param"] == "max_tokens" and error["code"] == "unsupported_parameter"
    assert "max_completion_tokens" in error["message"]
    ok = http.post(f"{suite.llm.url}/chat/completions", json={**body, "temperature": 1, "max_completion_tokens": 4000},
                   headers=headers)
    assert content(ok)["recommendations"]
    del body["temperature"]
    assert content(http.post(f"{suite.llm.url}/chat/completions", json=body, headers=headers))["category"] == "True Crime"


def test_ordinary_models_take_a_temperature_within_range(suite, http):
    headers = {"Authorization": f"Bearer {suite.keys['llm']}"}
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": json.dumps({"category": TRUE_CRIME})}]}
    assert http.post(f"{suite.llm.url}/chat/completions", json={**body, "temperature": 0.2, "max_tokens": 4000},
                     headers=headers).status_code == 200
    assert suite.llm.answers()[-1]["temperature"] == 0.2
    error = _error(http.post(f"{suite.llm.url}/chat/completions", json={**body, "temperature": 3}, headers=headers))
    assert error["code"] == "decimal_above_max_value" and error["param"] == "temperature"
    error = _error(http.post(f"{suite.llm.url}/chat/completions", json={**body, "temperature": "hot"}, headers=headers))
    assert error["code"] == "invalid_type"


def test_the_reasoning_model_list_is_an_option(suite, http):
    suite.llm.set_options(reasoning_models=["qwen2.5:7b-instruct"])
    headers = {"Authorization": f"Bearer {suite.keys['llm']}"}
    body = {"model": "qwen2.5:7b-instruct", "temperature": 0.5,
            "messages": [{"role": "user", "content": json.dumps({"category": TRUE_CRIME})}]}
    assert _error(http.post(f"{suite.llm.url}/chat/completions", json=body, headers=headers))["param"] == "temperature"
    body["model"] = "o4-mini"  # no longer listed
    assert http.post(f"{suite.llm.url}/chat/completions", json=body, headers=headers).status_code == 200


def test_a_token_cap_cuts_the_answer_off(suite, http):
    headers = {"Authorization": f"Bearer {suite.keys['llm']}"}
    body = {"model": "gpt-4o-mini", "max_tokens": 20,
            "messages": [{"role": "user", "content": json.dumps({"category": TRUE_CRIME, "constraints": {"count": 5}})}]}
    reply = http.post(f"{suite.llm.url}/chat/completions", json=body, headers=headers).json()
    assert reply["choices"][0]["finish_reason"] == "length" and reply["usage"]["completion_tokens"] <= 20


def test_json_object_needs_the_word_json_in_the_messages(suite, http):
    headers = {"Authorization": f"Bearer {suite.keys['llm']}"}
    body = {"model": "gpt-4o-mini", "response_format": {"type": "json_object"},
            "messages": [{"role": "user", "content": "Recommend five documentaries."}]}
    error = _error(http.post(f"{suite.llm.url}/chat/completions", json=body, headers=headers))
    assert error["param"] == "messages" and "must contain the word 'json'" in error["message"]
