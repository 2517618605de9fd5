#!/bin/bash
# parallel-sshlogin.sh - runs a luaworkq job as N shards on other machines
# with GNU parallel over ssh, then merges them into one output on stdout.
#
#   parallel-sshlogin.sh HOSTS N job.lua items.txt [OPTION...] > out.json
#
# HOSTS is a GNU parallel --sshlogin list, such as "node1,node2,node3"
# (":" is this machine). Run it from a directory that every host sees at the
# same path (NFS or alike), holding the job and the items; the journals go to
# parts/ there. Each host needs luaworkq on the PATH of its ssh commands (or
# set LUAWORKQ to its path) and runs one shard at a time, on all its cores.
#
# A shard that fails (its host went down, say) is run again, on any host, up
# to 3 times; it resumes from its journal. Rerunning this whole command after
# a failure also resumes every shard.
set -euo pipefail

hosts=$1 n=$2 job=$3 items=$4
shift 4
lw=${LUAWORKQ:-luaworkq}
mkdir -p parts

# The words of the remote command, quoted for the remote shell; {} is the
# shard number. Shards write no output of their own: the merge does.
cmd="$(printf '%q ' "$lw" "$@" --shard){}/$n --journal parts/part-{} \
$(printf '%q ' "$job" "$items")>/dev/null"
parallel --will-cite --sshlogin "$hosts" --jobs 1 --retries 3 --workdir "$PWD" \
  "$cmd" ::: $(seq "$n")

exec "$lw" "$@" --merge "$job" $(seq -f 'parts/part-%g' "$n")
