"""OpenAI-compatible chat client that asks for JSON and degrades gracefully.

Structured output support varies by server (OpenAI, Ollama, vLLM, LM Studio, LocalAI), so
``complete_json`` tries ``json_schema`` first, falls back to ``json_object`` and then to a
plain prompt, and remembers the first mode that worked for this client instance. Categories
share one client across threads, so the fallback is a compare-and-advance under a lock: a
rejection moves the client on only from the mode that was actually rejected, and never past
the last mode.

Sampling parameters follow the model: reasoning models (OpenAI's o-series and gpt-5) accept
only the default temperature and want ``max_completion_tokens`` instead of ``max_tokens``, so
those are never sent to them. For a model not known by name, a 400 that names a parameter we
sent (OpenAI's ``param`` field) drops that parameter for this client, and the call is retried
once without it.
"""
from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import openai

from plexrecs_assets.clients.base import (
    CheckResult,
    RetryPolicy,
    ServiceAuthError,
    ServiceError,
    check_fix_hint,
    redact_text,
)

log = logging.getLogger("plexrecs.clients")

MODES = ("json_schema", "json_object", "prompt")
JSON_ONLY = "Reply with JSON only."
# o1, o3-mini, o4-mini-2025-04-16, gpt-5, gpt-5-mini, gpt-5.1 ... but not gpt-5-chat-latest
_REASONING_MODEL = re.compile(r"^(o\d+(-.+)?|gpt-5(?!-chat)([.-].+)?)$")
# parameters a server may refuse that the call works without (the rest of the request is not optional)
DROPPABLE_PARAMS = ("temperature", "max_tokens", "max_completion_tokens")
_FENCE = re.compile(r"^\s*```[a-zA-Z0-9_-]*\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)


@dataclass(frozen=True)
class LlmAnswer:
    content: str
    data: dict | None
    parse_error: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    model: str | None
    response_format_used: str  # "json_schema" | "json_object" | "prompt"
    finish_reason: str | None = None


def parse_json_object(text: str | None) -> tuple[dict | None, str | None]:
    """Best-effort JSON object from model output: strips ``` fences, takes the outermost {...}.

    Returns ``(data, None)`` or ``(None, reason)``; never raises, so callers can ask for a repair.
    """
    if text is None or not text.strip():
        return None, "empty reply"
    candidate = text.strip()
    fenced = _FENCE.match(candidate)
    if fenced:
        candidate = fenced.group(1).strip()
    try:
        value = json.loads(candidate)
    except ValueError:
        first, last = candidate.find("{"), candidate.rfind("}")
        if first < 0 or last <= first:
            return None, "no JSON object in the reply"
        try:
            value = json.loads(candidate[first: last + 1])
        except ValueError as exc:
            return None, f"invalid JSON: {exc}"
    if not isinstance(value, dict):
        return None, f"expected a JSON object, got {type(value).__name__}"
    return value, None


def is_reasoning_model(model: str) -> bool:
    """OpenAI's reasoning models by name, also behind a provider prefix (``openai/o3-mini``)."""
    return bool(_REASONING_MODEL.match(model.strip().lower().rsplit("/", 1)[-1]))


def sampling_params(model: str, temperature: float | None, max_output_tokens: int | None) -> dict[str, Any]:
    """The temperature and token cap to send for ``model`` (None values are left out)."""
    if is_reasoning_model(model):
        # temperature: only the default (1) is accepted; the cap must be max_completion_tokens,
        # and it also counts the hidden reasoning tokens
        params = {"max_completion_tokens": max_output_tokens}
    else:
        # max_tokens rather than max_completion_tokens: local servers (Ollama, older vLLM) know only it
        params = {"temperature": temperature, "max_tokens": max_output_tokens}
    return {k: v for k, v in params.items() if v is not None}


def _rejected_param(exc: openai.BadRequestError) -> str | None:
    param = getattr(exc, "param", None)
    if param is None and isinstance(exc.body, dict):
        param = exc.body.get("param")
    return param if isinstance(param, str) else None


def _server_message(exc: openai.APIStatusError) -> str:
    """The server's own error text (``error.message``), without the openai package's wrapping."""
    if isinstance(exc.body, dict) and isinstance(exc.body.get("message"), str):
        return exc.body["message"]
    return exc.message or ""


def _schema_prompt(schema: dict) -> str:
    return f"Answer with one JSON object matching this JSON Schema:\n{json.dumps(schema, separators=(',', ':'))}"


def _mentions_response_format(exc: openai.APIStatusError) -> bool:
    text = f"{exc.message} {exc.body!r}".lower()
    return "response_format" in text or "json_schema" in text or "json_object" in text


def _is_insufficient_quota(exc: openai.APIStatusError) -> bool:
    return getattr(exc, "code", None) == "insufficient_quota" or "insufficient_quota" in repr(exc.body)


class LlmClient:
    service = "llm"

    def __init__(self, base_url: str, api_key: str, model: str, timeout_s: float = 120.0, *,
                 retry: RetryPolicy | None = None, temperature: float | None = None,
                 max_output_tokens: int | None = None, http_client: httpx.Client | None = None):
        if not model:
            raise ValueError("LlmClient needs a model name")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.temperature = temperature  # None: the server's default
        self.max_output_tokens = max_output_tokens
        self.retry = retry or RetryPolicy()
        # local servers (Ollama) accept any key, but the openai package refuses an empty one
        self._api_key = api_key or "not-needed"
        self._secrets = [s for s in (api_key,) if s]
        self._openai = openai.OpenAI(base_url=self.base_url, api_key=self._api_key, max_retries=0,
                                     timeout=timeout_s, http_client=http_client)
        self._mode_lock = threading.Lock()
        self._mode_index = 0  # only ever grows, and only under _mode_lock
        self._params = sampling_params(model, temperature, max_output_tokens)  # only shrinks, under _mode_lock
        if temperature is not None and "temperature" not in self._params:
            log.info("llm: %s is a reasoning model: temperature %s is not sent (it accepts only the default)",
                     model, temperature)

    @property
    def response_format_mode(self) -> str:
        with self._mode_lock:
            return MODES[self._mode_index]

    def _fall_back_from(self, rejected: str) -> str | None:
        """The mode to try after ``rejected`` was refused, or None when it was the last one.

        Compare-and-advance: when other threads already moved past ``rejected`` (their requests
        failed the same way), this thread just follows them instead of skipping another mode."""
        with self._mode_lock:
            failed_at = MODES.index(rejected)
            if failed_at >= len(MODES) - 1:
                return None
            if self._mode_index == failed_at:
                self._mode_index += 1
            return MODES[self._mode_index]

    @property
    def request_params(self) -> dict[str, Any]:
        """The sampling parameters the next request sends."""
        with self._mode_lock:
            return dict(self._params)

    def _drop_rejected(self, sent: dict[str, Any], exc: openai.BadRequestError) -> str | None:
        """The parameter the server named in its 400, now removed for this client; None when the
        400 is about something else. ``max_tokens`` refused in favour of ``max_completion_tokens``
        moves the cap over instead of dropping it."""
        param = _rejected_param(exc)
        if param not in DROPPABLE_PARAMS or param not in sent:
            return None
        with self._mode_lock:
            if self._params.get(param) == sent[param]:  # another thread may have dropped it already
                value = self._params.pop(param)
                reason = redact_text(_server_message(exc), self._secrets)[:200]
                if param == "max_tokens" and "max_completion_tokens" in reason:
                    self._params["max_completion_tokens"] = value
                    log.warning("llm: the server refused max_tokens for model %s (%s); sending "
                                "max_completion_tokens=%s instead", self.model, reason, value)
                else:
                    log.warning("llm: the server refused %s=%s for model %s (%s); sending requests without it",
                                param, value, self.model, reason)
        return param

    def close(self) -> None:
        self._openai.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _error(self, path: str, kind: str, detail: str, status: int | None = None) -> ServiceError:
        cls = ServiceAuthError if kind == "auth" else ServiceError
        return cls(self.service, f"{self.base_url}{path}", kind, redact_text(detail, self._secrets), status)

    def _with_retries(self, path: str, call, attempts: int | None = None):
        """Run ``call`` with the shared retry policy; map openai errors to ServiceError.

        ``openai.BadRequestError`` is re-raised untouched so the caller can inspect it.
        """
        budget = min(attempts or self.retry.attempts, self.retry.attempts)
        for attempt in range(1, budget + 1):
            response: httpx.Response | None = None
            try:
                return call()
            except openai.BadRequestError:
                raise
            except openai.APIStatusError as exc:
                status, response = exc.status_code, exc.response
                detail = f"{exc.message}"
                if status in (401, 403):
                    raise self._error(path, "auth", detail, status) from exc
                if status == 429 and _is_insufficient_quota(exc):
                    raise self._error(path, "quota", f"insufficient_quota (not retried): {detail}", status) from exc
                if status == 404:
                    raise self._error(path, "not_found", detail, status) from exc
                if status != 429 and status < 500:
                    raise self._error(path, "client", detail, status) from exc
                kind = "rate_limited" if status == 429 else "server"
                if attempt >= budget:
                    raise self._error(path, kind, f"after {attempt} attempt(s): {detail}", status) from exc
                log.warning("llm: HTTP %d on attempt %d/%d: %s%s", status, attempt, budget, self.base_url, path)
            except openai.APIConnectionError as exc:  # includes APITimeoutError
                if attempt >= budget:
                    raise self._error(path, "unreachable", f"after {attempt} attempt(s): {type(exc).__name__}: "
                                      f"{exc}") from exc
                log.warning("llm: %s on attempt %d/%d: %s%s", type(exc).__name__, attempt, budget,
                            self.base_url, path)
            except _MalformedBody as exc:
                if attempt >= budget:
                    raise self._error(path, "bad_response", f"after {attempt} attempt(s): {exc}") from exc
                log.warning("llm: malformed body on attempt %d/%d: %s%s", attempt, budget, self.base_url, path)
            time.sleep(self.retry.wait_for(attempt, response))
        raise AssertionError("unreachable")  # the loop always returns or raises

    def _chat(self, messages: list[dict], response_format: dict | None, params: dict[str, Any]) -> dict:
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages, **params}
        if response_format is not None:
            kwargs["response_format"] = response_format

        def call() -> dict:
            raw = self._openai.chat.completions.with_raw_response.create(**kwargs)
            # parse ourselves: a truncated body must be retried, not surface as an AttributeError
            try:
                body = json.loads(raw.http_response.text)
            except ValueError as exc:
                raise _MalformedBody(f"body is not JSON: {raw.http_response.text[:120]!r}") from exc
            if not isinstance(body, dict) or not body.get("choices"):
                raise _MalformedBody(f"no choices in the reply: {raw.http_response.text[:120]!r}")
            return body

        return self._with_retries("/chat/completions", call)

    def complete_json(self, system: str, user: str, schema: dict, schema_name: str = "recommendations") -> LlmAnswer:
        mode = self.response_format_mode
        retried_without: set[str] = set()
        while True:
            params = self.request_params
            messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
            if mode == "json_schema":
                response_format = {"type": "json_schema",
                                   "json_schema": {"name": schema_name, "schema": schema, "strict": True}}
            else:
                # without server-side enforcement the model has to be told the shape; the schema
                # goes in the system message so the user message keeps a single JSON payload
                messages = [{"role": "system", "content": f"{system}\n\n{_schema_prompt(schema)}"},
                            {"role": "user", "content": f"{user}\n\n{JSON_ONLY}"}]
                response_format = {"type": "json_object"} if mode == "json_object" else None
            try:
                body = self._chat(messages, response_format, params)
            except openai.BadRequestError as exc:
                dropped = self._drop_rejected(params, exc)
                if dropped and dropped not in retried_without:
                    retried_without.add(dropped)  # once per parameter and call
                    continue
                if _mentions_response_format(exc):
                    next_mode = self._fall_back_from(mode)
                    if next_mode is None:
                        raise self._error(
                            "/chat/completions", "client",
                            f"the server rejected every structured-output mode ({', '.join(MODES)}); "
                            f"last answer: {_server_message(exc)}", exc.status_code) from exc
                    log.info("llm: server rejected response_format %s (%s); trying %s", mode,
                             redact_text(_server_message(exc), self._secrets)[:200], next_mode)
                    mode = next_mode
                    continue
                raise self._error("/chat/completions", "client", exc.message, exc.status_code) from exc
            return self._answer(body, mode)

    def _answer(self, body: dict, mode: str) -> LlmAnswer:
        choice = body["choices"][0] or {}
        message = choice.get("message") or {}
        content = message.get("content")
        if isinstance(content, list):  # some servers send content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        usage = body.get("usage") or {}
        if content is None and message.get("refusal"):
            data, parse_error = None, f"model refused: {message['refusal']}"
        else:
            data, parse_error = parse_json_object(content)
        if parse_error and choice.get("finish_reason") == "length":
            parse_error += " (reply was cut off: finish_reason=length)"
        return LlmAnswer(
            content=content or "",
            data=data,
            parse_error=parse_error,
            prompt_tokens=_int(usage.get("prompt_tokens")),
            completion_tokens=_int(usage.get("completion_tokens")),
            model=body.get("model") or self.model,
            response_format_used=mode,
            finish_reason=choice.get("finish_reason"),
        )

    def models(self, attempts: int | None = None) -> list[str]:
        """Model ids the server lists at ``GET /models``."""
        def call() -> list[str]:
            raw = self._openai.models.with_raw_response.list()
            try:
                body = json.loads(raw.http_response.text)
            except ValueError as exc:
                raise _MalformedBody(f"body is not JSON: {raw.http_response.text[:120]!r}") from exc
            rows = body.get("data") if isinstance(body, dict) else None
            if not isinstance(rows, list):
                raise _MalformedBody("no 'data' list in the /models reply")
            return [str(m["id"]) for m in rows if isinstance(m, dict) and m.get("id")]

        return self._with_retries("/models", call, attempts=attempts)

    def check(self) -> CheckResult:
        try:
            served = self.models(attempts=2)
        except ServiceError as exc:
            fix = check_fix_hint(exc, auth_fix="bad API key: check LLM_API_KEY",
                                 not_found_fix="wrong URL? the LLM base usually ends in /v1")
            return CheckResult(self.service, False, str(exc), fix)
        except openai.BadRequestError as exc:
            return CheckResult(self.service, False, redact_text(str(exc), self._secrets),
                               "unexpected answer: is this an OpenAI-compatible /v1 URL?")
        if not _model_served(self.model, served):
            shown = ", ".join(served[:10]) or "(none)"
            return CheckResult(self.service, False, f"model {self.model!r} is not served at {self.base_url}",
                               f"model not found: pull it / pick one of {shown}")
        return CheckResult(self.service, True, f"llm reachable, key accepted, model {self.model!r} served")


class _MalformedBody(Exception):
    pass


def _model_served(model: str, served: list[str]) -> bool:
    # Ollama lists "llama3.1:latest" while users configure "llama3.1"
    return model in served or f"{model}:latest" in served or model.removesuffix(":latest") in served


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
