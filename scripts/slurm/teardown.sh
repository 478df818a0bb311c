#!/usr/bin/env bash
# Stop the single-node SLURM cluster that scripts/slurm/setup.sh started.
#
#   sudo scripts/slurm/teardown.sh                     # stop slurmd, slurmctld, munged
#   sudo scripts/slurm/teardown.sh slurmd slurmctld    # stop only these (e.g. keep a munged
#                                                      # that was running before setup.sh)
#   sudo scripts/slurm/teardown.sh --purge             # also remove slurm.conf and the state
#
# Only daemons started by setup.sh are stopped (found by their pid files), and only
# when /etc/slurm/slurm.conf carries setup.sh's marker line. A daemon that ignores SIGTERM
# for 10 s gets SIGKILL. Exit code 0 when every named daemon is stopped, 1 when one is
# still running, 3 when not root.
set -euo pipefail

CONF=/etc/slurm/slurm.conf
MARKER="# written by physio_bench scripts/slurm/setup.sh"
PURGE=0
DAEMONS=()
for arg in "$@"; do
    case "$arg" in
        --purge) PURGE=1 ;;
        slurmd|slurmctld|munged) DAEMONS+=("$arg") ;;
        *) echo "slurm-teardown: unknown argument '$arg' (use --purge, slurmd, slurmctld, munged)" >&2
           exit 2 ;;
    esac
done
[ "${#DAEMONS[@]}" -gt 0 ] || DAEMONS=(slurmd slurmctld munged)

[ "$(id -u)" -eq 0 ] || { echo "slurm-teardown: must run as root" >&2; exit 3; }
if [ ! -f "$CONF" ] || ! grep -qF "$MARKER" "$CONF"; then
    echo "slurm-teardown: $CONF was not written by setup.sh: nothing to stop"
    exit 0
fi

pidfile_of() {
    case "$1" in
        slurmd) echo /run/slurmd.pid ;;
        slurmctld) echo /run/slurmctld.pid ;;
        munged) echo /run/munge/munged.pid ;;
    esac
}

stop() {  # stop the process named in a pid file: SIGTERM, wait 10 s, then SIGKILL
    local name=$1 pidfile pid
    pidfile=$(pidfile_of "$name")
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
        echo "slurm-teardown: stopping $name (pid $pid)"
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            echo "slurm-teardown: $name (pid $pid) ignored SIGTERM for 10 s: SIGKILL"
            kill -9 "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        fi
    fi
    kill -0 "$pid" 2>/dev/null && return 1
    rm -f "$pidfile"
}

STATUS=0
for name in slurmd slurmctld munged; do  # the order matters: the node, the controller, auth
    case " ${DAEMONS[*]} " in *" $name "*) stop "$name" || STATUS=1 ;; esac
done

if [ "$PURGE" -eq 1 ]; then
    rm -f "$CONF"
    rm -rf /var/lib/slurm/slurmctld/* /var/lib/slurm/slurmd/*
    echo "slurm-teardown: removed $CONF and the saved state"
fi
exit "$STATUS"
