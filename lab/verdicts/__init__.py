"""verdicts (the history checkers): what a cell's history and rows say, computed the same way for every cell.

    lost_updates  the field-level lost-update rule, and the write that overwrote each lost one unseen
    counts        counts over the history: operations and their errors, rejected writes, version
                  regressions, the overlap's conflicting rows
    rows          how rows are named across DCs: (table, key text)

Each function reads only history records and rows read from the servers, so every verdict can be
recomputed from a results directory and tested without a server.
"""
