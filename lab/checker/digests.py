"""Comparing digest lists ('key:hash,key:hash,...') from several DCs, without trusting their order.

Lists come back in primary-key order, so they are walked side by side: equal blocks are skipped
at C speed, and around a mismatch a short look-ahead re-aligns the two lists after a missing or
extra row. Every element not paired with an identical element on the other side is collected,
and the answer is the symmetric difference of the collected elements. That is exact whatever the
order (keys are unique per DC, so identical pairs cancel and nothing else can), the alignment
only keeps the collected sets small.
"""

from __future__ import annotations

from collections.abc import Mapping

from lab.checker.sqlgen import ELEMENT_SEPARATOR, KEY_SEPARATOR

BLOCK = 256
LOOKAHEAD = 64


def elements(text: str | bytes | None) -> list[str]:
    if not text:
        return []
    if isinstance(text, bytes):
        text = text.decode("ascii")
    return text.split(ELEMENT_SEPARATOR)


def count(text: str | bytes | None) -> int:
    """Number of elements, without splitting (to detect a GROUP_CONCAT cut short)."""
    if not text:
        return 0
    return text.count(ELEMENT_SEPARATOR if isinstance(text, str) else ELEMENT_SEPARATOR.encode()) + 1


def key_of(element: str) -> str:
    return element.rsplit(KEY_SEPARATOR, 1)[0]


def _find(items: list[str], value: str, start: int) -> int:
    try:
        return items.index(value, start, start + LOOKAHEAD)
    except ValueError:
        return -1


def differing_elements(a: list[str], b: list[str]) -> set[str]:
    """Elements (key:hash) present in exactly one of the two lists."""
    only_a: list[str] = []
    only_b: list[str] = []
    i = j = 0
    len_a, len_b = len(a), len(b)
    while i < len_a and j < len_b:
        if a[i:i + BLOCK] == b[j:j + BLOCK]:
            i, j = i + BLOCK, j + BLOCK
            continue
        if len(only_a) + len(only_b) > max(4096, (i + j) // 4):
            break  # hardly aligned at all (unordered lists): plain set difference is cheaper
        end = min(i + BLOCK, len_a)
        while i < end and j < len_b:
            if a[i] == b[j]:
                i, j = i + 1, j + 1
                continue
            if a[i + 1:i + 2] == b[j + 1:j + 2] != []:   # realigned at once: most often one row's new value
                only_a.append(a[i])
                only_b.append(b[j])
                i, j = i + 1, j + 1
                continue
            ahead_b = _find(b, a[i], j + 1)     # rows only in b before a[i] reappears
            if ahead_b >= 0:
                only_b.extend(b[j:ahead_b])
                j = ahead_b
                continue
            ahead_a = _find(a, b[j], i + 1)     # rows only in a before b[j] reappears
            if ahead_a >= 0:
                only_a.extend(a[i:ahead_a])
                i = ahead_a
                continue
            only_a.append(a[i])
            only_b.append(b[j])
            i, j = i + 1, j + 1
    only_a.extend(a[i:])
    only_b.extend(b[j:])
    return set(only_a).symmetric_difference(only_b)


def differing_keys(lists: Mapping[str, list[str]]) -> set[str]:
    """Keys whose row differs between the first DC and any other (by 64-bit row hash), or is absent."""
    (_, reference), *rest = lists.items()
    keys: set[str] = set()
    for _, other in rest:
        if other != reference:
            keys.update(key_of(e) for e in differing_elements(reference, other))
    return keys
