"""A small table of the kind people have: numbers with gaps, text, booleans, text labels."""

import numpy as np
import pandas as pd

CITIES = ["Lille", "Paris", "Lyon", "Nantes"]
RARE_CITY = "Brest"


def customer_table(n=240, seed=0):
    """Customers and whether they left.

    Columns: `age` (numbers, 15 % missing), `income` (numbers), `city` (text, four common
    levels and `RARE_CITY` on two rows), `member` (booleans), `plan` (pandas category).
    The label, "left" or "stayed", depends on the city, the plan, membership and age.

    Returns:
        (X: DataFrame, y: array of str).
    """
    rng = np.random.default_rng(seed)
    city = rng.choice(CITIES, n, p=[0.35, 0.3, 0.2, 0.15]).astype(object)
    city[:2] = RARE_CITY
    age = rng.normal(45, 12, n).round()
    age[rng.random(n) < 0.15] = np.nan
    plan = rng.choice(["basic", "plus", "pro"], n)
    member = rng.random(n) < 0.4
    risk = (
        2.0 * (city == "Paris")
        - 2.0 * (city == "Lyon")
        + 1.5 * (plan == "basic")
        - 1.5 * member
        + 0.05 * (np.nan_to_num(age, nan=45.0) - 45)
        + rng.normal(0, 0.5, n)
    )
    X = pd.DataFrame(
        {
            "age": age,
            "income": rng.lognormal(10, 0.5, n).round(2),
            "city": city,
            "member": member,
            "plan": pd.Categorical(plan),
        }
    )
    y = np.where(risk > np.median(risk), "left", "stayed")
    return X, y


# The columns of a single-objective search's `search_results_`, in order.
SEARCH_RESULT_COLUMNS = [
    "trial",
    "trial_id",
    "hyperparameters",
    "recorded_hyperparameters",
    "score",
    "status",
    "seconds",
    "fit_seconds",
    "epochs",
    "continues",
    "score_std",
    "cut_by_budget",
]
