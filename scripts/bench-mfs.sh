#!/usr/bin/env bash
# The writable /mfs mount against its references, in one run:
#  1. cp of a random file into /mfs (then fsync) vs our own `add` of it
#     (which also ends durable). Bar: cp >= 0.9x add.
#  2. tar x of FILES small files into /mfs, then sync, vs the same tar x
#     and sync onto the repository's own filesystem (ext4 here), and into
#     tmpfs for scale. Bar: >= 1x the repository's filesystem.
#  3. git clone of a local repository of GIT_FILES files into /mfs, then
#     git status, vs the same on the repository's filesystem. Bar: <= 2x
#     its time.
# Medians of three runs each; fresh repositories for every run.
#   scripts/bench-mfs.sh [SIZE_MIB] [FILES] [GIT_FILES]
#                        (defaults 1024, 10000, 5000)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-1024}
FILES=${2:-10000}
GIT_FILES=${3:-5000}

cargo build --release --quiet
BIN=$PWD/target/release/rsipfs
WORK=$(mktemp -d /var/tmp/rsipfs-bench-mfs.XXXXXX)
PID=
cleanup() {
    if [ -n "$PID" ]; then kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    for m in "$WORK"/*/mfs "$WORK"/*/ipfs "$WORK/tmpfs"; do umount -l "$m" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

settle() { sync; sleep 3; }
median() { sort -n | sed -n 2p; }
now() { date +%s.%N; }
rate() { python3 -c "print('%.1f' % ($1 / ($3 - $2)))"; }

mount_run() { # dir
    export IPFS_PATH=$1/repo
    "$BIN" init --profile test > /dev/null
    "$BIN" mount --offline --ipfs "$1/ipfs" --mfs "$1/mfs" --no-ipns 2>"$1/mount.log" &
    PID=$!
    for _ in $(seq 100); do mountpoint -q "$1/mfs" && return; sleep 0.1; done
    cat "$1/mount.log"; echo "mount failed" >&2; exit 1
}
unmount_run() { kill -TERM "$PID"; wait "$PID"; PID=; }

echo "input: $SIZE_MIB MiB of random bytes; $FILES small files in a tarball"
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom > "$WORK/input.bin"
python3 - "$WORK/small" "$FILES" <<'PY'
import os, sys, random
root, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
for i in range(n):
    d = os.path.join(root, f"d{i // 500:03}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:05}.txt"), "wb") as f:
        f.write(rng.randbytes(rng.randint(100, 8000)))
PY
tar cf "$WORK/small.tar" -C "$WORK" small
# A repository of GIT_FILES files in one commit, to clone.
python3 - "$WORK/gitsrc" "$GIT_FILES" <<'PY'
import os, sys, random
root, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(11)
for i in range(n):
    d = os.path.join(root, f"src{i // 100:03}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"m{i:05}.c"), "w") as f:
        f.write("".join(f"int f{i}_{j}(void) {{ return {rng.randint(0, 1 << 30)}; }}\n"
                        for j in range(rng.randint(5, 60))))
PY
git init -q "$WORK/gitsrc"
git -C "$WORK/gitsrc" add -A
git -C "$WORK/gitsrc" -c user.name=bench -c user.email=bench@localhost commit -qm files

# clone_and_status DIR: seconds for git clone into DIR/repo, then git status.
clone_and_status() {
    local start end
    start=$(now)
    git clone -q --no-hardlinks "$WORK/gitsrc" "$1/repo"
    git -C "$1/repo" status --porcelain > "$1/status.txt"
    end=$(now)
    [ ! -s "$1/status.txt" ] || { echo "git status in $1: not clean" >&2; exit 1; }
    python3 -c "print('%.2f' % ($end - $start))"
}

add_runs=(); cp_runs=(); tar_runs=(); tmpfs_runs=(); ext4_runs=(); git_runs=(); git_ext4_runs=()
for run in 1 2 3; do
    export IPFS_PATH=$WORK/add$run/repo
    mkdir -p "$WORK/add$run"
    "$BIN" init --profile test > /dev/null
    settle
    start=$(now); add_cid=$("$BIN" add -Q "$WORK/input.bin"); end=$(now)
    add_runs+=("$(rate "$SIZE_MIB" "$start" "$end")")

    mkdir -p "$WORK/cp$run"
    mount_run "$WORK/cp$run"
    settle
    start=$(now)
    cp "$WORK/input.bin" "$WORK/cp$run/mfs/input.bin"
    sync "$WORK/cp$run/mfs/input.bin"
    end=$(now)
    cp_runs+=("$(rate "$SIZE_MIB" "$start" "$end")")
    cp_cid=$(python3 -c "import os,sys; print(os.getxattr(sys.argv[1], 'user.ipfs.cid').decode())" "$WORK/cp$run/mfs/input.bin")
    [ "$cp_cid" = "$add_cid" ] || { echo "CID MISMATCH: cp $cp_cid, add $add_cid" >&2; exit 1; }

    settle
    start=$(now)
    tar xf "$WORK/small.tar" -C "$WORK/cp$run/mfs"
    sync "$WORK/cp$run/mfs"
    end=$(now)
    tar_runs+=("$(rate "$FILES" "$start" "$end")")

    settle
    git_runs+=("$(clone_and_status "$WORK/cp$run/mfs")")
    unmount_run

    # The same onto the repository's filesystem, made durable there.
    mkdir -p "$WORK/ext4-$run"
    settle
    start=$(now)
    tar xf "$WORK/small.tar" -C "$WORK/ext4-$run"
    sync -f "$WORK/ext4-$run"
    end=$(now)
    ext4_runs+=("$(rate "$FILES" "$start" "$end")")
    settle
    git_ext4_runs+=("$(clone_and_status "$WORK/ext4-$run")")

    mkdir -p "$WORK/tmpfs"
    mount -t tmpfs -o size=2g tmpfs "$WORK/tmpfs"
    start=$(now); tar xf "$WORK/small.tar" -C "$WORK/tmpfs"; end=$(now)
    tmpfs_runs+=("$(rate "$FILES" "$start" "$end")")
    umount "$WORK/tmpfs"
done

add=$(printf '%s\n' "${add_runs[@]}" | median)
cp=$(printf '%s\n' "${cp_runs[@]}" | median)
tar=$(printf '%s\n' "${tar_runs[@]}" | median)
tmpfs=$(printf '%s\n' "${tmpfs_runs[@]}" | median)
ext4=$(printf '%s\n' "${ext4_runs[@]}" | median)
git_mfs=$(printf '%s\n' "${git_runs[@]}" | median)
git_ext4=$(printf '%s\n' "${git_ext4_runs[@]}" | median)
fs=$(stat -f -c %T "$WORK")
echo "cid:            $add_cid (cp into /mfs gives the same)"
echo "rsipfs add:     $add MiB/s (median of ${add_runs[*]})"
echo "cp into /mfs:   $cp MiB/s (median of ${cp_runs[*]})"
echo "ratio cp/add:   $(python3 -c "print('%.2f' % ($cp / $add))")x (bar: 0.9x)"
echo "tar x to tmpfs: $tmpfs files/s (median of ${tmpfs_runs[*]})"
echo "tar x + sync to $fs: $ext4 files/s (median of ${ext4_runs[*]})"
echo "tar x + sync to /mfs:  $tar files/s (median of ${tar_runs[*]})"
echo "ratio tar x:    $(python3 -c "print('%.2f' % ($tar / $ext4))")x $fs (bar: 1x), $(python3 -c "print('%.2f' % ($tar / $tmpfs))")x tmpfs"
echo "git clone + status of $GIT_FILES files: $fs $git_ext4 s (median of ${git_ext4_runs[*]}), /mfs $git_mfs s (median of ${git_runs[*]})"
echo "ratio git:      $(python3 -c "print('%.2f' % ($git_mfs / $git_ext4))")x $fs's time (bar: at most 2x)"
