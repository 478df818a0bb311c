#!/usr/bin/env bash
# Stop the single-node SLURM cluster that scripts/slurm/setup.sh started.
#
#   sudo scripts/slurm/teardown.sh           # stop slurmd, slurmctld, munged
#   sudo scripts/slurm/teardown.sh --purge   # also remove slurm.conf and the saved state
#
# Only daemons started by setup.sh are stopped (found by their pid files), and only
# when /etc/slurm/slurm.conf carries setup.sh's marker line.
set -euo pipefail

CONF=/etc/slurm/slurm.conf
MARKER="# written by physio_bench scripts/slurm/setup.sh"

[ "$(id -u)" -eq 0 ] || { echo "slurm-teardown: must run as root" >&2; exit 3; }
if [ ! -f "$CONF" ] || ! grep -qF "$MARKER" "$CONF"; then
    echo "slurm-teardown: $CONF was not written by setup.sh: nothing to stop"
    exit 0
fi

stop() {  # stop the process named in a pid file, wait up to 10 s
    local pidfile=$1 pid
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
        echo "slurm-teardown: stopping $2 (pid $pid)"
        kill "$pid"
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$pidfile"
}
stop /run/slurmd.pid slurmd
stop /run/slurmctld.pid slurmctld
stop /run/munge/munged.pid munged

if [ "${1:-}" = "--purge" ]; then
    rm -f "$CONF"
    rm -rf /var/lib/slurm/slurmctld/* /var/lib/slurm/slurmd/*
    echo "slurm-teardown: removed $CONF and the saved state"
fi
