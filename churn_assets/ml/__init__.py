"""Pure-Python machine learning for churn_assets (no Dagster import here).

Rooms:
    models/      ChurnModel estimators (scikit-learn classifiers: fit / predict_proba / contributions / save /
                 load) and a registry
    metrics.py   binary_metrics, lift and capture
    thresholds.py  threshold rules (best F1, expected profit, fixed, top share)
    plots.py     ROC, precision-recall, calibration and gains figures written as PNG
    explain.py   per-row log-odds contributions of any model
    reasons.py   top reasons per row in plain words (catalogue keyed by feature name)
    tiers.py     risk tiers by probability or by top share
    actions.py   recommended action from tier and reasons (data-driven rule table)
    sequence/    vocabulary, encoding and masking of behaviour token sequences (numpy)
    text.py      ReviewSentimentModel: a BERT-family review encoder, and the TF-IDF baseline
    complaint_topics.py  the topic of a complaint (delivery, product quality, price, service, refund/return)
    torch_utils.py  device (CUDA when present), seeds, threads, batching for the torch models
    torch_training.py  the one training loop of the torch models (AdamW, warm-up/decay, early stopping)
    dataset.py, splits.py  training-set frames and the time split with its embargo
    champion.py  the champion rule; oracle.py the simulator's ceiling AUC; pyfunc.py the MLflow wrapper

Submodules are imported on use; importing this package is cheap.
"""
