"""A process's role in a KerasTuner distributed search, read as KerasTuner reads it."""

import os

CHIEF = "chief"
WORKER = "worker"
ENV_TUNER_ID = "KERASTUNER_TUNER_ID"
ENV_ORACLE_IP = "KERASTUNER_ORACLE_IP"
ENV_ORACLE_PORT = "KERASTUNER_ORACLE_PORT"


def role():
    """This process's role: None (not distributed), "chief" or "worker".

    KerasTuner's own rule: a search is distributed when KERASTUNER_ORACLE_IP is set, and
    its chief is the process whose KERASTUNER_TUNER_ID contains "chief".
    """
    if ENV_ORACLE_IP not in os.environ:
        return None
    return CHIEF if CHIEF in os.environ.get(ENV_TUNER_ID, "") else WORKER


def tuner_id():
    """This process's KerasTuner tuner ID ("tuner0" outside a distributed search)."""
    return os.environ.get(ENV_TUNER_ID, "tuner0")
