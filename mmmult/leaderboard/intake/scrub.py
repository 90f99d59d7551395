"""Secrets out of what a run's files say about it, before anything of them is kept or shown.

lm-eval writes `--model_args` into results.json twice (config.model_args and each task's metadata), as the
user typed them: an API key, a Hub token or a base URL with credentials passed there would otherwise reach
the store, its Hub backup and the model page. Three rules, applied to every key and string of the file:

- a value under a secret-looking key (api_key, token, auth, password, secret, bearer, credential, cookie,
  signature, key) is replaced by REDACTED, in a mapping or in "k=v,k=v" / "k: v" text;
- a URL keeps its scheme, host, port and path: user:password@ and the query and fragment are dropped;
- text that has the form of a known credential (sk-..., hf_..., ghp_..., AKIA..., AIza..., a JWT, "Bearer X")
  is replaced by REDACTED wherever it stands.

A key is secret-looking when one of its words (split at _ - . and case changes) is a secret word, so
max_completion_tokens, budget_tokens and tokenizer stay as they are, while hf_token and x-api-key go.

>>> scrub_text("pretrained=org/m,api_key=abc123,max_tokens=64")
'pretrained=org/m,api_key=[redacted],max_tokens=64'
>>> scrub_text("base_url=https://me:pw@host.example:8000/v1?key=abc#x")
'base_url=https://host.example:8000/v1'
>>> scrub({"model_args": {"token": "t", "tokenizer": "org/tok"}})
{'model_args': {'token': '[redacted]', 'tokenizer': 'org/tok'}}
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REDACTED = "[redacted]"
SECRET_WORDS = frozenset(
    {"apikey", "key", "keys", "token", "auth", "authorization", "password", "passwd", "pwd", "secret", "secrets",
     "bearer", "credential", "credentials", "cookie", "signature", "sig", "passphrase", "jwt"}
)  # fmt: skip
"""A key holding one of these words holds a secret ("api_key", "apiKey" and "apikey" alike)."""
TOKEN_KINDS = frozenset({"pad", "eos", "bos", "eot", "unk", "sep", "cls", "mask", "special", "start", "end", "stop"})
"""Words before "token" that make it a vocabulary item (tokenizer_pad_token), not a credential."""
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]{1,15}://[^\s\"'<>,;]+")
_KEY_VALUE = re.compile(
    r"(?P<key>[A-Za-z_][\w.-]{0,63})(?P<sep>[\"']?\s*[=:]\s*)"
    r"(?P<value>(?:(?:Bearer|Basic|Token|Digest)\s+)?(?:\"[^\"]*\"|'[^']*'|[^\s,;&\"'}\]]+))"
)
_CREDENTIAL = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{8,}|hf_[A-Za-z0-9]{8,}|gh[pousr]_[A-Za-z0-9]{8,}|github_pat_\w{8,}|glpat-[\w-]{8,}"
    r"|xox[abprs]-[\w-]{8,}|AKIA[0-9A-Z]{12,}|AIza[\w-]{20,}|eyJ[\w-]{6,}\.[\w-]{6,}\.[\w-]{6,})"
    r"|\b[Bb]earer\s+[A-Za-z0-9._~+/=-]{6,}"
)
"""Credentials by their form: OpenAI/Anthropic (sk-), Hub (hf_), GitHub, GitLab, Slack, AWS, Google keys, JWTs,
and an Authorization header's scheme and value."""


def secret_key(key: str) -> bool:
    """Whether a key names a secret.

    >>> [secret_key(k) for k in ("api_key", "HF_TOKEN", "xApiKey", "max_completion_tokens", "tokenizer_pad_token")]
    [True, True, True, False, False]
    """
    words = [w.lower() for w in _WORD.findall(key)]
    return any(
        word in SECRET_WORDS and not (word == "token" and i and words[i - 1] in TOKEN_KINDS)
        for i, word in enumerate(words)
    )


def scrub_url(url: str) -> str:
    """A URL without credentials, query or fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # an unparsable port or bracket: keep nothing after the scheme
        return url.split("://", 1)[0] + "://" + REDACTED
    return urlunsplit((parts.scheme, host + port, parts.path, "", ""))


def scrub_text(text: str) -> str:
    """Text with URLs cut to their host and path, secret-looking k=v values and credential forms redacted."""
    text = _URL.sub(lambda m: scrub_url(m.group(0)), text)
    text = _KEY_VALUE.sub(_redact_pair, text)
    return _CREDENTIAL.sub(REDACTED, text)


def _redact_pair(match: re.Match[str]) -> str:
    if not secret_key(match["key"]) or match["value"].startswith(REDACTED[:-1]):
        return match.group(0)
    return f"{match['key']}{match['sep']}{REDACTED}"


def scrub(value: Any) -> Any:  # noqa: ANN401 (any JSON value)
    """A JSON value with every secret removed (see the module's rules); numbers and booleans are kept."""
    if isinstance(value, dict):
        return {scrub_text(str(k)): REDACTED if secret_key(str(k)) and v is not None else scrub(v) for k, v in
                value.items()}  # fmt: skip
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value
