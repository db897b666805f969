"""Verdicts computed from the recorded history and the rows read back from the servers."""
