"""OpenAI-compatible chat emulator (``/v1/chat/completions``, ``/v1/models``).

Knobs beyond the shared faults (``PUT /__emulator/options``): ``structured_output``
(json_schema | json_object | none), ``mistake_rate``, ``invalid_json_rate``, ``fail_labels``,
``models``, ``reasoning_models``, ``seed``. ``GET /__emulator/state`` shows the options and the
last answers with the mistakes injected into them.

Like OpenAI it refuses what a real server refuses (``openai_rules``): a ``strict`` json_schema
that breaks the strict rules, ``temperature``/``top_p`` other than 1 and ``max_tokens`` for the
reasoning models, out-of-range values, json_object without the word "json" in the messages.
Answers in json_schema mode hold exactly the keys the schema allows."""
from __future__ import annotations

import json
import math
import random
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field, fields

from plexrecs_emulators.catalog import Catalog
from plexrecs_emulators.faults import Faults
from plexrecs_emulators.http import EmulatorServer, Request, Response
from plexrecs_emulators.llm_picks import Picker
from plexrecs_emulators.openai_rules import NAME_PATTERN, conform, strict_schema_problem
from plexrecs_assets.demo import EMULATOR_KEYS

DEFAULT_API_KEY = EMULATOR_KEYS["llm"]
DEFAULT_MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-4.1", "o3-mini", "o4-mini", "gpt-5-mini",
                  "llama3.1:8b", "qwen2.5:7b-instruct")
# Models that, like OpenAI's o-series and gpt-5, accept only the default temperature/top_p (1)
# and want max_completion_tokens instead of max_tokens.
DEFAULT_REASONING_MODELS = ("o1", "o1-mini", "o3", "o3-mini", "o4-mini", "gpt-5", "gpt-5-mini", "gpt-5-nano")
STRUCTURED_MODES = ("json_schema", "json_object", "none")
CONTENT_TYPE = "application/json"


@dataclass
class LlmOptions:
    structured_output: str = "json_schema"
    mistake_rate: float = 0.0
    invalid_json_rate: float = 0.0
    fail_labels: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=lambda: list(DEFAULT_MODELS))
    reasoning_models: list[str] = field(default_factory=lambda: list(DEFAULT_REASONING_MODELS))
    seed: int = 0

    def updated(self, changes: dict) -> "LlmOptions":
        if not isinstance(changes, dict):
            raise ValueError(f"options: expected a JSON object, got {type(changes).__name__}")
        values = asdict(self)
        known = {f.name for f in fields(self)}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"options.{name}: unknown option (known: {', '.join(sorted(known))})")
            if name == "structured_output" and value not in STRUCTURED_MODES:
                raise ValueError(f"options.structured_output: {value!r} is not one of {', '.join(STRUCTURED_MODES)}")
            if name in ("mistake_rate", "invalid_json_rate"):
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                    raise ValueError(f"options.{name}: expected a number between 0 and 1, got {value!r}")
                value = float(value)
            if name in ("fail_labels", "models", "reasoning_models"):
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise ValueError(f"options.{name}: expected a list of strings, got {value!r}")
                if name == "models" and not value:
                    raise ValueError("options.models: at least one model name is needed")
            if name == "seed" and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"options.seed: expected an integer, got {value!r}")
            values[name] = value
        return LlmOptions(**values)


def openai_error(status: int, message: str, type_: str, code: str | None = None, param: str | None = None,
                 headers: dict | None = None) -> Response:
    return Response.json({"error": {"message": message, "type": type_, "param": param, "code": code}}, status,
                         CONTENT_TYPE, headers)


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return {str: "string", list: "array", dict: "object", int: "integer", float: "decimal"}.get(type(value), "value")


def reject_parameters(body: dict, reasoning: bool) -> Response | None:
    """OpenAI's checks of the sampling and length parameters, with its error texts."""
    for name, high in (("temperature", 2), ("top_p", 1)):
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return openai_error(400, f"Invalid type for '{name}': expected a decimal, but got a {_json_type(value)} "
                                     "instead.", "invalid_request_error", "invalid_type", name)
        if value > high:
            return openai_error(400, f"Invalid '{name}': decimal above maximum value. Expected a value <= {high}, "
                                     f"but got {json.dumps(value)} instead.", "invalid_request_error",
                                "decimal_above_max_value", name)
        if value < 0:
            return openai_error(400, f"Invalid '{name}': decimal below minimum value. Expected a value >= 0, "
                                     f"but got {json.dumps(value)} instead.", "invalid_request_error",
                                "decimal_below_min_value", name)
        if reasoning and value != 1:
            return openai_error(400, f"Unsupported value: '{name}' does not support {json.dumps(value)} with this "
                                     "model. Only the default (1) value is supported.", "invalid_request_error",
                                "unsupported_value", name)
    for name in ("max_tokens", "max_completion_tokens"):
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            return openai_error(400, f"Invalid type for '{name}': expected an integer, but got a {_json_type(value)} "
                                     "instead.", "invalid_request_error", "invalid_type", name)
        if value < 1:
            return openai_error(400, f"Invalid '{name}': integer below minimum value. Expected a value >= 1, but got "
                                     f"{value} instead.", "invalid_request_error", "integer_below_min_value", name)
    if reasoning and body.get("max_tokens") is not None:
        return openai_error(400, "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                                 "'max_completion_tokens' instead.", "invalid_request_error", "unsupported_parameter",
                            "max_tokens")
    return None


def reject_json_schema(fmt: dict) -> Response | None:
    """OpenAI's checks of ``response_format: json_schema``, strict mode's schema rules included."""
    spec = fmt.get("json_schema")
    if not isinstance(spec, dict):
        return openai_error(400, "Missing required parameter: 'response_format.json_schema'.",
                            "invalid_request_error", "missing_required_parameter", "response_format.json_schema")
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        return openai_error(400, "Missing required parameter: 'response_format.json_schema.name'.",
                            "invalid_request_error", "missing_required_parameter", "response_format.json_schema.name")
    if not NAME_PATTERN.match(name):
        return openai_error(400, "Invalid 'response_format.json_schema.name': string does not match pattern. Expected "
                                 "a string that matches the pattern '^[a-zA-Z0-9_-]+$'.", "invalid_request_error",
                            "invalid_value", "response_format.json_schema.name")
    if spec.get("strict") is True:
        problem = strict_schema_problem(spec.get("schema") if "schema" in spec else {})
        if problem:
            return openai_error(400, f"Invalid schema for response_format '{name}': {problem}",
                                "invalid_request_error", None, "response_format")
    return None


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def extract_payload(content) -> object:
    """The pipeline's JSON payload, even with prose before or after it."""
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}]
        content = "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    if not isinstance(content, str):
        return None
    start, end = content.find("{"), content.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        return json.loads(content[start:end + 1])
    except ValueError:
        pass
    # Braces in the surrounding prose: take the longest object that decodes on its own.
    decoder = json.JSONDecoder()
    best, best_len = None, 0
    pos = start
    while pos >= 0:
        try:
            obj, stop = decoder.raw_decode(content, pos)
        except ValueError:
            pass
        else:
            if isinstance(obj, dict) and stop - pos > best_len:
                best, best_len = obj, stop - pos
            if best_len and pos + best_len >= len(content):
                break
        pos = content.find("{", pos + 1)
    return best


def _mask(key: str) -> str:
    return f"{key[:2]}***{key[-2:]}" if len(key) > 6 else "***"


class LlmEmulator(EmulatorServer):
    name = "llm"
    url_prefix = "/v1"

    def __init__(self, catalog: Catalog, *, api_key: str = DEFAULT_API_KEY, options: dict | None = None,
                 host: str = "127.0.0.1", port: int = 0, faults: Faults | None = None):
        super().__init__(host=host, port=port, faults=faults)
        self.api_key = api_key
        self.picker = Picker(catalog)
        self._options = LlmOptions().updated(options or {})
        self._opt_lock = threading.Lock()
        self._answers: deque[dict] = deque(maxlen=500)
        self._rng = random.Random(self._options.seed)
        self._counter = 0

    # -------------------------------------------------------------- options
    @property
    def options(self) -> LlmOptions:
        with self._opt_lock:
            return self._options

    def set_options(self, **changes) -> LlmOptions:
        with self._opt_lock:
            new = self._options.updated(changes)
            if new.seed != self._options.seed:
                self._rng = random.Random(new.seed)
            self._options = new
            return new

    def answers(self) -> list[dict]:
        with self._opt_lock:
            return list(self._answers)

    def state(self) -> dict:
        return {"options": asdict(self.options), "answers": self.answers()}

    def control(self, req: Request, what: str) -> Response | None:
        if what != "options":
            return None
        if req.method == "GET":
            return Response.json(asdict(self.options))
        if req.method in ("PUT", "PATCH", "POST"):
            try:
                return Response.json(asdict(self.set_options(**(req.json() or {}))))
            except (ValueError, TypeError) as exc:
                return Response.json({"error": str(exc)}, 400)
        return Response.json({"error": f"method {req.method} not allowed"}, 405)

    # --------------------------------------------------------------- errors
    def too_many_requests(self, retry_after: str) -> Response:
        model = self.options.models[0]
        return openai_error(
            429, f"Rate limit reached for {model} in organization org-emulator on requests per min (RPM): "
                 f"Limit 3, Used 3, Requested 1. Please try again in {retry_after}s.",
            "requests", "rate_limit_exceeded", headers={"Retry-After": retry_after})

    def server_error(self) -> Response:
        return openai_error(500, "The server had an error while processing your request. Sorry about that!",
                            "server_error")

    def _auth_error(self, req: Request) -> Response | None:
        auth = req.header("authorization") or ""
        if not auth.lower().startswith("bearer ") or not auth[7:].strip():
            return openai_error(
                401, "You didn't provide an API key. You need to provide your API key in an Authorization header "
                     "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", "invalid_request_error")
        key = auth[7:].strip()
        if self.credentials_rejected() or key != self.api_key:
            return openai_error(
                401, f"Incorrect API key provided: {_mask(key)}. You can find your API key at "
                     "https://platform.openai.com/account/api-keys.", "invalid_request_error", "invalid_api_key")
        return None

    # --------------------------------------------------------------- routes
    def route(self, req: Request) -> Response:
        path = req.path.rstrip("/")
        if path not in ("/v1/models", "/v1/chat/completions") and not path.startswith("/v1/models/"):
            return openai_error(404, f"Invalid URL ({req.method} {req.path})", "invalid_request_error")
        denied = self._auth_error(req)
        if denied:
            return denied
        opts = self.options
        if path == "/v1/models" and req.method == "GET":
            return Response.json({"object": "list", "data": [
                {"id": m, "object": "model", "created": 1700000000, "owned_by": "emulator"} for m in opts.models]})
        if path.startswith("/v1/models/") and req.method == "GET":
            model = path[len("/v1/models/"):]
            if model in opts.models:
                return Response.json({"id": model, "object": "model", "created": 1700000000, "owned_by": "emulator"})
            return self._model_not_found(model)
        if path == "/v1/chat/completions" and req.method == "POST":
            return self._chat(req, opts)
        return openai_error(405, f"Method {req.method} not allowed for {req.path}", "invalid_request_error")

    @staticmethod
    def _model_not_found(model: str) -> Response:
        return openai_error(404, f"The model `{model}` does not exist", "invalid_request_error", "model_not_found")

    def _chat(self, req: Request, opts: LlmOptions) -> Response:
        try:
            body = req.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return openai_error(400, "We could not parse the JSON body of your request. (HINT: This likely means you "
                                     "aren't using your HTTP library correctly.)", "invalid_request_error")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            return openai_error(400, "you must provide a model parameter", "invalid_request_error")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return openai_error(400, "Missing required parameter: 'messages'.", "invalid_request_error",
                                "missing_required_parameter", "messages")
        if model not in opts.models:
            return self._model_not_found(model)
        if body.get("stream"):
            return openai_error(400, "stream=true is not supported by this emulator", "invalid_request_error",
                                param="stream")
        fmt = body.get("response_format") or {"type": "text"}
        fmt_type = fmt.get("type") if isinstance(fmt, dict) else None
        rejected = (self._reject_format(fmt_type, opts.structured_output)
                    or reject_parameters(body, model in opts.reasoning_models))
        if rejected is None and fmt_type == "json_schema":
            rejected = reject_json_schema(fmt)
        if rejected is None and fmt_type == "json_object" and not any(
                "json" in str(m.get("content", "")).lower() for m in messages if isinstance(m, dict)):
            rejected = openai_error(400, "'messages' must contain the word 'json' in some form, to use "
                                         "'response_format' of type 'json_object'.", "invalid_request_error",
                                    None, "messages")
        if rejected:
            return rejected

        user_texts = [m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        payload = extract_payload(user_texts[-1]) if user_texts else None
        outcome = self.picker.answer(payload, seed=opts.seed, mistake_rate=opts.mistake_rate)
        label = outcome.answer["category"]
        with self._opt_lock:
            self._counter += 1
            call_no = self._counter
            unlucky = self._rng.random() < opts.invalid_json_rate
        answer = outcome.answer
        if fmt_type == "json_schema":
            answer = conform(answer, fmt["json_schema"].get("schema") or {})
        text = json.dumps(answer, ensure_ascii=False)
        invalid = label in opts.fail_labels or unlucky
        if invalid:
            # What a real model does when it runs off the rails: prose plus a cut-off object.
            text = "Here are my recommendations:\n" + text[: max(10, len(text) // 2)]
        elif fmt_type == "text":
            text = f"```json\n{text}\n```"  # without a JSON mode, models like to fence their JSON
        with self._opt_lock:
            self._answers.append({"call": call_no, "label": label, "count": len(outcome.answer["recommendations"]),
                                  "invalid_json": invalid, "mistakes": outcome.mistakes, "model": model,
                                  "response_format": fmt_type, "temperature": body.get("temperature"),
                                  "max_tokens": body.get("max_tokens"),
                                  "max_completion_tokens": body.get("max_completion_tokens")})
        finish_reason = "stop"
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        if limit and estimate_tokens(text) > limit:
            text, finish_reason = text[: 4 * limit], "length"  # cut off like a real model at its token cap
        prompt_text = "".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))
        prompt_tokens, completion_tokens = estimate_tokens(prompt_text), estimate_tokens(text)
        return Response.json({
            "id": f"chatcmpl-emu{call_no:08x}", "object": "chat.completion", "created": int(time.time()),
            "model": model, "system_fingerprint": "fp_emulator",
            "choices": [{"index": 0, "finish_reason": finish_reason, "logprobs": None,
                         "message": {"role": "assistant", "content": text, "refusal": None}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        })

    @staticmethod
    def _reject_format(fmt_type, mode: str) -> Response | None:
        if fmt_type not in ("text", "json_object", "json_schema"):
            return openai_error(400, f"Invalid value: '{fmt_type}'. Supported values are: 'json_object', "
                                     "'json_schema', and 'text'.", "invalid_request_error", "invalid_value",
                                "response_format.type")
        if mode == "json_object" and fmt_type == "json_schema":
            # like local servers without grammar support for schemas
            return openai_error(400, "response_format of type 'json_schema' is not supported by this server; "
                                     "use 'json_object' or 'text'", "invalid_request_error", None, "response_format")
        if mode == "none" and fmt_type in ("json_schema", "json_object"):
            # an old LM Studio answered with a bare string error
            return Response.json({"error": "'response_format.type' must be 'text'"}, 400, CONTENT_TYPE)
        return None
