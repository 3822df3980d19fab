"""Privacy: e-mail addresses and phone numbers in free text are masked at ingestion, and raw review
texts never reach MLflow, the reports or the exported risk lists."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pytest

from churn_assets.ingest.privacy import mask_pii
from churn_assets.ingest.store import ensure_tables, ingest_partition
from churn_assets.warehouse.contract import SOURCES
from churn_assets_tests.source_helpers import NOW, rows

PHONES = [
    "+49 30 1234567",
    "+1 (555) 123-4567",
    "+5511987654321",
    "(11) 98765-4321",
    "11 98765-4321",
    "555-123-4567",
    "0171-1234567",
    "030 12345678",
    "020 7946 0958",
    "07700 900123",
    "06 12 34 56 78",
    "(555) 123 4567",
    "+1 555 123 4567",
    "555.123.4567",
    "+44 20 7946 0958",
    "+55 (11) 91234-5678",
    # spaced 3-3-4 and Brazilian forms and bare digit runs: not masked before ("+55 11 91234-5678" only in part)
    "555 123 4567",
    "+55 11 91234-5678",
    "11 91234 5678",
    "11-3456-7890",
    "91234-5678",
    "11912345678",
    "5511912345678",
    "912345678",
]
NOT_PHONES = [
    "arrived after 2 weeks",
    "order 12345 was late",
    "order #1234567",
    "paid €1,299.00",
    "R$ 1.299,00",
    "3 items for 19.99",
    "on 2023-01-15 10:00",
    "15.01.2023",
    "12/25/2023",
    "rated 5/5",
    "since 2019",
    "4 x 250 ml",
    "zip 14409",
    "at 10:56:33",
    "1 000 000 views",
    "SKU 85123A",
    "pedido #12345",
    "pedido #123456789",
    "R$ 129,90",
    "custou 19.99",
    "entregue 2024-05-03",
    "em 03/05/2024",
    "2 units",
    "comprei em 2024",
    "chegou às 10:30",
    "anos 2019-2023",
    "CEP 01310-100",
    "nota 10/10",
    "rastreio AA123456789BR",
    "pedido e481f51cbdc54678b7cc49136f2d6af7",
    "bought it at amazon.com",
    "stayed at the hotel. Nice",
]
EMAILS = [
    "joao.silva@gmail.com",
    "x.y+tag@sub.example.co.uk",
    "a.b+tag@mail.shop.co.uk",
    # written out (not masked before)
    "joao at gmail dot com",
    "Joao AT Gmail DOT Com",
    "ana [at] shop [dot] com dot br",
    "joao(at)gmail.com",
    "maria arroba hotmail ponto com ponto br",
    "joao @ gmail . com",
]


@pytest.mark.parametrize("email", EMAILS)
def test_emails_are_masked(email):
    assert mask_pii([f"write to {email} please"]) == ["write to [email] please"]


def test_masking_keeps_none_and_text_without_pii():
    assert mask_pii(["no at sign here", None]) == ["no at sign here", None]


@pytest.mark.parametrize("phone", PHONES)
def test_phone_numbers_are_masked(phone):
    assert mask_pii([f"call me on {phone} please"]) == ["call me on [phone] please"]


@pytest.mark.parametrize("text", NOT_PHONES)
def test_ordinary_numbers_are_kept(text):
    assert mask_pii([text]) == [text]


def test_several_numbers_in_one_text_are_each_masked():
    text = "ligue +55 11 91234-5678 ou 11912345678, pedido #123456789 de R$ 129,90 em 03/05/2024"
    assert mask_pii([text]) == ["ligue [phone] ou [phone], pedido #123456789 de R$ 129,90 em 03/05/2024"]


def test_ingestion_masks_review_text_query_and_quarantined_rows(tmp_path):
    landing = tmp_path / "landing"
    (landing / "reviews").mkdir(parents=True)
    (landing / "events").mkdir(parents=True)
    reviews = [
        {
            "user_id": "u1",
            "ts": "2024-03-01T10:00:00Z",
            "rating": 1,
            "text": "Broken. Mail ana@shop-mail.com or call +49 30 1234567",
        },
        {
            "user_id": "u2",
            "ts": "2024-03-01T11:00:00Z",
            "rating": 9,
            "text": "my number is 0171-1234567",
        },  # rating out of range
        {"user_id": "u3", "ts": "2024-03-01T12:00:00Z", "rating": 5, "text": "Fine after 2 weeks, order 12345"},
    ]
    (landing / "reviews" / "2024-03-01.jsonl").write_text(
        "\n".join(json.dumps(r) for r in reviews) + '\n{"user_id": "u4", "text": "bob@example.org" broken json\n'
    )
    (landing / "events" / "2024-03-01.csv").write_text(
        "user_id,ts,event_type,query\nu1,2024-03-01T09:00:00Z,search,order for carla@example.net\n"
    )
    con = duckdb.connect(str(tmp_path / "churn.duckdb"))
    for spec in SOURCES.values():
        ensure_tables(con, spec)
    for kind in ("reviews", "events"):
        assert ingest_partition(con, landing, SOURCES[kind], date(2024, 3, 1), now=NOW).reconciles
    assert rows(con, "SELECT user_id, text FROM raw.reviews ORDER BY 1") == [
        ("u1", "Broken. Mail [email] or call [phone]"),
        ("u3", "Fine after 2 weeks, order 12345"),
    ]
    assert rows(con, "SELECT query FROM raw.events") == [("order for [email]",)]
    quarantined = " ".join(r for (r,) in rows(con, "SELECT raw FROM quarantine.reviews"))
    assert rows(con, "SELECT count(*) FROM quarantine.reviews") == [(2,)]
    assert "[phone]" in quarantined and "[email]" in quarantined
    assert "0171-1234567" not in quarantined and "bob@example.org" not in quarantined


PLANTED_SENTENCE = "Zebra quokka marmalade arrived squashed"
PLANTED_EMAIL = "planted.person@example.org"


@pytest.mark.slow
def test_review_text_never_reaches_mlflow_reports_or_exports(tmp_path):
    """A small shop run end to end with one planted review: its sentence is in no MLflow artifact,
    report, exported risk list or saved model, and its e-mail address in no warehouse table either."""
    from churn_assets_tests.pipeline_fixtures import data_dir_env, make_shop

    with data_dir_env(tmp_path):
        shop = make_shop(tmp_path, n_users=400, n_days=170, seed=5)
        landing = tmp_path / "landing"
        user = duckdb.sql(
            f"SELECT user_id FROM read_csv('{landing}/users/*.csv', all_varchar=true) LIMIT 1"
        ).fetchall()[0][0]
        day = shop.days()[60]
        planted = {
            "user_id": user,
            "ts": f"{day.isoformat()}T12:00:00Z",
            "rating": 1,
            "kind": "review",
            "text": f"{PLANTED_SENTENCE}. Write to {PLANTED_EMAIL} or call +44 20 7946 0958",
        }
        (landing / "reviews" / f"{day.isoformat()}_planted.jsonl").write_text(json.dumps(planted) + "\n")
        shop.ingest()
        shop.build()
        shop.train()
        shop.score(shop.days()[-1].isoformat())
    texts = shop.query("SELECT text FROM raw.reviews WHERE text LIKE ?", [f"{PLANTED_SENTENCE}%"])["text"].tolist()
    assert texts == [f"{PLANTED_SENTENCE}. Write to [email] or call [phone]"]  # ingested, masked
    exports = list((tmp_path / "exports").rglob("*"))
    assert any(p.suffix == ".csv" for p in exports)  # the scan below looks at real outputs
    assert any((tmp_path / "models" / "review_text").iterdir())  # the saved text model is scanned too
    scanned = 0
    for folder in ("mlflow", "exports", "reports", "models"):
        for path in (tmp_path / folder).rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                scanned += 1
                assert PLANTED_SENTENCE.encode() not in data, path
                assert PLANTED_EMAIL.encode() not in data, path
    assert scanned > 10
    with duckdb.connect(str(tmp_path / "churn.duckdb"), read_only=True) as con:
        text_columns = con.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns WHERE data_type = 'VARCHAR'"
        ).fetchall()
        for schema, table, column in text_columns:
            hits = con.execute(
                f'SELECT count(*) FROM "{schema}"."{table}" WHERE "{column}" LIKE $p', {"p": f"%{PLANTED_EMAIL}%"}
            ).fetchall()
            assert hits == [(0,)], f"{schema}.{table}.{column}"
