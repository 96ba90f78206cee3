"""Secrets and sensitive text never reach telemetry, audit records or logs.

    safe_url("redis://:s3cret@cache:6379/0")        # 'redis://:***@cache:6379/0'
    scrub_secrets("connect postgresql://app:pw@db/x failed")   # '... postgresql://app:***@db/x ...'
    exception_message(ValueError("mail ann@example.com"))      # 'mail [REDACTED:email]'

The rules (documented in SECURITY.md):

- **URLs and DSNs**: the password of ``scheme://user:password@host`` is replaced by
  ``***``; query parameters named like a credential (``password``, ``token``,
  ``secret``, ``key``, ``auth``…) keep their name and lose their value; libpq-style
  ``password=...`` pairs in free text are masked the same way.
- **API keys and bearer tokens** (``sk-…``, ``Bearer …``, AWS/GitHub/Slack/Google key
  shapes) are replaced by ``[REDACTED:api_key]``.
- **Exception text** recorded on spans (status description, ``exception.message``,
  ``exception.stacktrace``) is the exception's message with the above applied plus the
  e-mail, card, IBAN, SSN and phone detectors, then cut to :data:`MAX_MESSAGE` characters.
  A content policy's redactor (``action: redact``) runs on it too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

#: Longest exception message recorded on a span (characters, after scrubbing).
MAX_MESSAGE: Final = 512
#: Longest stack trace recorded on a span (characters).
MAX_STACKTRACE: Final = 4096

MASK: Final = "***"

_USERINFO = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@\s]*)@"
)
_SECRET_NAMES = (
    r"(?:password|passwd|pwd|pass|secret|token|api[_-]?key|apikey|key|auth"
    r"|credentials?|sig|signature)"
)
_QUERY = re.compile(rf"(?i)(?P<name>[?&;]{_SECRET_NAMES}=)(?P<value>[^&#\s]*)")
_PAIR = re.compile(
    rf"(?i)(?P<name>\b{_SECRET_NAMES}\s*[=:]\s*)(?P<q>['\"]?)(?P<value>[^\s'\"&,;]+)"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")

_EXCEPTION_DETECTORS: Final = ("email", "credit_card", "iban", "ssn", "phone", "api_key")


def safe_url(url: str) -> str:
    """``url`` with its password and credential-like query values masked."""
    return scrub_secrets(url)


def scrub_secrets(text: str) -> str:
    """``text`` with URL passwords, credential pairs and bearer tokens masked."""
    if not text:
        return text
    out = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    out = _QUERY.sub(lambda m: f"{m['name']}{MASK}", out)
    out = _PAIR.sub(lambda m: f"{m['name']}{m['q']}{MASK}", out)
    return _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", out)


def scrub_text(text: str, redact: Callable[[str], str] | None = None, *, limit: int) -> str:
    """Secrets and PII masked (then ``redact`` applied), cut to ``limit`` characters."""
    from genops.policy.detectors import redact_text  # genops.policy imports the ledgers

    out = redact_text(scrub_secrets(text), _EXCEPTION_DETECTORS)
    if redact is not None:
        out = redact(out)
    if len(out) > limit:
        out = out[: limit - 1] + "…"
    return out


def exception_message(exc: BaseException, redact: Callable[[str], str] | None = None) -> str:
    """The message of ``exc`` as genops records it: scrubbed and bounded (see module docs)."""
    try:
        text = str(exc)
    except Exception:  # a broken __str__ must not break recording
        text = ""
    return scrub_text(text, redact, limit=MAX_MESSAGE)
