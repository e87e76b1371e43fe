"""Tables as they come: categories, booleans and gaps through the estimators.

Real searches on `tables.customer_table` (numbers with gaps, a text column with a rare
level, booleans, a pandas category, text labels) through the estimator, a `Pipeline`,
`cross_val_score` and pickle, and the encoding's own pieces without training.
"""

import pickle
import warnings

import keras
import keras_tuner
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from nasplug import NASRegressor
from nasplug.sklearn import tabular
from nasplug.sklearn.tabular import UnseenCategoryWarning
from tests.support.tables import (
    RARE_CITY,
    customer_table,
)


@pytest.fixture(scope="module")
def tiny_defaults():
    # Long enough to learn the table's rule from its encoded columns.
    return dict(epochs=8)


@pytest.fixture(scope="module")
def customers():
    return customer_table()


@pytest.fixture(scope="module")
def fitted(customers, tiny):
    X, y = customers
    return tiny().fit(X.iloc[:200], y[:200])


def new_rows():
    """Rows a model may meet after training: an unseen city, gaps where there were none."""
    return pd.DataFrame(
        {
            "age": [50.0, np.nan, 30.0, 30.0],
            "income": [np.nan, 25000.0, 20000.0, 20000.0],
            "city": ["Atlantis", None, "Paris", RARE_CITY],
            "member": [True, False, False, False],
            "plan": pd.Categorical(["pro", "basic", "basic", "basic"]),
        }
    )


# ---------------------------------------------------------------- the estimator


@pytest.mark.slow
def test_a_raw_table_is_learned(customers, fitted):
    X, y = customers
    clf = fitted
    # "auto": the text column and the pandas category; booleans and numbers are numbers.
    assert clf.is_categorical_.tolist() == [False, False, True, False, True]
    assert list(clf.feature_names_in_) == list(X.columns)
    assert set(clf.classes_) == {"left", "stayed"}
    # The label depends on the city and the plan: a network that saw them beats the
    # majority class (50 %) by far on rows it did not train on.
    assert clf.score(X.iloc[200:], y[200:]) > 0.75
    table = clf._input_spec_.table
    assert table.levels[0] == ["Lille", "Lyon", "Nantes", "Paris"]
    assert table.rare[0] == [RARE_CITY]
    assert table.numeric_missing == [True, False, False]


@pytest.mark.slow
def test_best_model_takes_raw_rows(customers, fitted, tmp_path):
    X, _ = customers
    rows = X.iloc[200:]
    raw = {
        "age": rows[["age"]].to_numpy(np.float32),
        "income": rows[["income"]].to_numpy(np.float32),
        "city": rows[["city"]].to_numpy(str),
        "member": rows[["member"]].to_numpy(np.float32),
        "plan": rows[["plan"]].to_numpy(str),
    }
    expected = fitted.predict_proba(rows)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(fitted.best_model_(raw)), expected, rtol=1e-5, atol=1e-6
    )
    fitted.best_model_.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(raw)), expected, rtol=1e-5, atol=1e-6
    )


@pytest.mark.slow
def test_unseen_categories_warn_and_share_the_rare_levels_category(fitted):
    with pytest.warns(UnseenCategoryWarning) as caught:
        proba = fitted.predict_proba(new_rows())
    messages = [str(w.message) for w in caught]
    assert any("Column 'city'" in m and "'Atlantis'" in m and "'other'" in m for m in messages)
    # Gaps where training had none: income (filled with the mean), city (zeros).
    assert any("'income' (filled" in m and "'city' (encoded as zeros)" in m for m in messages)
    assert np.isfinite(proba).all()
    # An unseen city is encoded as the rare level was in training: same prediction.
    same = new_rows().iloc[[2, 3]].assign(city=["Atlantis", RARE_CITY])
    with pytest.warns(UnseenCategoryWarning):
        unseen_and_rare = fitted.predict_proba(same)
    np.testing.assert_allclose(unseen_and_rare[0], unseen_and_rare[1], rtol=1e-6)
    # Seen values raise no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnseenCategoryWarning)
        fitted.predict(new_rows().iloc[[2, 3]].assign(income=1.0))


@pytest.mark.slow
def test_pickle_round_trip_on_a_table(fitted):
    rows = new_rows()
    with pytest.warns(UnseenCategoryWarning):
        expected = fitted.predict_proba(rows)
    restored = pickle.loads(pickle.dumps(fitted))
    with pytest.warns(UnseenCategoryWarning):
        np.testing.assert_array_equal(restored.predict_proba(rows), expected)


@pytest.mark.slow
def test_pipeline_and_cross_val_score(customers, tiny):
    X, y = customers
    # A step before the search that keeps the table a DataFrame (categories and all).
    logs = ColumnTransformer(
        [("log", FunctionTransformer(np.log), ["income"])],
        remainder="passthrough",
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    pipe = make_pipeline(logs, tiny()).fit(X, y)
    assert pipe[-1].is_categorical_.tolist() == [False, False, True, False, True]
    assert pipe.score(X, y) > 0.75
    scores = cross_val_score(tiny(epochs=4), X, y, cv=2)
    assert scores.shape == (2,) and (scores > 0.6).all()


@pytest.mark.slow
def test_object_arrays_and_explicit_categorical_features(customers, tiny):
    X, y = customers
    array = X.astype(object).to_numpy()
    array[3, 1] = None  # a gap as Python's None
    clf = tiny(epochs=4).fit(array, y)
    assert clf.is_categorical_.tolist() == [False, False, True, False, True]
    assert sorted(clf.best_model_.input) == ["x0", "x1", "x2", "x3", "x4"]
    # Integers named as categories are levels of their own ("3" whether read as 3 or 3.0).
    numeric = X.assign(visits=np.arange(len(X)) % 3)[["age", "visits"]]
    reg = tiny(NASRegressor, epochs=2, categorical_features=["visits"]).fit(
        numeric, np.arange(len(X)) % 3 * 10.0
    )
    assert reg.is_categorical_.tolist() == [False, True]
    assert reg._input_spec_.table.levels == [["0", "1", "2"]]
    assert reg.predict(numeric.assign(visits=numeric.visits.astype(float))).shape == (len(X),)


# ---------------------------------------------------------------- the encoding


def test_categorical_mask_forms():
    frame = pd.DataFrame(
        {
            "a": [1.0, 2.0],
            "b": ["x", "y"],
            "c": pd.Categorical(["u", "v"]),
            "d": [True, False],
            "e": np.array([1, None], dtype=object),
        }
    )
    names = list(frame.columns)
    assert tabular.categorical_mask(frame, "auto", names) == [False, True, True, False, False]
    assert tabular.categorical_mask(frame, None, names) == [False] * 5
    assert tabular.categorical_mask(frame, ["a", "d"], names) == [True, False, False, True, False]
    assert tabular.categorical_mask(frame, [0, -1], names) == [True, False, False, False, True]
    mask = [False, True, False, False, False]
    assert tabular.categorical_mask(frame, mask, names) == mask
    with pytest.raises(ValueError, match="the column 'zz', which X does not have"):
        tabular.categorical_mask(frame, ["zz"], names)
    with pytest.raises(ValueError, match="column index 7, but X has 5 columns"):
        tabular.categorical_mask(frame, [7], names)
    with pytest.raises(ValueError, match="one entry per column"):
        tabular.categorical_mask(frame, [True], names)
    with pytest.raises(ValueError, match="no column names"):
        tabular.categorical_mask(frame.to_numpy(), ["a"], None)
    with pytest.raises(ValueError, match="must be 'auto', None"):
        tabular.categorical_mask(frame, "all", names)


def test_level_indices_and_unused_slots_encode_to_zeros():
    column = ["a"] * 5 + ["b"] * 6 + ["rare"] * 2
    X = tabular.to_columns(pd.DataFrame({"c": column}), [True], ["c"])
    table = tabular.TableEncoding.from_data(X, ["c"], [True])
    assert table.levels == [["a", "b"]] and table.rare == [["rare"]]
    assert table.categorical_missing == [False]
    rows = tabular.to_columns(pd.DataFrame({"c": ["a", "b", "rare", "new", None]}), [True], ["c"])
    codes = table.network_input(rows)["categories"][:, 0]
    # 0 missing, 1 other (rare and unseen alike), 2.. the levels.
    assert codes.tolist() == [2, 3, 1, 1, 0]
    # The saved model's lookup gives the same indices as training did.
    inputs, _ = table.raw_rows_model(lambda x: x["categories"])
    lookup = keras.Model(inputs, _)
    assert (
        keras.ops.convert_to_numpy(lookup(table.raw_input(rows))).ravel().tolist() == codes.tolist()
    )
    hp = keras_tuner.HyperParameters()
    _, encoded = table.build_network_inputs(hp)
    assert "categorical_encoding" not in hp.values  # two levels: one-hot, no decision
    layer = tabular.CategoricalColumns([4], [[False, True, True, True]], ["one_hot"])
    out = keras.ops.convert_to_numpy(layer(np.array([[0], [1], [3]])))
    # The missing slot was never used in training: a missing value adds nothing.
    np.testing.assert_array_equal(out, [[0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]])


def test_many_levels_put_the_encoding_in_the_search():
    levels = [f"l{i:02d}" for i in range(12)]
    X = tabular.to_columns(
        pd.DataFrame({"c": levels * 5, "n": np.arange(60.0)}), [True, False], ["c", "n"]
    )
    table = tabular.TableEncoding.from_data(X, ["c", "n"], [True, False])
    hp = keras_tuner.HyperParameters()
    hp.Fixed("categorical_encoding", "embedding")
    inputs, encoded = table.build_network_inputs(hp)
    # 12 levels + missing + other embedded in 9 numbers, then the numeric column.
    assert encoded.shape[-1] == tabular.embedding_size(14) + 1
    default = keras_tuner.HyperParameters()
    table.build_network_inputs(default)
    assert default.values["categorical_encoding"] == "one_hot"
    assert default.get("categorical_encoding") in ("one_hot", "embedding")


def test_numbers_filled_and_flagged_inside_the_model():
    layer = tabular.NumericColumns([1.0, 10.0], [2.0, 5.0], indicators=[0])
    out = keras.ops.convert_to_numpy(layer(np.array([[3.0, np.nan], [np.nan, 20.0]], np.float32)))
    np.testing.assert_allclose(out, [[1.0, 0.0, 0.0], [0.0, 2.0, 1.0]])


def test_category_text_is_one_level_whatever_the_type():
    assert (
        tabular.category_text(3)
        == tabular.category_text(3.0)
        == tabular.category_text(np.int64(3))
        == "3"
    )
    assert tabular.category_text(2.5) == "2.5"
    assert tabular.category_text(True) == "True"
    for missing in (None, np.nan, pd.NA, float("nan")):
        assert tabular.category_text(missing) == ""
