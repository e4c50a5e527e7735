#!/bin/bash
# The Slurm job scripts against a real Slurm: starts munged, slurmctld and
# slurmd on localhost in a scratch folder (one node, 2 CPUs), then
#   (a) jobs/biaslab_array.sbatch as a 3-task array, merged with
#       postprocess/merge_slices.sh, must equal one mpirun -np 2 run, bitwise;
#   (b) jobs/biaslab_requeue.sbatch, warned with SIGUSR1 as at a time limit
#       (scancel --signal=USR1 --batch) after its first finished task, must
#       save its state, requeue itself, resume, and equal an uninterrupted
#       run, bitwise;
#   (c) the same job under a plain scancel must save its state and stay
#       cancelled (not requeue itself).
# Prints PASS/FAIL per check, the time of each phase, and ends with
# "slurm: N passed, N failed"; exits non-zero on any failure. Needs root
# (the daemons) and slurm-wlm + munge (installed with apt-get when missing).
# The daemons are stopped and the scratch folder removed however it ends
# (KEEP_SLURM_SCRATCH=1 keeps it, with every log, for a post-mortem).
# See ../../../shared/SLURM.md for how this setup was worked out.
set -u
cd "$(dirname "$0")/../.." || exit 2
PY=/usr/bin/python3
BL=bin/biaslab

# Everything runs as root: Open MPI must be told it is deliberate. Exported,
# so the jobs (sbatch passes the environment on) inherit it.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Run from inside a Slurm job, the outer job's variables would leak into ours.
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^SLURM_')

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
# show FILE: the tail of a log under a failure
show() { [ -f "$1" ] && tail -n "${2:-25}" "$1" | sed 's/^/    | /'; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
t_start=$(now)

if [ "$(id -u)" != 0 ]; then
  echo "FAIL slurm tests need root (they start slurmctld, slurmd and munged)"
  echo "slurm: 0 passed, 1 failed"
  exit 1
fi
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  echo "== installing slurm-wlm and munge"
  DEBIAN_FRONTEND=noninteractive apt-get install -y slurm-wlm munge >/dev/null 2>&1 ||
    { apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y slurm-wlm munge >/dev/null 2>&1; }
  if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    echo "FAIL install slurm-wlm and munge (apt-get failed)"
    echo "slurm: 0 passed, 1 failed"
    exit 1
  fi
fi
if [ ! -x "$BL" ]; then
  echo "FAIL $BL missing: run 'make bin/biaslab' first"
  echo "slurm: 0 passed, 1 failed"
  exit 1
fi

# --- scratch cluster -------------------------------------------------------
# munged (running as the munge user) must traverse every folder on the way to
# its files, and refuses a socket folder without o+x: hence 0711.
scratch=$(mktemp -d /tmp/biaslab-slurm.XXXXXX)
chmod 0711 "$scratch"
mkdir -p "$scratch"/{munge,state,spool,logs,out}
chown munge:munge "$scratch/munge"
chmod 0711 "$scratch/munge"
export SLURM_CONF=$scratch/slurm.conf
# Every run of this test uses one copy of the executable: bin/biaslab may be
# rebuilt while the test runs, and the jobs, merge_slices.sh and the
# reference runs must not compare two builds. (The job scripts and
# merge_slices.sh honour BIASLAB; sbatch passes it on.)
cp "$BL" "$scratch/biaslab"
export BIASLAB=$scratch/biaslab
BL=$BIASLAB
if ! "$BL" --version >/dev/null 2>&1; then
  echo "FAIL the copy of bin/biaslab does not run (was it being rebuilt?)"
  echo "slurm: 0 passed, 1 failed"
  exit 1
fi

# stop_pids PIDFILE...: SIGTERM each daemon, wait up to 10 s, then SIGKILL.
stop_pids() {
  local f pid pids=()
  for f in "$@"; do
    [ -f "$scratch/$f" ] || continue
    pid=$(cat "$scratch/$f")
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  done
}
stopped=0
stop_cluster() {
  [ "$stopped" = 0 ] || return 0
  stopped=1
  # Jobs first (a failed check may leave one running), then the daemons by
  # the pids in their own pid files: nothing else on the machine is touched.
  if [ -f "$scratch/slurmctld.pid" ]; then
    scancel --full --quiet --user=root >/dev/null 2>&1
    for _ in $(seq 1 50); do
      [ -n "$(squeue -h -o %i 2>/dev/null)" ] || break
      sleep 0.1
    done
  fi
  # The two Slurm daemons together (each takes a second or two to save its
  # state and exit), munged last: they may still authenticate on the way out.
  stop_pids slurmd.pid slurmctld.pid
  stop_pids munge/munged.pid
  if [ -n "${KEEP_SLURM_SCRATCH:-}" ]; then echo "kept $scratch"; else rm -rf "$scratch"; fi
}
trap stop_cluster EXIT
trap 'exit 130' INT TERM

# Two free ports, so this cluster cannot collide with another one (or
# another run of this test) on the standard 6817/6818.
read -r ctld_port slurmd_port < <($PY -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')

# Minimal config after SLURM.md, plus three settings this test needs:
# cred_expire (also how long a requeued job must wait before it may start
# again; 120 s by default), a short scheduler interval (a requeued job
# becomes eligible on a timer, not on an event; the main loop runs every
# 60 s by default), and a random first job id (srun's PMIx keeps per-step
# folders in /tmp named by job id, which two runs of this test would share).
cat >"$SLURM_CONF" <<EOF
ClusterName=biaslabtest
FirstJobId=$((RANDOM * 100 + 1))
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$scratch/munge/munge.socket,cred_expire=5
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
MailProg=/bin/true
ReturnToService=2
SchedulerParameters=sched_interval=1
StateSaveLocation=$scratch/state
SlurmdSpoolDir=$scratch/spool
SlurmctldPidFile=$scratch/slurmctld.pid
SlurmdPidFile=$scratch/slurmd.pid
SlurmctldLogFile=$scratch/logs/slurmctld.log
SlurmdLogFile=$scratch/logs/slurmd.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
NodeName=localhost CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF

echo "== starting munged, slurmctld, slurmd in $scratch"
mungekey --create --keyfile="$scratch/munge/munge.key" >/dev/null 2>&1 ||
  dd if=/dev/urandom of="$scratch/munge/munge.key" bs=1024 count=1 2>/dev/null
chown munge:munge "$scratch/munge/munge.key"
chmod 0600 "$scratch/munge/munge.key"
runuser -u munge -- munged --key-file="$scratch/munge/munge.key" \
  --socket="$scratch/munge/munge.socket" --pid-file="$scratch/munge/munged.pid" \
  --log-file="$scratch/munge/munged.log" --seed-file="$scratch/munge/munged.seed"
slurmctld -f "$SLURM_CONF"
# The node is "localhost" in slurm.conf whatever this machine's hostname is.
slurmd -f "$SLURM_CONF" -N localhost

# until_true SECONDS COMMAND...: poll every 0.1 s until COMMAND succeeds.
until_true() {
  local t=$1 i; shift
  for ((i = 0; i < t * 10; i++)); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}
node_idle() { [ "$(sinfo -h -o %T 2>/dev/null)" = idle ]; }
if until_true 20 node_idle; then
  pass "slurm up (munged, slurmctld, slurmd; node idle)"
else
  fail "slurm up: node not idle after 20 s (state: $(sinfo -h -o %T 2>&1))"
  show "$scratch/munge/munged.log" 10; show "$scratch/logs/slurmctld.log"; show "$scratch/logs/slurmd.log"
  echo "slurm: $passed passed, $failed failed"
  exit 1
fi
t_up=$(now)

# job_field JOBID FIELD: FIELD=value of `scontrol show job` (first task of an array)
job_field() { scontrol -o show job "$1" 2>/dev/null | head -n 1 | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# job_done JOBID: every task of the job has reached a final state
job_done() {
  local states
  states=$(scontrol -o show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n 's/^JobState=//p')
  [ -n "$states" ] || return 1
  ! echo "$states" | grep -qvE '^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED)$'
}

# submit_wait SECONDS SBATCH-ARGS...: submit, print the job id, and wait (polling
# every 0.1 s) until every task of the job has ended; returns the highest exit
# code of its tasks, 124 when they did not end in time. (sbatch --wait polls
# at 2, 8 and then 32 s intervals: a 4 s job would take 10 s, an 11 s one 42.)
submit_wait() {
  local t=$1 jid code highest=0; shift
  jid=$(sbatch --parsable "$@") || return 1
  echo "$jid"
  until_true "$t" job_done "$jid" || return 124
  for code in $(scontrol -o show job "$jid" | tr ' ' '\n' | sed -n 's/^ExitCode=\([0-9]*\):.*/\1/p'); do
    [ "$code" -gt "$highest" ] && highest=$code
  done
  return "$highest"
}

# --- (a) job array, merged ----------------------------------------------------
echo "== (a) job array: 3 slices of tests/slurm/array.ini, merged"
acfg=tests/slurm/array.ini
aout=$scratch/out/array.nc
# 1 rank per array task: the node's 2 CPUs run two slices at a time. The
# slice names come from `biaslab check ... -o $aout` inside the job.
submit_wait 120 --array=0-2 --ntasks=1 --output="$scratch/logs/array-%A_%a.log" \
  jobs/biaslab_array.sbatch "$acfg" -o "$aout" >"$scratch/logs/sbatch.out" 2>"$scratch/logs/sbatch.err"
rc=$?
jid=$(head -n 1 "$scratch/logs/sbatch.out")
if [ -z "$jid" ]; then
  fail "array job submitted"; show "$scratch/logs/sbatch.err"
elif [ "$rc" = 124 ]; then
  fail "array job $jid finished within 120 s"
  show "$scratch/logs/array-${jid}_0.log"
else
  codes=$(scontrol -o show job "$jid" | tr ' ' '\n' | sed -n 's/^ExitCode=//p' | sort -u | tr '\n' ' ')
  if [ "$rc" = 0 ] && [ "$codes" = "0:0 " ] && [ -f "$scratch/out/array.slice0of3.nc" ] &&
    [ -f "$scratch/out/array.slice1of3.nc" ] && [ -f "$scratch/out/array.slice2of3.nc" ]; then
    pass "array job: 3 tasks exit 0 and write array.slice{0,1,2}of3.nc"
  else
    fail "array job: exit $rc, task exit codes '$codes', slices: $(cd "$scratch/out" && echo array.slice*)"
    for k in 0 1 2; do show "$scratch/logs/array-${jid}_$k.log" 10; done
  fi
fi
t_array_jobs=$(now)
if postprocess/merge_slices.sh "$aout" "$scratch/out/array" >"$scratch/logs/merge.log" 2>&1; then
  pass "merge_slices.sh OUT PREFIX joins the 3 slices"
else
  fail "merge_slices.sh OUT PREFIX (exit $?)"; show "$scratch/logs/merge.log"
fi
if timeout 120 mpirun -np 2 "$BL" run "$acfg" -o "$scratch/out/array_ref.nc" >"$scratch/logs/array_ref.log" 2>&1; then
  pass "reference run, mpirun -np 2 (array config)"
else
  fail "reference run, mpirun -np 2 (array config) (exit $?)"; show "$scratch/logs/array_ref.log"
fi
if $PY tests/compare_outputs.py "$scratch/out/array_ref.nc" "$aout" >"$scratch/logs/cmp_array.log" 2>&1; then
  pass "array slices merged = one mpirun -np 2 run, bitwise"
else
  fail "array slices merged = one mpirun -np 2 run, bitwise"; show "$scratch/logs/cmp_array.log"
fi
# --- (a') the plain job script, srun --mpi=pmix on 2 tasks ---------------------
plog=$scratch/logs/plain.log
submit_wait 120 --ntasks=2 --output="$plog" \
  jobs/biaslab.sbatch "$acfg" -o "$scratch/out/plain.nc" >"$scratch/logs/sbatch.out" 2>"$scratch/logs/sbatch.err"
rc=$?
if [ "$rc" = 0 ] && grep -q 'on 2 ranks' "$plog" && grep -q 'wrote .*plain.nc' "$plog"; then
  pass "jobs/biaslab.sbatch on 2 tasks: srun starts 2 ranks of one run, exit 0"
else
  fail "jobs/biaslab.sbatch on 2 tasks (exit $rc)"; show "$plog"; show "$scratch/logs/sbatch.err"
fi
if $PY tests/compare_outputs.py "$scratch/out/array_ref.nc" "$scratch/out/plain.nc" >"$scratch/logs/cmp_plain.log" 2>&1; then
  pass "jobs/biaslab.sbatch result = mpirun -np 2 run, bitwise"
else
  fail "jobs/biaslab.sbatch result = mpirun -np 2 run, bitwise"; show "$scratch/logs/cmp_plain.log"
fi
t_array=$(now)

# --- (b) time-limit warning, requeue, resume ------------------------------------
echo "== (b) requeue: SIGUSR1 to the batch shell, as --signal=B:USR1@120 sends it"
rcfg=tests/slurm/requeue.ini
rout=$scratch/out/requeue.nc
rlog=$scratch/logs/requeue.log
# The reference first: the job then has the machine to itself and its timing
# (signal after the first finished task) is what it would be alone.
if timeout 120 mpirun -np 2 "$BL" run "$rcfg" -o "$scratch/out/requeue_ref.nc" >"$scratch/logs/requeue_ref.log" 2>&1; then
  pass "reference run, mpirun -np 2, uninterrupted (requeue config)"
else
  fail "reference run, mpirun -np 2 (requeue config) (exit $?)"; show "$scratch/logs/requeue_ref.log"
fi
t_requeue_ref=$(now)
jid=$(sbatch --parsable --ntasks=2 --output="$rlog" \
  jobs/biaslab_requeue.sbatch "$rcfg" -o "$rout" 2>"$scratch/logs/sbatch.err")
first_done() { compgen -G "$rout.ckpt/done_*" >/dev/null; }
if [ -z "$jid" ]; then
  fail "requeue job submitted"; show "$scratch/logs/sbatch.err"
elif ! until_true 60 first_done; then
  fail "requeue job $jid: no finished task within 60 s"; show "$rlog"
else
  t_signal=$(now)
  scancel --signal=USR1 --batch "$jid"
  # Done when the job has finished for good; the requeue in between passes
  # through REQUEUED and PENDING (BeginTime, cred_expire) first.
  if ! until_true 90 job_done "$jid"; then
    fail "requeue job $jid finished within 90 s of the signal (state $(job_field "$jid" JobState))"
    show "$rlog"
  else
    t_finish=$(now)
    state=$(job_field "$jid" JobState) restarts=$(job_field "$jid" Restarts) code=$(job_field "$jid" ExitCode)
    if [ "$state" = COMPLETED ] && [ "$code" = 0:0 ] && [ "${restarts:-0}" -ge 1 ]; then
      pass "job $jid requeued itself ($restarts restart) and completed"
    else
      fail "job $jid: state $state, exit $code, restarts ${restarts:-?} (want COMPLETED, 0:0, >= 1)"
      show "$rlog" 40
    fi
    if grep -q 'got SIGUSR1' "$rlog" && grep -q 'biaslab exited with 3' "$rlog" &&
      grep -q 'interrupted after' "$rlog" && grep -q 'requeueing job' "$rlog"; then
      pass "log shows the warning, the checkpoint (exit 3) and the requeue"
    else
      fail "log shows the warning, the checkpoint (exit 3) and the requeue"; show "$rlog" 40
    fi
    if grep -q 'start 2 ' "$rlog" && grep -q 'resuming' "$rlog" && grep -q 'biaslab exited with 0' "$rlog"; then
      pass "log shows the second start resuming and finishing"
    else
      fail "log shows the second start resuming and finishing"; show "$rlog" 40
    fi
  fi
fi
if $PY tests/compare_outputs.py "$scratch/out/requeue_ref.nc" "$rout" >"$scratch/logs/cmp_requeue.log" 2>&1; then
  pass "requeued and resumed = uninterrupted, bitwise"
else
  fail "requeued and resumed = uninterrupted, bitwise"; show "$scratch/logs/cmp_requeue.log"
fi
if [ ! -e "$rout.ckpt" ]; then pass "saved state removed after completion"; else fail "saved state removed after completion"; fi
t_requeue=$(now)

# --- (c) a plain scancel stays a cancel ---------------------------------------
# scancel sends SIGTERM, which the requeue script also traps; scontrol
# requeue would accept the cancelled job and bring it back.
echo "== (c) scancel of a requeue job: state saved, not requeued"
cout=$scratch/out/cancel.nc
clog=$scratch/logs/cancel.log
jid=$(sbatch --parsable --ntasks=2 --output="$clog" \
  jobs/biaslab_requeue.sbatch "$rcfg" -o "$cout" 2>"$scratch/logs/sbatch.err")
# Wait for a finished task, as in (b): biaslab writes OUT.ckpt/config.ini
# before every rank has its signal handlers, and SIGTERM then kills it.
running() { compgen -G "$cout.ckpt/done_*" >/dev/null; }
if [ -z "$jid" ]; then
  fail "cancel job submitted"; show "$scratch/logs/sbatch.err"
elif ! until_true 60 running; then
  fail "cancel job $jid: biaslab not started within 60 s"; show "$clog"
else
  scancel "$jid"
  if until_true 60 job_done "$jid" && [ "$(job_field "$jid" JobState)" = CANCELLED ] &&
    [ "$(job_field "$jid" Restarts)" = 0 ] && grep -q 'not requeueing' "$clog" &&
    compgen -G "$cout.ckpt/state_*" >/dev/null; then
    pass "scancel: job stays CANCELLED, state saved for a resubmission"
  else
    fail "scancel: job $jid $(job_field "$jid" JobState), restarts $(job_field "$jid" Restarts) (want CANCELLED, 0, saved state)"
    show "$clog"
  fi
fi
t_cancel=$(now)

# --- argument errors of the scripts (no Slurm needed) -------------------------
echo "== usage errors"
expect_2() {
  local name=$1; shift
  "$@" >"$scratch/logs/usage.log" 2>&1
  local rc=$?
  if [ "$rc" -eq 2 ]; then pass "$name"; else fail "$name (exit $rc, wanted 2)"; show "$scratch/logs/usage.log" 5; fi
}
expect_2 "merge_slices.sh without slices exits 2" postprocess/merge_slices.sh "$scratch/out/x.nc"
expect_2 "merge_slices.sh with an incomplete set exits 2" bash -c "
  cp $scratch/out/array.slice1of3.nc $scratch/out/part.slice1of3.nc &&
  postprocess/merge_slices.sh $scratch/out/part.nc $scratch/out/part"
expect_2 "biaslab_array.sbatch outside an array exits 2" bash jobs/biaslab_array.sbatch "$acfg"
expect_2 "biaslab_requeue.sbatch without a config exits 2" bash jobs/biaslab_requeue.sbatch
expect_2 "biaslab.sbatch without a config exits 2" bash jobs/biaslab.sbatch
expect_2 "biaslab.sbatch with a missing config exits 2" bash jobs/biaslab.sbatch "$scratch/nope.ini"

t_stop0=$(now)
stop_cluster
t_end=$(now)
echo "time: start slurm $(secs "$t_start" "$t_up") s; array $(secs "$t_up" "$t_array") s" \
  "(jobs $(secs "$t_up" "$t_array_jobs"), merge + reference $(secs "$t_array_jobs" "$t_array"));" \
  "requeue $(secs "$t_array" "$t_requeue") s (reference $(secs "$t_array" "$t_requeue_ref")${t_signal:+, signal after $(secs "$t_requeue_ref" "$t_signal")}${t_finish:+, signal to done $(secs "$t_signal" "$t_finish")});" \
  "cancel $(secs "$t_requeue" "$t_cancel") s; stop $(secs "$t_stop0" "$t_end") s; total $(secs "$t_start" "$t_end") s"
echo "slurm: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
