"""client: one application instance bound to one DC, and the DC clocks it takes versions from.

Every statement a client runs is recorded in the history with its outcome (rows affected or the
server's errno), which is all the verdicts ever read.
"""

from lab.client.clock import AppClock, ClockRegistry
from lab.client.recording import AUTO_KEY, Client, Outcome, errno_of, key_text

__all__ = ["AUTO_KEY", "AppClock", "Client", "ClockRegistry", "Outcome", "errno_of", "key_text"]
