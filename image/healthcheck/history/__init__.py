"""Records and what is read back from them: the record store, rollups, uptime figures, report formats."""
