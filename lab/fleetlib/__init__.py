"""Lab fleet: systemd-nspawn hosts on one machine, reached over SSH like real servers."""
