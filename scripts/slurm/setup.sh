#!/usr/bin/env bash
# Start a single-node SLURM cluster (munged + slurmctld + slurmd) on this machine.
#
#   sudo scripts/slurm/setup.sh        # idempotent: installs, configures, starts, waits
#   scripts/slurm/teardown.sh          # stops the daemons this script started
#
# For tests and demos only: the node is this host, the daemons run as root,
# processes are tracked with proctrack/linuxproc and not confined (task/none), and the
# partition lets up to four jobs share a core (OverSubscribe=FORCE:4), so that a small
# machine runs a workflow's many small jobs side by side.
# There is no slurmdbd, so `sacct` answers "accounting storage is disabled";
# the Snakemake SLURM executor is therefore told to poll job states with
# `squeue` (profile key slurm-status-command: squeue), which sees finished jobs
# for MinJobAge seconds (300 here).
#
# Exit codes: 0 ready, 3 cannot run here (not root, or no apt-get to install
# slurm-wlm and munge), 1 anything else (see the log files named in the message).
set -euo pipefail

CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
MARKER="# written by physio_bench scripts/slurm/setup.sh"
PARTITION=${SLURM_PARTITION:-cpu}
LOG_DIR=/var/log/slurm
STATE_DIR=/var/lib/slurm
START=$(date +%s.%N)

say() { echo "slurm-setup: $*"; }
cannot() { echo "slurm-setup: cannot run here: $*" >&2; exit 3; }
fail() { echo "slurm-setup: error: $*" >&2; exit 1; }
elapsed() { awk -v s="$START" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }

[ "$(id -u)" -eq 0 ] || cannot "must run as root (the daemons run as root); use sudo"

# 1. Packages (Debian's slurm-wlm 22.05 and munge).
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
    || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
    command -v apt-get >/dev/null || cannot "slurm-wlm and munge are not installed and apt-get is missing"
    say "installing slurm-wlm and munge with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || fail "apt-get update failed"
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null \
        || fail "apt-get install slurm-wlm munge failed"
    say "installed in $(elapsed) s"
fi

# 2. munge: key, runtime directory, daemon (as the munge user).
install -d -o munge -g munge -m 0755 /run/munge
install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge /etc/munge
if [ ! -s /etc/munge/munge.key ]; then
    if command -v mungekey >/dev/null; then
        mungekey --create --keyfile=/etc/munge/munge.key
    else
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
fi
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    say "starting munged"
    runuser -u munge -- /usr/sbin/munged || fail "munged did not start: see /var/log/munge/munged.log"
    for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
    munge -n | unmunge >/dev/null || fail "munge does not answer: see /var/log/munge/munged.log"
fi

# 3. slurm.conf for one node: this host, its CPUs and memory as slurmd sees them.
if [ -f "$CONF" ] && ! grep -qF "$MARKER" "$CONF"; then
    fail "$CONF exists and was not written by this script: refusing to overwrite a real cluster's configuration"
fi
HOST=$(uname -n | cut -d. -f1)
HW=$(slurmd -C | head -1)
CPUS=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$HW")
SOCKETS=$(sed -n 's/.*SocketsPerBoard=\([0-9]*\).*/\1/p' <<<"$HW")
CORES=$(sed -n 's/.*CoresPerSocket=\([0-9]*\).*/\1/p' <<<"$HW")
THREADS=$(sed -n 's/.*ThreadsPerCore=\([0-9]*\).*/\1/p' <<<"$HW")
MEMORY=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$HW")
[ -n "$CPUS" ] && [ -n "$MEMORY" ] || fail "could not read CPUs and memory from 'slurmd -C': $HW"
install -d -m 0755 "$CONF_DIR" "$LOG_DIR" "$STATE_DIR/slurmctld" "$STATE_DIR/slurmd"
NEW_CONF=$(mktemp)
cat >"$NEW_CONF" <<CONF
$MARKER
ClusterName=physiobench
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
MinJobAge=300
ReturnToService=2
MpiDefault=none
StateSaveLocation=$STATE_DIR/slurmctld
SlurmdSpoolDir=$STATE_DIR/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS SocketsPerBoard=$SOCKETS CoresPerSocket=$CORES ThreadsPerCore=$THREADS RealMemory=$MEMORY State=UNKNOWN
PartitionName=$PARTITION Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
RESTART=0
if ! cmp -s "$NEW_CONF" "$CONF"; then
    install -m 0644 "$NEW_CONF" "$CONF"
    RESTART=1
fi
rm -f "$NEW_CONF"

# 4. Daemons. A changed configuration restarts the ones this script started.
running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
if [ "$RESTART" -eq 1 ]; then
    for pidfile in /run/slurmd.pid /run/slurmctld.pid; do
        if running "$pidfile"; then
            pid=$(cat "$pidfile"); kill "$pid"
            for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        fi
    done
fi
if ! running /run/slurmctld.pid; then
    say "starting slurmctld"
    slurmctld || fail "slurmctld did not start: see $LOG_DIR/slurmctld.log"
fi
for _ in $(seq 100); do scontrol ping >/dev/null 2>&1 && break; sleep 0.1; done
scontrol ping >/dev/null 2>&1 || fail "slurmctld does not answer: see $LOG_DIR/slurmctld.log"
if ! running /run/slurmd.pid; then
    say "starting slurmd"
    slurmd || fail "slurmd did not start: see $LOG_DIR/slurmd.log"
fi

# 5. Wait until the node accepts jobs.
STATE=""
for _ in $(seq 300); do
    STATE=$(sinfo -h -n "$HOST" -o %T 2>/dev/null | head -1)
    case "$STATE" in
        idle|mixed|allocated) break ;;
        down*|drain*) scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 0.1
done
case "$STATE" in
    idle|mixed|allocated) ;;
    *) fail "node $HOST is '$STATE', not idle after 30 s: see $LOG_DIR/slurmd.log" ;;
esac
say "ready in $(elapsed) s: node $HOST ($CPUS CPUs, $MEMORY MB), partition $PARTITION, state $STATE"
