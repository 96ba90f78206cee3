"""Zero-dependency content detectors: email, card numbers, IBAN, US SSN, phone, IP, API keys.

    found = scan("mail me at ann@example.com", ("email", "credit_card"))   # {'email': 1}
    redact_text("card 4111 1111 1111 1111", ("credit_card",))   # 'card [REDACTED:credit_card]'

Checksums where they exist (Luhn for cards, ISO 7064 mod 97 for IBANs, area/group/
serial rules for SSNs, address parsing for IPs), so "1234 5678 9012 3456" is not a
card. Only the detectors a policy asks for run.

Speed: Python's ``re`` costs tens of nanoseconds per character for every pattern
that must be tried at each position, so detectors do not each scan the text.
One pass finds the numeric clusters (digits joined by spaces, dots, dashes,
brackets) that cards, SSNs, phones, IPv4 addresses and IBAN check digits all
live in; the exact patterns then run on those few short clusters. E-mail is
anchored on ``@`` and IPv6 on ``:hex:`` (C-speed substring searches), API keys
on their literal prefixes. See ``benchmarks/bench_policy.py`` for the timings.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import Final

Span = tuple[int, int]


def luhn_valid(digits: str) -> bool:
    """Luhn checksum of a digit string."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    """ISO 13616 IBAN check digits (mod 97 == 1)."""
    compact = text.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34 or not compact.isalnum() or not compact.isascii():
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


class _Text:
    """One text being scanned, with the numeric clusters computed once."""

    _CLUSTER = re.compile(r"[0-9][0-9 .()/-]*")

    def __init__(self, text: str) -> None:
        self.text = text
        self._clusters: list[Span] | None = None

    @property
    def clusters(self) -> list[Span]:
        if self._clusters is None:
            self._clusters = [m.span() for m in self._CLUSTER.finditer(self.text)]
        return self._clusters

    def boundary(self, start: int, end: int, forbidden: str) -> bool:
        """True when the characters around [start, end) are not in ``forbidden``."""
        t = self.text
        before = t[start - 1] if start > 0 else " "
        after = t[end] if end < len(t) else " "
        return (
            before not in forbidden
            and after not in forbidden
            and not (before.isalnum() or after.isalnum())
        )


def _in_clusters(
    pattern: re.Pattern[str],
    min_digits: int,
    valid: Callable[[str], bool],
    forbidden: str,
) -> Callable[[_Text], list[Span]]:
    def find(t: _Text) -> list[Span]:
        found: list[Span] = []
        text = t.text
        for cstart, cend in t.clusters:
            if cend - cstart < min_digits:
                continue
            # a leading "+" / "+49 " / "(" belongs to the number (phones)
            for m in pattern.finditer(text, max(cstart - 4, 0), cend):
                s, e = m.span()
                if t.boundary(s, e, forbidden) and valid(m.group(0)):
                    found.append((s, e))
        return found

    return find


def _card_ok(match: str) -> bool:
    digits = re.sub(r"[ -]", "", match)
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def _ssn_ok(match: str) -> bool:
    area, group, serial = match[0:3], match[4:6], match[7:11]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _ip_ok(match: str) -> bool:
    try:
        ipaddress.ip_address(match)
    except ValueError:
        return False
    return True


_find_card = _in_clusters(re.compile(r"[0-9](?:[ -]?[0-9]){12,18}"), 13, _card_ok, "-")
_find_ssn = _in_clusters(re.compile(r"[0-9]{3}-[0-9]{2}-[0-9]{4}"), 11, _ssn_ok, "-")
_find_phone = _in_clusters(
    re.compile(
        r"(?:\+[0-9]{1,3}[ .-]?)?(?:\([0-9]{2,4}\)[ .-]?|[0-9]{2,4}[ .-])[0-9]{3,4}[ .-][0-9]{3,4}"
    ),
    9,
    lambda m: sum(c.isdigit() for c in m) >= 7,
    "-",
)
_find_ipv4 = _in_clusters(re.compile(r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}"), 7, _ip_ok, ".")

_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?")


def _find_iban(t: _Text) -> list[Span]:
    found: list[Span] = []
    text = t.text
    for cstart, _ in t.clusters:
        start = cstart - 2  # the country code precedes the check digits
        if start < 0 or not text[start:cstart].isupper():
            continue
        m = _IBAN.match(text, start)
        if m is None:
            continue
        for end in range(m.end(), start + 14, -1):  # longest valid prefix wins
            if iban_valid(text[start:end]) and t.boundary(start, end, ""):
                found.append((start, end))
                break
    return found


_EMAIL_LOCAL = re.compile(r"[\w.+-]{1,64}$")
_EMAIL_DOMAIN = re.compile(r"[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+")


def _find_email(t: _Text) -> list[Span]:
    found: list[Span] = []
    text = t.text
    at = text.find("@")
    while at != -1:
        local = _EMAIL_LOCAL.search(text, max(0, at - 64), at)
        domain = _EMAIL_DOMAIN.match(text, at + 1)
        if local and domain:
            found.append((local.start(), domain.end()))
        at = text.find("@", at + 1)
    return found


_IPV6_HINT = re.compile(r":[0-9a-fA-F]{0,4}:")
_IPV6 = re.compile(r"[0-9a-fA-F:]{2,39}")


def _find_ip(t: _Text) -> list[Span]:
    found = _find_ipv4(t)
    text = t.text
    if _IPV6_HINT.search(text):
        for m in _IPV6.finditer(text):
            s, e = m.span()
            if m.group(0).count(":") >= 2 and t.boundary(s, e, ":") and _ip_ok(m.group(0)):
                found.append((s, e))
    return found


_API_KEY = re.compile(
    r"(?:sk-(?:proj-|ant-(?:api[0-9][0-9]-)?)?[A-Za-z0-9_-]{20,}"
    r"|AKIA[0-9A-Z]{16}"
    r"|gh[pousr]_[A-Za-z0-9]{36,}"
    r"|github_pat_[A-Za-z0-9_]{40,}"
    r"|xox[abposr]-[A-Za-z0-9-]{10,}"
    r"|AIza[0-9A-Za-z_-]{35}"
    r"|sk_(?:live|test)_[A-Za-z0-9]{16,}"
    r"|glpat-[A-Za-z0-9_-]{20,})"
)


def _find_api_key(t: _Text) -> list[Span]:
    return [m.span() for m in _API_KEY.finditer(t.text) if t.boundary(m.start(), m.end(), "_-")]


DETECTORS: Final[dict[str, Callable[[_Text], list[Span]]]] = {
    "email": _find_email,
    "credit_card": _find_card,
    "iban": _find_iban,
    "ssn": _find_ssn,
    "phone": _find_phone,
    "ip_address": _find_ip,
    "api_key": _find_api_key,
}

#: Names accepted in a content policy's ``detect`` list.
DETECTOR_NAMES: Final = tuple(DETECTORS)


def find(text: str, names: Iterable[str]) -> list[tuple[str, int, int]]:
    """Every match of the named detectors as ``(name, start, end)``, in text order."""
    t = _Text(text)
    hits = {(name, s, e) for name in names for s, e in DETECTORS[name](t)}
    return sorted(hits, key=lambda h: (h[1], -h[2], h[0]))


def scan(text: str, names: Iterable[str]) -> dict[str, int]:
    """Count matches of the named detectors in ``text`` (names absent when zero)."""
    names = tuple(names)
    counts = dict.fromkeys(names, 0)
    for name, _, _ in find(text, names):
        counts[name] += 1
    return {name: n for name, n in counts.items() if n}


def redact_text(text: str, names: Iterable[str], *, template: str = "[REDACTED:{name}]") -> str:
    """``text`` with every match of the named detectors replaced by ``template``.

    Overlapping matches (a phone number inside a card number) are replaced once, by
    the one that starts first (the longest on ties).
    """
    hits = find(text, names)
    if not hits:
        return text
    out: list[str] = []
    pos = 0
    for name, start, end in hits:
        if start < pos:
            continue
        out.append(text[pos:start])
        out.append(template.format(name=name))
        pos = end
    out.append(text[pos:])
    return "".join(out)
