from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from plexrecs_assets.clients.base import ServiceAuthError, ServiceError
from plexrecs_assets.clients.llm import MODES, LlmClient, is_reasoning_model
from plexrecs_assets.engines.prompt import OUTPUT_SCHEMA

SCHEMA = OUTPUT_SCHEMA  # strict-mode valid, like the pipeline's
USER = json.dumps({"category": "Cozy", "media_types": ["movie"], "count": 3})


def _formats_sent(suite) -> list[int]:
    """HTTP status of every chat call, in order, from the emulator's request log."""
    return [r["status"] for r in suite.llm.requests() if r["path"] == "/v1/chat/completions"]


def test_json_schema_mode_returns_data_and_usage(llm, suite):
    answer = llm.complete_json("You recommend titles.", USER, SCHEMA)
    assert answer.response_format_used == "json_schema"
    assert answer.parse_error is None and isinstance(answer.data["recommendations"], list)
    assert answer.prompt_tokens > 0 and answer.completion_tokens > 0 and answer.model == "gpt-4o-mini"
    assert _formats_sent(suite) == [200]


def test_falls_back_to_json_object_and_remembers_it(llm, suite):
    suite.llm.set_options(structured_output="json_object")
    first = llm.complete_json("You recommend titles.", USER, SCHEMA)
    second = llm.complete_json("You recommend titles.", USER, SCHEMA)
    assert first.response_format_used == second.response_format_used == "json_object"
    assert first.data and second.data and first.parse_error is None
    assert _formats_sent(suite) == [400, 200, 200]  # json_schema is not tried again


def test_falls_back_to_a_plain_prompt_and_parses_fenced_json(llm, suite):
    suite.llm.set_options(structured_output="none")
    answer = llm.complete_json("You recommend titles.", USER, SCHEMA)
    assert answer.response_format_used == "prompt"
    assert answer.content.lstrip().startswith("```") and answer.data and answer.parse_error is None
    assert _formats_sent(suite) == [400, 400, 200]
    assert llm.complete_json("You recommend titles.", USER, SCHEMA).response_format_used == "prompt"
    assert _formats_sent(suite) == [400, 400, 200, 200]


def test_invalid_json_is_reported_not_raised(llm, suite):
    suite.llm.set_options(invalid_json_rate=1.0)
    answer = llm.complete_json("You recommend titles.", USER, SCHEMA)
    assert answer.data is None and answer.parse_error
    assert answer.content and answer.completion_tokens > 0


def test_wrong_key_is_an_auth_error_without_the_key(env, fast):
    secret = "sk-wrong-0123456789"
    client = LlmClient(env["LLM_API_BASE"], secret, "gpt-4o-mini", retry=fast)
    with pytest.raises(ServiceAuthError) as info:
        client.complete_json("s", USER, SCHEMA)
    assert info.value.status == 401 and "llm" in str(info.value) and secret not in str(info.value)


def test_check(llm, suite, env, closed_port_url, fast):
    assert llm.check().ok
    missing = LlmClient(env["LLM_API_BASE"], env["LLM_API_KEY"], "no-such-model", retry=fast).check()
    assert not missing.ok and "model not found" in missing.fix and "gpt-4o-mini" in missing.fix
    suite.llm.set_faults(bad_credentials=True)
    bad = llm.check()
    assert not bad.ok and "bad API key" in bad.fix
    down = LlmClient(closed_port_url + "/v1", "k", "gpt-4o-mini", retry=fast).check()
    assert not down.ok and "server unreachable" in down.fix


class _QuotaHandler(BaseHTTPRequestHandler):
    """The one OpenAI answer the emulator cannot produce: 429 insufficient_quota."""

    calls = 0

    def do_POST(self):  # noqa: N802 - stdlib naming
        type(self).calls += 1
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"error": {"message": "You exceeded your current quota, please check your plan.",
                                     "type": "insufficient_quota", "param": None,
                                     "code": "insufficient_quota"}}).encode()
        self.send_response(429)
        self.send_header("Content-Type", "application/json")
        self.send_header("Retry-After", "0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        return


def test_insufficient_quota_is_not_retried(fast):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _QuotaHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = LlmClient(f"http://127.0.0.1:{server.server_address[1]}/v1", "sk-x", "gpt-4o-mini", retry=fast)
        with pytest.raises(ServiceError) as info:
            client.complete_json("s", USER, SCHEMA)
    finally:
        server.shutdown()
        server.server_close()
    assert info.value.kind == "quota" and info.value.status == 429
    assert _QuotaHandler.calls == 1


def test_check_survives_a_malformed_model_list(llm, suite):
    suite.llm.set_faults(malformed_rate=1.0)
    result = llm.check()
    assert not result.ok and "wrong URL" in result.fix
    suite.llm.set_faults(malformed_rate=0.0)
    assert llm.check().ok


@pytest.mark.parametrize("server_mode, expected", [("json_schema", "json_schema"), ("json_object", "json_object"),
                                                   ("none", "prompt")])
def test_concurrent_fallback_settles_on_one_mode(llm, suite, server_mode, expected):
    """Eight threads hit a server that rejects json_schema at the same moment: each failure
    moves the client on from the mode that failed, never past the last mode (issue 12)."""
    suite.llm.set_options(structured_output=server_mode)
    # latency keeps all eight first requests in flight together, so every thread sees json_schema fail
    suite.llm.set_faults(latency_s=0.3)
    start = threading.Barrier(8)

    def one(_):
        start.wait()
        return llm.complete_json("You recommend titles.", USER, SCHEMA)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, range(8)))
    assert [a.response_format_used for a in answers] == [expected] * 8
    assert all(a.data and a.parse_error is None for a in answers)
    assert llm.response_format_mode == expected
    statuses = _formats_sent(suite)
    assert statuses.count(200) == 8
    # rejected requests: at most one per thread and mode it skipped
    assert statuses.count(400) <= 8 * MODES.index(expected)


def test_a_server_that_rejects_every_mode_is_a_clear_error(fast):
    """A server answering 400 'response_format' even to a plain prompt ends the fallback with an error
    naming the modes tried, not an IndexError."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RejectsFormatHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = LlmClient(f"http://127.0.0.1:{server.server_address[1]}/v1", "sk-x", "gpt-4o-mini", retry=fast)
        with pytest.raises(ServiceError) as info:
            client.complete_json("s", USER, SCHEMA)
    finally:
        server.shutdown()
        server.server_close()
    assert info.value.kind == "client" and info.value.status == 400
    assert "json_schema, json_object, prompt" in str(info.value)
    assert client.response_format_mode == "prompt"


class _RejectsFormatHandler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - stdlib naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"error": {"message": "'response_format' is not supported", "type": "invalid_request_error",
                                     "param": "response_format", "code": None}}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        return


# ---------------------------------------------------------------- temperature and reasoning models (issue 12)

def _sent(suite) -> dict:
    """The sampling parameters of the last answered chat call, as the emulator received them."""
    last = suite.llm.answers()[-1]
    return {k: last[k] for k in ("model", "temperature", "max_tokens", "max_completion_tokens")}


@pytest.mark.parametrize("model, reasoning", [
    ("o1", True), ("o1-mini", True), ("o3-mini", True), ("o4-mini-2025-04-16", True), ("openai/o3", True),
    ("gpt-5", True), ("gpt-5-mini", True), ("gpt-5.1", True), ("GPT-5-nano", True),
    ("gpt-5-chat-latest", False), ("gpt-4o-mini", False), ("gpt-4.1", False), ("llama3.1:8b", False),
    ("openhermes", False), ("qwen2.5:7b-instruct", False),
])
def test_reasoning_models_by_name(model, reasoning):
    assert is_reasoning_model(model) is reasoning


def test_the_configured_temperature_and_cap_are_sent(env, suite, fast):
    client = LlmClient(env["LLM_API_BASE"], env["LLM_API_KEY"], "gpt-4o-mini", retry=fast, temperature=0.7,
                       max_output_tokens=4000)
    assert client.complete_json("s", USER, SCHEMA).parse_error is None
    assert _sent(suite) == {"model": "gpt-4o-mini", "temperature": 0.7, "max_tokens": 4000,
                            "max_completion_tokens": None}


@pytest.mark.parametrize("model", ["o4-mini", "o3-mini", "gpt-5-mini"])
def test_reasoning_models_get_no_temperature_and_max_completion_tokens(env, suite, fast, model):
    client = LlmClient(env["LLM_API_BASE"], env["LLM_API_KEY"], model, retry=fast, temperature=0.4,
                       max_output_tokens=4000)
    answer = client.complete_json("s", USER, SCHEMA)
    assert answer.parse_error is None and answer.response_format_used == "json_schema"
    assert _formats_sent(suite) == [200]  # right the first time: no 400 to learn from
    assert _sent(suite) == {"model": model, "temperature": None, "max_tokens": None, "max_completion_tokens": 4000}


def test_a_parameter_the_server_names_is_dropped_and_the_call_retried_once(env, suite, fast):
    # a reasoning model the client cannot know by name (a local or proxied deployment)
    suite.llm.set_options(reasoning_models=["qwen2.5:7b-instruct"])
    client = LlmClient(env["LLM_API_BASE"], env["LLM_API_KEY"], "qwen2.5:7b-instruct", retry=fast, temperature=0.4)
    first = client.complete_json("s", USER, SCHEMA)
    assert first.parse_error is None and first.response_format_used == "json_schema"
    assert _formats_sent(suite) == [400, 200]
    assert _sent(suite)["temperature"] is None
    client.complete_json("s", USER, SCHEMA)  # remembered: no second 400
    assert _formats_sent(suite) == [400, 200, 200]
    assert client.request_params == {}


def test_max_tokens_refused_moves_the_cap_to_max_completion_tokens(env, suite, fast):
    suite.llm.set_options(reasoning_models=["llama3.1:8b"])
    client = LlmClient(env["LLM_API_BASE"], env["LLM_API_KEY"], "llama3.1:8b", retry=fast, temperature=1,
                       max_output_tokens=4000)
    assert client.complete_json("s", USER, SCHEMA).parse_error is None
    assert _formats_sent(suite) == [400, 200]  # temperature 1 is the default and accepted; max_tokens is not
    assert _sent(suite) == {"model": "llama3.1:8b", "temperature": 1, "max_tokens": None,
                            "max_completion_tokens": 4000}


def test_concurrent_rejections_of_a_parameter_drop_it_once(env, suite, fast):
    suite.llm.set_options(reasoning_models=["qwen2.5:7b-instruct"])
    suite.llm.set_faults(latency_s=0.3)
    client = LlmClient(env["LLM_API_BASE"], env["LLM_API_KEY"], "qwen2.5:7b-instruct", retry=fast, temperature=0.4,
                       max_output_tokens=4000)
    start = threading.Barrier(8)

    def one(_):
        start.wait()
        return client.complete_json("s", USER, SCHEMA)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, range(8)))
    assert all(a.parse_error is None for a in answers)
    # each parameter given up once, whichever thread saw the 400 first
    assert client.request_params == {"max_completion_tokens": 4000}
    assert _formats_sent(suite).count(200) == 8


def test_a_400_naming_another_parameter_is_not_retried(fast):
    """Only the optional sampling parameters are dropped; a 400 about anything else fails at once."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RejectsMessagesHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = LlmClient(f"http://127.0.0.1:{server.server_address[1]}/v1", "sk-x", "gpt-4o-mini", retry=fast,
                           temperature=0.4)
        with pytest.raises(ServiceError) as info:
            client.complete_json("s", USER, SCHEMA)
    finally:
        server.shutdown()
        server.server_close()
    assert info.value.status == 400 and "context length" in str(info.value)
    assert _RejectsMessagesHandler.calls == 1
    assert client.request_params == {"temperature": 0.4}


class _RejectsMessagesHandler(BaseHTTPRequestHandler):
    calls = 0

    def do_POST(self):  # noqa: N802 - stdlib naming
        type(self).calls += 1
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"error": {"message": "This model's maximum context length is 8192 tokens.",
                                     "type": "invalid_request_error", "param": "messages",
                                     "code": "context_length_exceeded"}}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        return
