"""An HTML report that explains a search: `nasplug report DIR` and `write_report(DIR)`.

Works on any KerasTuner search directory (a project with `oracle.json` and
`trial_*/trial.json`, as written by KerasTuner, AutoKeras and nasplug), or on a directory
holding several of them (one per strategy, say). The page is one self-contained HTML file
with PNG plots embedded, so it can be mailed or attached to an issue:

- score by trial and best score so far, one colour per project (strategy);
- for a multi-objective or constrained nasplug search, the front it aimed at: its first
  objective against its second, the kept network starred, the limits drawn;
- score against model size (parameters) with the Pareto front marked;
- which decisions mattered: each hyperparameter's share of the score's variance, from a
  random forest fitted on the trial table (a fANOVA-style main-effect analysis);
- for the reinforcement-learning strategies, the controller's preferences: how the
  REINFORCE policy moved trial after trial, and the Q-learning agent's values;
- the best architecture: its hyperparameters and its layers.

Model sizes are read from the weights KerasTuner checkpoints for every trial (or from a
metric whose name contains "param", if the search recorded one).

One module per job, each using only the ones before it: `load` reads the projects,
`analysis` computes what they tell, `plots` draws it and `page` writes the HTML.
"""

from nasplug.report.analysis import (
    aimed_front,
    choice_shares,
    controller_preferences,
    hyperparameter_importance,
    pareto_front,
    replay_controller,
    trial_table,
)
from nasplug.report.load import Project, load_search
from nasplug.report.page import write_report
from nasplug.report.plots import (
    plot_aimed_front,
    plot_importance,
    plot_policy_history,
    plot_preferences,
    plot_scores,
    plot_shares,
    plot_size,
)

__all__ = [
    "Project",
    "aimed_front",
    "choice_shares",
    "controller_preferences",
    "hyperparameter_importance",
    "load_search",
    "pareto_front",
    "plot_aimed_front",
    "plot_importance",
    "plot_policy_history",
    "plot_preferences",
    "plot_scores",
    "plot_shares",
    "plot_size",
    "replay_controller",
    "trial_table",
    "write_report",
]
