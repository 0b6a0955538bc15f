"""The candidate model kinds, in a module light enough to import when definitions load."""

CANDIDATES = ("baseline", "logistic", "gradient_boosting", "ensemble")
# "ensemble" is the log-odds average of the logistic regression and the trees
# (hearth/modelling/training/ensemble.py).

# How the recipe is chosen: the highest average precision over the whole validation window
# (every household with a crisis counts, not only the few hundred in the top 1%); see
# hearth/modelling/training/selection.py:choose.
SELECTION_CRITERION = "average_precision"

# A candidate is chosen over a simpler one (and a learned model over counting contacts) only if
# a paired bootstrap of the average-precision difference gives its lead by chance less often
# than this (hearth/modelling/training/choice.py, hearth/modelling/evaluation/gate.py).
BETTER_P = 0.05
