"""Keeping credentials out of tenant configurations.

Tenant configurations are stored in plain JSON in a Qdrant collection and printed by
``genseek tenant get``, so they never hold a secret. A secret is referenced instead, as
``{"$env": "NAME"}``, and read from the environment only when the component is built
(:func:`genseek.tenants.model.expand_env`). Two rules enforce this:

* **by name** (:func:`check_options`): in component options and sampler controls, a key that
  names a credential (:func:`is_secret_name`: ``api_key``, ``token``, ``authorization``,
  ``private_key``, ``access_key_id``, ``passphrase``, ``bearer``, ``ssh_key`` …, in any case,
  ``snake_case``, ``kebab-case`` or ``camelCase``) must hold an environment reference, ``null``
  or a boolean (a boolean cannot carry a secret: ``"use_auth_token": true``);
* **by value** (:func:`credential_problem`): no string anywhere in a configuration may look like
  a credential — a URL with user-info (``https://user:password@host/...``) or with a secret query
  parameter (``?token=...``), an ``Authorization`` header value, a PEM private key, or a token in
  a well-known provider format (Hugging Face, GitHub, OpenAI, AWS, Google, Slack, GitLab, JWT).
"""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

#: Words that make a key a credential wherever they appear in it (``hf_token``, ``clientSecret``).
SECRET_WORDS: frozenset[str] = frozenset({
    "apikey", "auth", "authorization", "bearer", "cookie", "credential", "credentials", "creds",
    "jwt", "passphrase", "passwd", "password", "privatekey", "pwd", "sas", "secret", "secrets",
    "signature", "token",
})
#: Word pairs that do (``private_key``, ``access_key_id``, ``ssh_key``, ``api_key``).
SECRET_PAIRS: frozenset[tuple[str, str]] = frozenset({
    ("access", "key"), ("account", "key"), ("api", "key"), ("client", "key"), ("encryption", "key"),
    ("license", "key"), ("master", "key"), ("private", "key"), ("secret", "key"), ("signing", "key"),
    ("ssh", "key"), ("x", "api"),
})
#: URL query parameters that carry a credential besides the secret names (Azure SAS ``sig``, ``?key=``).
SECRET_QUERY_PARAMETERS: frozenset[str] = frozenset({"sig", "key"})
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")
_CREDENTIAL_VALUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an Authorization header value",
     re.compile(r"(?i)\A\s*(bearer|basic|token|digest)\s+[A-Za-z0-9._~+/=:-]{12,}\s*\Z")),
    ("an Authorization header", re.compile(r"(?i)\b(proxy-)?authorization\s*[:=]\s*\S")),
    ("a PEM private key", re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")),
    ("a Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{30,}")),
    ("a GitHub token", re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})")),
    ("a GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    ("an API secret key", re.compile(r"\bsk-(proj-|ant-)?[A-Za-z0-9_-]{20,}|\b[sr]k_(live|test)_[A-Za-z0-9]{16,}")),
    ("an AWS access key id", re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("a JSON web token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+")),
)


def words(name: str) -> list[str]:
    """``"clientSecret"`` → ``["client", "secret"]``; ``"ACCESS_KEY_ID"`` → ``["access", "key", "id"]``."""
    return [w.lower() for w in _WORDS.findall(name)]


def is_secret_name(name: str) -> bool:
    """Whether an option named ``name`` holds a credential (see :data:`SECRET_WORDS`, :data:`SECRET_PAIRS`)."""
    parts = words(name)
    joined = "".join(parts)
    return (
        any(part in SECRET_WORDS for part in parts)
        or any(pair in SECRET_PAIRS for pair in zip(parts, parts[1:]))
        or any(word in joined for word in ("apikey", "privatekey", "accesskey", "sshkey", "password", "passphrase"))
    )


def credential_problem(text: str) -> str | None:
    """What in ``text`` looks like a credential, or ``None``."""
    for match in _URL.finditer(text):
        problem = _url_problem(match.group(0))
        if problem is not None:
            return problem
    for what, pattern in _CREDENTIAL_VALUES:
        if pattern.search(text):
            return f"it contains {what}"
    return None


def _url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if "@" in parts.netloc:
        return "its URL contains user-info ('user:password@' or 'token@' before the host)"
    names = {key for key, _ in parse_qsl(parts.query, keep_blank_values=True)}
    secret = sorted(key for key in names if is_secret_name(key) or key.lower() in SECRET_QUERY_PARAMETERS)
    if secret:
        return f"its URL carries the secret query parameter(s) {', '.join(secret)}"
    return None


def check_config_strings(value: Any, path: str = "") -> None:
    """Raise ``ValueError`` naming the field when a string anywhere in ``value`` looks like a credential."""
    if isinstance(value, str):
        problem = credential_problem(value)
        if problem is not None:
            where = path or "(root)"
            raise ValueError(
                f"{where} looks like a credential: {problem}. Secret values are never stored in tenant "
                "configurations: remove it, put the secret in an environment variable and pass it to the component "
                "as an option that references it, e.g. sampler.options = {'token': {'$env': 'WEIGHTS_TOKEN'}}"
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            check_config_strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            check_config_strings(item, f"{path}[{index}]")


def check_options(where: str, options: dict[str, Any]) -> dict[str, Any]:
    """Options are JSON values; credential-named keys hold ``{"$env": "NAME"}`` references.

    Returns ``options`` unchanged; raises ``ValueError`` naming the option otherwise.
    """
    for key, value in options.items():
        _check_value(f"{where}.{key}", str(key), value)
    return options


def _check_value(path: str, key: str, value: Any) -> None:
    if isinstance(value, dict):
        if "$env" in value:
            name = value["$env"]
            if set(value) != {"$env"} or not isinstance(name, str) or not ENV_NAME.fullmatch(name):
                raise ValueError(
                    f"{path}: an environment reference is exactly {{'$env': 'VARIABLE_NAME'}}, got {value!r}"
                )
            return
        for sub_key, sub_value in value.items():
            if not isinstance(sub_key, str):
                raise ValueError(f"{path}: option keys are strings (JSON object keys), got {sub_key!r}")
            _check_value(f"{path}.{sub_key}", sub_key, sub_value)
        return
    if is_secret_name(key) and value is not None and not isinstance(value, bool):
        raise ValueError(
            f"{path} looks like a secret; store a reference to an environment variable instead, "
            f"e.g. {{'$env': '{_env_example(key)}'}} — secret values are never stored in tenant configs"
        )
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_value(f"{path}[{index}]", key, item)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{path}: {value!r} is not a JSON number; use a finite number")
    elif not isinstance(value, (str, int, float, bool)) and value is not None:
        raise ValueError(f"{path}: options must be JSON values, got {type(value).__name__}")


def _env_example(key: str) -> str:
    name = "_".join(part.upper() for part in words(key)) or "SECRET"
    return f"MY_{name}"


__all__ = ["ENV_NAME", "SECRET_PAIRS", "SECRET_WORDS", "check_config_strings", "check_options",
           "credential_problem", "is_secret_name", "words"]
