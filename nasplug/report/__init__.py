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
- for a model saved by `nasplug search` (its `model.json` beside it): what a trial's
  score is (e.g. 3-fold cross-validated accuracy), the model's test score, and how many
  networks it averages;
- for each project (a section of its own when there are several): its best
  architecture, its hyperparameters and layers beside the models saved with it (one
  network of an ensemble, with each layer's parameters), and what
  its strategy learned: how the REINFORCE policy moved trial after trial, the Q-learning
  agent's values, or evolution's lineage (which parent begat which child, how the
  score moved, and the population when the search ended, its last child included).

Trials are numbered as the progress line numbers them (1 for the first trial started).

Model sizes are read from the weights KerasTuner checkpoints for every trial (or from a
metric whose name contains "param", if the search recorded one).

One module per job, each using only the ones before it: `load` reads the projects,
`analysis` computes what they tell (and `architecture` reads a searched cell or layer
chain back from a trial's values), `plots` draws it and `page` writes the HTML.

Tables and the importance analysis show each trial's live values: those its network was
built from (`nasplug.live`). A value the trial recorded without using it is "not used"
there, not a value.
"""

from nasplug.report.analysis import (
    aimed_front,
    choice_shares,
    controller_preferences,
    hyperparameter_importance,
    lineage,
    pareto_front,
    replay_controller,
    trial_table,
)
from nasplug.report.architecture import architecture_layouts, find_cells, find_chains
from nasplug.report.load import Project, load_search, models_of_projects
from nasplug.report.page import write_report
from nasplug.report.plots import (
    plot_aimed_front,
    plot_architecture,
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
    "aimed_front",
    "architecture_layouts",
    "choice_shares",
    "controller_preferences",
    "find_cells",
    "find_chains",
    "hyperparameter_importance",
    "lineage",
    "load_search",
    "models_of_projects",
    "pareto_front",
    "plot_aimed_front",
    "plot_architecture",
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
