"""The embedded default data: a simulated online shop writing landing files in the raw contract layout.

    from churn_assets.simulate import ShopConfig, simulate_shop
    summary = simulate_shop(Path("data"), ShopConfig(n_users=5_000, n_days=120))

Landing files go to <out>/landing/<kind>/YYYY-MM-DD.{csv,jsonl,parquet}; the ground truth (each
customer's true churn probability per day, and the latent parameters) to <out>/truth/.
"""

from churn_assets.simulate.config import ShopConfig
from churn_assets.simulate.shop import simulate_shop

__all__ = ["ShopConfig", "simulate_shop"]
