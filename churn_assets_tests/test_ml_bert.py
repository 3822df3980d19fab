"""Event-sequence tokenisation, the behaviour BERT and the hybrid model (pure Python, no Dagster).

The BERT models here are tiny (hidden 32, 2 layers, sequences of ~14 tokens) so that each test runs in
seconds on a 2-core CPU; the default sizes are exercised by bench/bench_bert_inference.py.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from churn_assets.ml.models import available_models, create_model, load_model
from churn_assets.ml.sequence import (
    SPECIAL_TOKENS,
    TokenFamilies,
    Vocabulary,
    mask_tokens,
)
from churn_assets.ml.sequence.synthetic import synthetic_sequences

TINY = dict(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=64,
    max_len=16,
    batch_size=32,
    progress=False,
)


# ---- tokenisation ---------------------------------------------------------------------------------
def test_vocabulary_is_deterministic_and_ordered():
    texts = ["login search search order_paid", "search login", "", None, "rare_token login search"]
    v1 = Vocabulary.build(texts, min_count=2)
    v2 = Vocabulary.build(list(reversed(texts)), min_count=2)
    assert v1.tokens == v2.tokens
    # specials first, then by count (search 4, login 3), ties by name; rare tokens dropped
    assert v1.tokens == list(SPECIAL_TOKENS) + ["search", "login"]
    assert (v1.pad_id, v1.cls_id, v1.mask_id, v1.unk_id) == (0, 1, 2, 3)
    assert Vocabulary.build(texts, min_count=1).tokens[4:] == ["search", "login", "order_paid", "rare_token"]
    assert Vocabulary.build(texts, min_count=1, max_size=5).tokens == list(SPECIAL_TOKENS) + ["search"]


def test_vocabulary_json_round_trip(tmp_path):
    v = Vocabulary.build(["a b b c c c", "c d"], min_count=1)
    v.save(tmp_path / "vocab.json")
    assert Vocabulary.load(tmp_path / "vocab.json") == v
    assert json.loads((tmp_path / "vocab.json").read_text())["tokens"][:4] == list(SPECIAL_TOKENS)


def test_encode_keeps_the_latest_tokens_cls_first_padding_right():
    v = Vocabulary.build([" ".join(f"t{i}" for i in range(10))], min_count=1)
    long_seq = " ".join(f"t{i}" for i in range(10))  # oldest first
    ids, mask = v.encode([long_seq, "t3 t4", "", float("nan"), "t1 never_seen"], max_len=5)
    assert ids.shape == mask.shape == (5, 5) and ids.dtype == np.int64
    assert (ids[:, 0] == v.cls_id).all()
    assert v.decode(ids[0]) == "t6 t7 t8 t9"  # the latest max_len - 1 tokens, in order
    assert ids[1].tolist() == [v.cls_id, v.id_of("t3"), v.id_of("t4"), v.pad_id, v.pad_id]
    assert mask[1].tolist() == [1, 1, 1, 0, 0]
    assert ids[2].tolist() == ids[3].tolist() == [v.cls_id, 0, 0, 0, 0]  # empty / missing history
    assert ids[4, 2] == v.unk_id
    again, _ = v.encode(pd.Series([long_seq, "t3 t4", "", None, "t1 never_seen"]), max_len=5)
    np.testing.assert_array_equal(ids, again)


def test_mask_tokens_rates_and_labels():
    rng = np.random.default_rng(0)
    v = Vocabulary.build([" ".join(f"t{i}" for i in range(30))], min_count=1)
    lengths = rng.integers(0, 40, 4000)
    texts = [" ".join(f"t{j}" for j in rng.integers(0, 30, n)) for n in lengths]
    ids, mask = v.encode(texts, max_len=32)
    masked, labels = mask_tokens(ids, v, prob=0.15, rng=np.random.default_rng(1))
    chosen = labels != -100
    ordinary = ids >= v.n_special
    assert not chosen[ids == v.pad_id].any() and not chosen[:, 0].any()  # never [PAD] / [CLS]
    assert (masked[~chosen] == ids[~chosen]).all()  # untouched elsewhere
    np.testing.assert_array_equal(labels[chosen], ids[chosen])
    assert abs(chosen.sum() / ordinary.sum() - 0.15) < 0.01
    share_mask = (masked[chosen] == v.mask_id).mean()
    share_same = (masked[chosen] == ids[chosen]).mean()
    share_random = 1 - share_mask - share_same
    assert abs(share_mask - 0.8) < 0.02
    # random replacements can hit the original token (1/30 of them), so "same" is a bit above 10%
    assert 0.08 < share_same < 0.14 and 0.07 < share_random < 0.12
    assert (masked[chosen] >= v.n_special).sum() + (masked[chosen] == v.mask_id).sum() == chosen.sum()
    again, labels2 = mask_tokens(ids, v, prob=0.15, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(masked, again)
    np.testing.assert_array_equal(labels, labels2)
    assert ids.max() < len(v)  # the input is not modified
    assert (mask_tokens(ids, v, prob=0.0, rng=0)[1] == -100).all()


def test_token_families_default_mapping():
    fam = TokenFamilies.default()
    assert fam.family_of("complaint") == "seq_complaints"
    assert fam.family_of("delivered_late") == "seq_late_delivery"
    assert fam.family_of("review_r1") == "seq_low_ratings"
    assert fam.family_of("review_r5") == "seq_reviews"
    assert fam.family_of("order_refunded") == "seq_returns"
    assert fam.family_of("order_paid") == fam.family_of("amt_5") == fam.family_of("cat_books") == "seq_orders"
    assert fam.family_of("search") == "seq_searches"
    assert fam.family_of("login") == fam.family_of("page_view") == "seq_sessions"
    assert fam.family_of("gap_d3") == "seq_pauses" and fam.family_of("now_w2") == "seq_last_activity"
    assert fam.family_of("something_new") == "seq_other"
    v = Vocabulary.build(["complaint login zzz"], min_count=1)
    f = fam.vocab_families(v)
    assert (f[: v.n_special] == -1).all()
    assert fam.names[f[v.id_of("complaint")]] == "seq_complaints"


# ---- behaviour BERT -------------------------------------------------------------------------------
def order_data(n: int, seed: int, length: int = 12) -> pd.DataFrame:
    """Every history holds one `complaint` and one `order_paid`: churn iff the complaint comes first."""
    rng = np.random.default_rng(seed)
    filler = np.array(["login", "page_view", "search", "click", "gap_h", "gap_d1"])
    rows, labels = [], []
    for _ in range(n):
        toks = list(filler[rng.integers(0, len(filler), length - 2)])
        i1, i2 = sorted(rng.choice(length - 1, 2, replace=False))
        y = int(rng.random() < 0.5)
        first, second = ("complaint", "order_paid") if y else ("order_paid", "complaint")
        toks.insert(i1, first)
        toks.insert(i2, second)
        rows.append(" ".join(toks))
        labels.append(y)
    return pd.DataFrame({"user_id": [f"u{i}" for i in range(n)], "event_tokens": rows, "churned": labels})


def token_counts(df: pd.DataFrame) -> pd.DataFrame:
    counts = df["event_tokens"].str.split().explode().groupby(level=0).value_counts().unstack(fill_value=0)
    return counts.reindex(df.index, fill_value=0).add_prefix("n_")


@pytest.fixture(scope="module")
def order_sets():
    return order_data(1500, 0), order_data(400, 1), order_data(600, 2)


@pytest.fixture(scope="module")
def order_model(order_sets):
    train, valid, _ = order_sets
    m = create_model("behaviour_bert", **TINY, epochs=8, patience=8, lr=2e-3, pretrain_epochs=1, seed=1)
    return m.fit(train, train["churned"], eval_set=(valid, valid["churned"]))


def test_registered_lazily_and_ml_imports_neither_torch_nor_dagster():
    assert {"behaviour_bert", "hybrid_gbt"} <= set(available_models())
    code = (
        "import sys, churn_assets.ml.models, churn_assets.ml.sequence, churn_assets.ml.text, "
        "churn_assets.ml.reasons; assert 'torch' not in sys.modules, 'torch'; "
        "import churn_assets.ml.models.behaviour_bert, churn_assets.ml.models.hybrid; "
        "assert 'dagster' not in sys.modules, 'dagster'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_bert_learns_an_order_rule_that_counts_cannot_see(order_sets, order_model):
    train, valid, test = order_sets
    auc_bert = roc_auc_score(test["churned"], order_model.predict_proba(test)[:, 1])
    gbt = create_model("gbt", n_estimators=200, num_leaves=7)
    Xtr, Xva, Xte = token_counts(train), token_counts(valid), token_counts(test)
    Xva, Xte = Xva.reindex(columns=Xtr.columns, fill_value=0), Xte.reindex(columns=Xtr.columns, fill_value=0)
    gbt.fit(Xtr, train["churned"], eval_set=(Xva, valid["churned"]))
    auc_gbt = roc_auc_score(test["churned"], gbt.predict_proba(Xte)[:, 1])
    assert auc_bert > 0.9, auc_bert
    assert auc_gbt < 0.6, auc_gbt
    info = order_model.training_info_
    assert info["device"] in ("cpu", "cuda") and info["epochs_run"] >= 1
    assert info["best_valid_auc"] > 0.9 and info["pretrain_sequences"] == len(train)
    assert info["finetune_sequences_per_second"] > 0 and info["seconds"] > 0


def test_save_load_round_trip_gives_identical_outputs(order_sets, order_model, tmp_path):
    _, _, test = order_sets
    order_model.save(tmp_path / "bb")
    again = load_model(tmp_path / "bb")
    assert type(again) is type(order_model) and again.vocab_ == order_model.vocab_
    np.testing.assert_allclose(again.predict_proba(test), order_model.predict_proba(test), rtol=0, atol=1e-7)
    np.testing.assert_allclose(again.embed(test), order_model.embed(test), rtol=0, atol=1e-6)
    np.testing.assert_allclose(
        again.embed(test, source="pretrained"), order_model.embed(test, source="pretrained"), rtol=0, atol=1e-6
    )
    assert again.training_info_["epochs_run"] == order_model.training_info_["epochs_run"]


def test_inference_backends_agree(order_sets, order_model):
    _, _, test = order_sets
    z = order_model.decision_function(test)
    for mode in ("eager", "jit"):
        other = create_model("behaviour_bert", **{**order_model.params, "inference": mode})
        params = order_model.get_params()  # copy the fitted state only
        other.__dict__.update({k: v for k, v in order_model.__dict__.items() if k not in (*params, "_runner")})
        other._runner = None
        np.testing.assert_allclose(other.decision_function(test), z, rtol=0, atol=1e-5)
        assert other.inference_backend_ in ("eager", "jit")


def test_contributions_by_token_family(order_sets, order_model):
    _, _, test = order_sets
    c = order_model.contributions(test, include_bias=True)
    assert list(c.columns) == order_model.contribution_names_ + ["bias"]
    np.testing.assert_allclose(c.sum(axis=1), order_model.decision_function(test), atol=1e-5)
    # families absent from every history contribute nothing
    assert (c["seq_late_delivery"] == 0).all() and (c["seq_other"] == 0).all()
    # the evidence sits in the two events (complaint, order): deleting them moves the logit a lot,
    # deleting filler events hardly at all
    churners = test["churned"].to_numpy() == 1
    key = c["seq_complaints"] + c["seq_orders"]
    assert key[churners].mean() > 2 and key[~churners].mean() < -2
    filler = c[["seq_sessions", "seq_searches", "seq_pauses"]].abs().sum(axis=1)
    assert filler.mean() < 0.25 * key.abs().mean()
    from churn_assets.ml.reasons import top_reasons

    reasons = top_reasons(c.drop(columns="bias"), test, k=1)
    texts = {r["text"] for rows in reasons for r in rows}
    assert texts & {
        "a complaint in the recent history raises the risk",
        "the pattern of recent orders (timing, amounts, categories) raises the risk",
    }
    masked = create_model("behaviour_bert", **{**order_model.params, "occlusion": "mask"})
    params = order_model.get_params()  # copy the fitted state only
    masked.__dict__.update({k: v for k, v in order_model.__dict__.items() if k not in (*params, "_runner")})
    masked._runner = None
    assert masked.contributions(test.iloc[:20]).shape == (20, len(order_model.contribution_names_))


def test_embeddings(order_sets, order_model):
    _, _, test = order_sets
    e_ft = order_model.embed(test)
    e_pre = order_model.embed(test["event_tokens"].tolist(), source="pretrained")
    assert e_ft.shape == e_pre.shape == (len(test), 32)
    assert np.isfinite(e_ft).all() and not np.allclose(e_ft, e_pre)
    with pytest.raises(ValueError):
        order_model.embed(test, source="nope")


def test_pretrain_on_unlabelled_sequences_then_fit():
    data = synthetic_sequences(700, seed=5, max_tokens=15)
    unlabelled = synthetic_sequences(300, seed=6, max_tokens=15)["event_tokens"]
    m = create_model("behaviour_bert", **TINY, epochs=1, seed=3)
    m.pretrain(pd.concat([data["event_tokens"], unlabelled]))
    assert m.training_info_["pretrain_sequences"] == 1000
    state_before = {k: v.clone() for k, v in m.pretrained_state_.items()}
    m.fit(data.iloc[:500], data["churned"].iloc[:500])  # no eval_set: all epochs, last kept
    assert m.training_info_["epochs_run"] == 1 and np.isnan(m.training_info_["best_valid_loss"])
    # fit did not pretrain again: the label-free encoder state is unchanged
    assert all((m.pretrained_state_[k] == v).all() for k, v in state_before.items())
    p = m.predict_proba(data.iloc[500:])
    assert p.shape == (200, 2) and np.allclose(p.sum(1), 1)
    with pytest.warns(UserWarning, match="event_tokens"):
        assert m.predict_proba(data.drop(columns="event_tokens").iloc[:3]).shape == (3, 2)


# ---- hybrid --------------------------------------------------------------------------------------
def test_hybrid_fits_predicts_explains_and_round_trips(tmp_path):
    train, valid, test = (synthetic_sequences(n, seed=s, max_tokens=15) for n, s in ((900, 10), (300, 11), (300, 12)))
    enc = create_model("behaviour_bert", **TINY, epochs=1, seed=2).fit(train, train["churned"])
    enc.save(tmp_path / "encoder")
    hyb = create_model(
        "hybrid_gbt", encoder_path=str(tmp_path / "encoder"), embedding_dims=4, n_estimators=100, num_leaves=7
    )
    hyb.fit(train, train["churned"], eval_set=(valid, valid["churned"]))
    p = hyb.predict_proba(test)[:, 1]
    assert p.shape == (len(test),) and ((p > 0) & (p < 1)).all()
    assert hyb.embedding_columns_ == [f"bert_emb_0{i}" for i in range(4)]
    assert "text_neg_mean_30d" in hyb.feature_names_ and hyb.feature_names_[-1] == "bert_embedding"
    assert "event_tokens" not in hyb.feature_names_
    c = hyb.contributions(test, include_bias=True)
    assert list(c.columns) == hyb.feature_names_ + ["bias"]
    logit = np.log(p / (1 - p))
    np.testing.assert_allclose(c.sum(axis=1), logit, atol=1e-6)
    # the trees read the label-free pretrained embedding, identical for train and test rows
    np.testing.assert_allclose(
        hyb._embedding_frame(train.iloc[:5]).to_numpy(),
        hyb.pca_.transform(enc.embed(train.iloc[:5], source="pretrained")),
        atol=1e-5,
    )
    hyb.save(tmp_path / "hybrid")
    again = load_model(tmp_path / "hybrid")
    np.testing.assert_allclose(again.predict_proba(test)[:, 1], p, rtol=0, atol=1e-9)
    from churn_assets.ml.reasons import reason_text

    assert reason_text("bert_embedding", None) == "recent behaviour sequence looks like customers who left"


def test_hybrid_out_of_fold_source():
    train, test = synthetic_sequences(600, seed=20, max_tokens=15), synthetic_sequences(200, seed=21, max_tokens=15)
    hyb = create_model(
        "hybrid_gbt",
        embedding_source="oof",
        oof_folds=2,
        n_estimators=50,
        num_leaves=7,
        encoder_params={**TINY, "epochs": 1, "seed": 4},
    )
    hyb.fit(train, train["churned"])
    assert hyb.embedding_columns_ == ["bert_logit"] and hyb.oof_logit_.shape == (600,)
    # out-of-fold logits differ from the full model's (which saw those rows)
    assert not np.allclose(hyb.oof_logit_, hyb.encoder_.decision_function(train))
    assert hyb.predict_proba(test).shape == (200, 2)


def test_hybrid_with_its_own_label_free_encoder_round_trips(tmp_path):
    train, test = synthetic_sequences(500, seed=30, max_tokens=15), synthetic_sequences(100, seed=31, max_tokens=15)
    hyb = create_model(
        "hybrid_gbt", embedding_dims=3, n_estimators=40, num_leaves=7, encoder_params={**TINY, "seed": 5}
    )
    hyb.fit(train, train["churned"])
    assert hyb.encoder_.model_ is None  # pretrained only: no label reached the encoder
    assert hyb.training_info_["embedding_source"] == "pretrained" and hyb.training_info_["seconds"] > 0
    hyb.save(tmp_path / "h")
    again = load_model(tmp_path / "h")
    np.testing.assert_allclose(again.predict_proba(test), hyb.predict_proba(test), rtol=0, atol=1e-9)
    assert list(again.contributions(test).columns) == hyb.feature_names_
