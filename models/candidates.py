"""The candidate model kinds, in a module light enough to import when definitions load."""

CANDIDATES = ("baseline", "logistic", "gradient_boosting")
