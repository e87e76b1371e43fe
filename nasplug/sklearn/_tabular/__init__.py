"""Tables as they come, in three parts (`nasplug.sklearn.tabular` is their public face).

- `columns`: which columns are categories, and the one form the estimators work on
  (NumPy and pandas only, no Keras);
- `plan`: `TableEncoding`, what is learned about the columns and the inputs built from it;
- `layers`: the Keras layers that encode the columns inside the network.
"""
