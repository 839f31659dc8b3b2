"""The password policy: every new password (created, reset or changed) passes here.

Guessability is judged by zxcvbn (Dropbox's estimator: dictionaries of common passwords, names
and words, keyboard runs, dates and repeats), not by a hand rule, with the user's own names and
the words of a Chinese government office as extra dictionary entries: a password built on
``duchashi`` or the district's name is as weak as one built on ``password``. A length floor and
letters with digits are kept as well: 等保 (GB/T 22239-2019 8.1.4.1) asks for passwords with a
complexity requirement.
"""

from __future__ import annotations

from typing import Iterable

MIN_LENGTH = 8
MAX_LENGTH = 72  # zxcvbn's own bound; its work grows quickly with the length
MIN_SCORE = 3  # zxcvbn 0-4: 3 is "safely unguessable: moderate protection from offline attacks"
# The published demo password (tracker/demo/organisation.py): outside demo mode whoever logs in
# with it must change it at once, and nobody may choose it again.
DEMO_PASSWORDS = frozenset({"Demo@2026"})

# What people in a district office build passwords on: the platform's and the office's names in
# pinyin and characters, the government, and the digit runs and lucky numbers of Chinese lists of
# leaked passwords (zxcvbn's own lists are English-speaking).
CONTEXT_WORDS = (
    "duban",
    "dubanshi",
    "duchashi",
    "ducha",
    "dudao",
    "dubanpingtai",
    "zhengfu",
    "quzhengfu",
    "renmin",
    "bangongshi",
    "bangong",
    "zhongguo",
    "woaini",
    "admin",
    "督办",
    "督查",
    "督查室",
    "政府",
    "区政府",
    "办公室",
    "123456",
    "1234567",
    "12345678",
    "123456789",
    "1234567890",
    "654321",
    "123123",
    "112233",
    "666666",
    "888888",
    "111111",
    "000000",
    "5201314",
    "1314520",
    "147258369",
)

_district_words: tuple[str, ...] = ()


def set_district_words(words: Iterable[str]) -> None:
    """The district's own words (``Settings.district_words``: its name in characters and pinyin),
    set once by the app factory."""
    global _district_words
    _district_words = tuple(w.lower() for w in words if w)


def problem(password: str, *, user_inputs: Iterable[str] = (), allow_demo: bool = False) -> str | None:
    """Why ``password`` is refused, in Chinese, or None when it passes.

    ``user_inputs``: the account's login name and display name. ``allow_demo``: seed-demo creates
    its users with the demo password; the login forces a change of it outside demo mode."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return f"密码至少 {MIN_LENGTH} 位"
    if len(password) > MAX_LENGTH:
        return f"密码不能超过 {MAX_LENGTH} 位"
    if not (any(c.isdigit() for c in password) and any(c.isalpha() for c in password)):
        return "密码须同时包含字母和数字"
    from zxcvbn import zxcvbn  # its dictionaries load here, not with every ``import tracker``

    words = [w.lower() for w in user_inputs if w] + list(CONTEXT_WORDS) + list(_district_words)
    result = zxcvbn(password, user_inputs=words)
    if result["score"] < MIN_SCORE:
        return "密码太容易被猜到（" + "；".join(_reasons(result["sequence"])) + "），请换一个更长、不含个人信息的密码"
    if password in DEMO_PASSWORDS and not allow_demo:
        return "不能使用演示密码"
    return None


def _reasons(sequence: list[dict]) -> list[str]:
    """What the weak parts are, in the user's words (zxcvbn's own feedback is in English)."""
    reasons: list[str] = []

    def add(text: str) -> None:
        if text not in reasons:
            reasons.append(text)

    for match in sequence:
        pattern = match["pattern"]
        if pattern == "dictionary" and match.get("dictionary_name") == "user_inputs":
            add("含有登录名、姓名、本区名称或“督办”“督查室”等常用词")
        elif pattern == "dictionary" and match.get("dictionary_name") == "passwords":
            add("是常见密码或常见密码的变形")
        elif pattern == "dictionary":
            add("以常见单词或人名为主")
        elif pattern == "date" or pattern == "regex" and match.get("regex_name") == "recent_year":
            add("含有年份或日期")
        elif pattern in ("sequence", "repeat", "spatial"):
            add("含有 123456、aaaa、qwerty 这类连续、重复或键盘相邻的字符")
    return reasons or ["组合过于简单"]
