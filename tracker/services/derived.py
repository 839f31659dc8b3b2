# Transitional: demo.py and ledger.py are being moved on other branches; their imports
# switch to tracker.rules.overdue at the merge and this module goes.
from tracker.rules.overdue import *  # noqa: F401,F403
from tracker.rules.overdue import Horizon, Light, derived_columns  # noqa: F401
