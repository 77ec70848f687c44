#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for testing diffpress's array-job path against a real scheduler.
#
#   tools/slurm/cluster.sh install  # as root: install Debian's slurm-wlm and munge where they are missing
#   tools/slurm/cluster.sh up       # write the config, start munged, slurmctld and slurmd; idempotent (a running
#                                   # cluster is left as it is); says what is missing when the packages are
#   tools/slurm/cluster.sh status   # is it up? (exit 0 when the node answers and is idle or allocated)
#   tools/slurm/cluster.sh env      # the line to eval before using sbatch/squeue/scancel by hand
#   tools/slurm/cluster.sh down     # stop the three daemons this script started and remove its state
#
# Everything lives in $DIFFPRESS_SLURM_DIR (default /tmp/diffpress-slurm): slurm.conf, the munge key and socket,
# spool and state folders, the daemons' logs and pid files. Slurm's clients find the config through SLURM_CONF
# (`eval "$(tools/slurm/cluster.sh env)"`), so nothing under /etc is touched and an installed cluster's config is
# never read or overwritten. The node and the controller are addressed as 127.0.0.1, so nothing beyond the loopback
# address is contacted; the daemons still listen on every address (Slurm has no option to bind one), on ports 16817
# and 16818 — not Slurm's own 6817/6818, so an installed cluster is not in the way (SLURM_CTLD_PORT and
# SLURM_NODE_PORT change them). Process tracking by process group and no task plugin: no systemd, no cgroups needed,
# which containers often lack. `up` and `down` run as root (the daemons run as root, SlurmUser=root).
set -euo pipefail

DIR="${DIFFPRESS_SLURM_DIR:-/tmp/diffpress-slurm}"
CONF="$DIR/slurm.conf"
SOCKET="$DIR/munge/munge.socket"
CTLD_PORT="${SLURM_CTLD_PORT:-16817}"
NODE_PORT="${SLURM_NODE_PORT:-16818}"
# The first line of every slurm.conf this script writes: `down` removes only a folder that holds one.
MARKER="# Written by tools/slurm/cluster.sh: one node, this machine, loopback only."
export SLURM_CONF="$CONF"

say() { echo "slurm-cluster: $*"; }
die() { echo "slurm-cluster: $*" >&2; exit 1; }

# The pid in a pid file, read once (a daemon removes its file as it exits).
pid_of() { cat "$1" 2>/dev/null; }

pid_alive() { local pid; pid=$(pid_of "$1") && [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; }

# Whether the pid file's process is the daemon named (a pid can be reused after the daemon died).
daemon_alive() { local pid; pid=$(pid_of "$1") && [[ -n "$pid" ]] && [[ "$(ps -p "$pid" -o comm= 2>/dev/null)" == "$2" ]]; }

missing_packages() {
  local missing=()
  command -v slurmctld >/dev/null || missing+=(slurmctld)
  command -v slurmd >/dev/null || missing+=(slurmd)
  command -v sbatch >/dev/null || missing+=(slurm-client)
  command -v munged >/dev/null || missing+=(munge)
  echo "${missing[@]}"
}

install_packages() {
  local missing
  read -r -a missing <<<"$(missing_packages)"
  [[ ${#missing[@]} -eq 0 ]] && { say "slurm-wlm and munge are installed"; return 0; }
  [[ $(id -u) -eq 0 ]] || die "missing ${missing[*]} and not root: install them (apt-get install slurm-wlm munge) or run as root"
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install them with"
  say "installing ${missing[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  # The log goes beside $DIR, not into it: `up` refuses a non-empty $DIR that holds no slurm.conf of ours.
  local log="${TMPDIR:-/tmp}/diffpress-slurm-apt.log"
  # The package lists may be absent on a fresh machine: update once, then install.
  if ! apt-get install -y --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
    apt-get update >>"$log" 2>&1 || true
    apt-get install -y --no-install-recommends "${missing[@]}" >>"$log" 2>&1 || die "apt-get install ${missing[*]} failed (see $log)"
  fi
  say "installed ${missing[*]}"
}

write_config() {
  local cpus mem
  cpus=$(nproc)
  # RealMemory in MiB, a little under what the machine has so that slurmd does not drain the node.
  mem=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
  mkdir -p "$DIR/munge" "$DIR/spool" "$DIR/state" "$DIR/log"
  cat >"$CONF" <<EOF
$MARKER
ClusterName=diffpress
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$NODE_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SOCKET
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
JobRequeue=1
KillWait=10
InactiveLimit=0
MinJobAge=300
SlurmctldTimeout=30
SlurmdTimeout=30
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF
}

start_munge() {
  if daemon_alive "$DIR/munged.pid" munged; then return 0; fi
  if [[ ! -s "$DIR/munge/munge.key" ]]; then
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
    chmod 400 "$DIR/munge/munge.key"
  fi
  chmod 700 "$DIR/munge"
  rm -f "$SOCKET" "$SOCKET.lock"
  # --force: munged refuses to run as root or with a key in a non-standard place without it.
  munged --force --key-file="$DIR/munge/munge.key" --socket="$SOCKET" --pid-file="$DIR/munged.pid" \
    --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munged.seed" >"$DIR/log/munged.out" 2>&1 ||
    die "munged did not start: $(tail -n 3 "$DIR/log/munged.out" "$DIR/log/munged.log" 2>/dev/null)"
  say "started munged (pid $(pid_of "$DIR/munged.pid" || echo ?))"
}

start_daemons() {
  if ! daemon_alive "$DIR/slurmctld.pid" slurmctld; then
    # -c: a fresh controller state (jobs of an earlier cluster in this folder are gone with it).
    slurmctld -f "$CONF" -c >"$DIR/log/slurmctld.out" 2>&1 || die "slurmctld did not start: $(tail -n 5 "$DIR/log/slurmctld.log" 2>/dev/null)"
    say "started slurmctld (pid $(pid_of "$DIR/slurmctld.pid" || echo ?))"
  fi
  if ! daemon_alive "$DIR/slurmd.pid" slurmd; then
    slurmd -f "$CONF" >"$DIR/log/slurmd.out" 2>&1 || die "slurmd did not start: $(tail -n 5 "$DIR/log/slurmd.log" 2>/dev/null)"
    # slurmd writes its pid file once it has daemonized.
    for _ in $(seq 1 20); do [[ -s "$DIR/slurmd.pid" ]] && break; sleep 0.25; done
    say "started slurmd (pid $(pid_of "$DIR/slurmd.pid" || echo ?))"
  fi
}

node_state() { sinfo -h -N -o '%T' 2>/dev/null | head -n 1; }

wait_ready() {
  local state=''
  for _ in $(seq 1 60); do
    state=$(node_state || true)
    case "$state" in
      idle* | mixed* | allocated*) say "node localhost is $state ($(nproc) CPUs); use: eval \"\$($0 env)\""; return 0 ;;
      down* | drain*) scontrol update NodeName=localhost State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 1
  done
  die "the node did not become ready (state '${state:-none}'); logs in $DIR/log"
}

up() {
  local missing
  missing=$(missing_packages)
  [[ -z "$missing" ]] || die "not installed: $missing (run '$0 install' as root, or apt-get install slurm-wlm munge)"
  [[ $(id -u) -eq 0 ]] || die "up runs the daemons as root: run it as root"
  if [[ -e "$DIR" && ! -f "$CONF" ]] && [[ -n "$(ls -A "$DIR" 2>/dev/null)" ]]; then
    die "$DIR exists and is not this script's (no slurm.conf): set DIFFPRESS_SLURM_DIR to a folder of its own"
  fi
  mkdir -p "$DIR"
  write_config
  start_munge
  start_daemons
  wait_ready
}

down() {
  local name
  [[ -d "$DIR" ]] || { say "nothing to stop: no $DIR"; return 0; }
  [[ -f "$CONF" && "$(head -n 1 "$CONF")" == "$MARKER" ]] || die "$DIR is not a folder this script made (no slurm.conf of its own): left alone"
  # Jobs first: their processes would otherwise outlive slurmd in a spool folder that is about to go.
  if daemon_alive "$DIR/slurmctld.pid" slurmctld; then
    scancel --full --quiet --user=root >/dev/null 2>&1 || true
  fi
  for name in slurmd slurmctld munged; do
    if daemon_alive "$DIR/$name.pid" "$name"; then
      kill "$(pid_of "$DIR/$name.pid")" 2>/dev/null || true
      say "stopped $name"
    fi
  done
  # Let the daemons exit before their state is removed.
  for _ in $(seq 1 20); do
    daemon_alive "$DIR/slurmd.pid" slurmd || daemon_alive "$DIR/slurmctld.pid" slurmctld || daemon_alive "$DIR/munged.pid" munged || break
    sleep 0.5
  done
  rm -rf "$DIR"
  say "removed $DIR"
}

case "${1:-}" in
  install) install_packages ;;
  up) up ;;
  down) down ;;
  status)
    state=$(node_state || true)
    [[ "$state" =~ ^(idle|mixed|allocated) ]] && { say "up: node localhost $state"; exit 0; }
    say "not up${state:+ (node $state)}"
    exit 1
    ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  *) die "usage: $0 install|up|status|env|down" ;;
esac
