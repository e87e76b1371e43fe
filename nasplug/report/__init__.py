"""An HTML report that explains a search: `nasplug report DIR` and `write_report(DIR)`.

Works on any KerasTuner search directory (a project with `oracle.json` and
`trial_*/trial.json`, as written by KerasTuner, AutoKeras and nasplug), or on a directory
holding several of them (one per strategy, say). The page is one self-contained HTML file
with PNG plots embedded, so it can be mailed or attached to an issue:

- score by trial and best score so far, one colour per project (strategy);
- score against model size (parameters) with the Pareto front marked;
- which decisions mattered: each hyperparameter's share of the score's variance, from a
  random forest fitted on the trial table (a fANOVA-style main-effect analysis);
- for each project (a section of its own when there are several): its best
  architecture, its hyperparameters and layers beside the models saved with it, and what
  its strategy learned: how the REINFORCE policy moved trial after trial, the Q-learning
  agent's values, or evolution's lineage (which parent begat which child, and how the
  score moved).

Trials are numbered as the progress line numbers them (1 for the first trial started).

Model sizes are read from the weights KerasTuner checkpoints for every trial (or from a
metric whose name contains "param", if the search recorded one).

One module per job, each using only the ones before it: `load` reads the projects,
`analysis` computes what they tell, `plots` draws it and `page` writes the HTML.
"""

from nasplug.report.analysis import (
    choice_shares,
    controller_preferences,
    hyperparameter_importance,
    lineage,
    pareto_front,
    replay_controller,
    trial_table,
)
from nasplug.report.load import Project, load_search, models_of_projects
from nasplug.report.page import write_report
from nasplug.report.plots import (
    plot_importance,
    plot_lineage,
    plot_policy_history,
    plot_preferences,
    plot_scores,
    plot_shares,
    plot_size,
)

__all__ = [
    "Project",
    "choice_shares",
    "controller_preferences",
    "hyperparameter_importance",
    "lineage",
    "load_search",
    "models_of_projects",
    "pareto_front",
    "plot_importance",
    "plot_lineage",
    "plot_policy_history",
    "plot_preferences",
    "plot_scores",
    "plot_shares",
    "plot_size",
    "replay_controller",
    "trial_table",
    "write_report",
]
