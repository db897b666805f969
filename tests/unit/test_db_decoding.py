"""The lab's DATETIME/TIMESTAMP decoder gives exactly what PyMySQL's own gives, for every text a server can send."""

from __future__ import annotations

import random

import pytest
from pymysql.constants import FIELD_TYPE
from pymysql.converters import convert_datetime

from lab.db.sql import CONVERSIONS, Endpoint, decode_datetime

EDGES = [
    "2024-01-01 00:00:00", "2024-01-01 00:00:00.5", "2024-01-01 00:00:00.000000", "2024-01-01 00:00:00.123456",
    "0001-01-01 00:00:00", "9999-12-31 23:59:59.999999", "2024-02-29 12:00:00", "2023-02-29 12:00:00",
    "0000-00-00 00:00:00", "0000-00-00 00:00:00.000000", "2024-00-10 00:00:00", "2024-02-31 23:06:20",
    "2024-01-01 24:00:00", "2024-01-01 23:60:00", "2024-01-01T10:20:30", "2024-01-01 10:20:30.1234567",
    "2024-01-01 10:20:30+01:00", "2024-01-01 10:20:30.12a", "2024-1-1 1:2:3", "", "garbage", "2024-01-01",
]


def random_texts(count: int) -> list[str]:
    rng = random.Random(7)
    texts = []
    for _ in range(count):
        fraction = rng.choice(["", "." + "".join(rng.choices("0123456789", k=rng.randint(1, 6)))])
        texts.append(f"{rng.randint(0, 9999):04d}-{rng.randint(0, 13):02d}-{rng.randint(0, 32):02d} "
                     f"{rng.randint(0, 24):02d}:{rng.randint(0, 60):02d}:{rng.randint(0, 60):02d}{fraction}")
    return texts


def same_as_pymysql(text: str) -> None:
    for given in (text, text.encode()):
        ours, theirs = decode_datetime(given), convert_datetime(given)
        assert (type(ours), ours) == (type(theirs), theirs), given


@pytest.mark.parametrize("text", EDGES)
def test_edges_decode_as_pymysql_does(text: str) -> None:
    same_as_pymysql(text)


def test_random_texts_decode_as_pymysql_does() -> None:
    """Valid and invalid dates, times and fractions alike (about a third are invalid)."""
    for text in random_texts(20_000):
        same_as_pymysql(text)


def test_every_connection_decodes_with_it() -> None:
    args = Endpoint("127.0.0.1", 3306, "u", "p").connect_args()
    assert args["conv"] is CONVERSIONS
    assert CONVERSIONS[FIELD_TYPE.DATETIME] is CONVERSIONS[FIELD_TYPE.TIMESTAMP] is decode_datetime
