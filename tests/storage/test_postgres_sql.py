"""The PostgreSQL backend's pure parts: placeholder translation, lock keys, rows."""

from __future__ import annotations

import pytest

from bot.storage.postgres import Row, insert_sql, lock_key, translate


@pytest.mark.parametrize(("sqlite", "postgres"), [
    ("SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = %s AND b = %s"),
    ("SELECT * FROM t WHERE a = :me OR b = :me_2",
     "SELECT * FROM t WHERE a = %(me)s OR b = %(me_2)s"),
    ("SELECT ? WHERE target LIKE 'officer:%'", "SELECT %s WHERE target LIKE 'officer:%%'"),
    ("SELECT a % 7 FROM t", "SELECT a %% 7 FROM t"),
    # Inside literals, quoted names and comments a ? or :name is text.
    ("SELECT 'why?', 'at :noon', \"odd?name\" FROM t WHERE x = ?",
     "SELECT 'why?', 'at :noon', \"odd?name\" FROM t WHERE x = %s"),
    ("SELECT 'it''s ?' || ? -- really?\nFROM t /* :x? */",
     "SELECT 'it''s ?' || %s -- really?\nFROM t /* :x? */"),
    ("SELECT x::text, ?::bigint FROM t", "SELECT x::text, %s::bigint FROM t"),
    ("SELECT 1", "SELECT 1"),
])
def test_placeholders_are_translated_outside_literals(sqlite: str, postgres: str) -> None:
    assert translate(sqlite) == postgres


@pytest.mark.parametrize("sql", ["SELECT ?1, ?2", "SELECT ? WHERE a = :a"])
def test_unportable_placeholders_are_refused(sql: str) -> None:
    with pytest.raises(ValueError):
        translate(sql)


def test_insert_returns_the_id_unless_it_returns_already() -> None:
    returning = "INSERT INTO t (a) VALUES (%s) RETURNING id"
    assert insert_sql("INSERT INTO t (a) VALUES (?)") == returning
    assert insert_sql("INSERT INTO t (a) VALUES (?);") == returning
    assert insert_sql("INSERT INTO audit (seq) VALUES (?) RETURNING seq") == (
        "INSERT INTO audit (seq) VALUES (%s) RETURNING seq")
    # The word inside a literal is not the clause.
    assert insert_sql("INSERT INTO t (a) VALUES ('RETURNING x')").endswith(" RETURNING id")


def test_lock_keys_are_stable_signed_64_bit_numbers() -> None:
    # Every instance, every Python run, must compute the same key for a name.
    assert lock_key("audit") == lock_key("audit") == 7789480235348023077
    assert lock_key("audit") != lock_key("audit ")
    assert all(-(2**63) <= lock_key(name) < 2**63 for name in ("a", "chat:1", "ewo:migrate"))


def test_rows_read_like_sqlite_rows() -> None:
    row = Row((7, "Ada"), {"id": 0, "first_name": 1})
    assert row["id"] == 7 and row[1] == "Ada" and row["FIRST_NAME"] == "Ada"
    assert dict(row) == {"id": 7, "first_name": "Ada"}
    assert list(row) == [7, "Ada"] and len(row) == 2 and row.keys() == ["id", "first_name"]
    id_, name = row
    assert (id_, name) == (7, "Ada")
    with pytest.raises(IndexError):
        row["missing"]
    assert "Ada" not in repr(row)  # values may be a child's name
