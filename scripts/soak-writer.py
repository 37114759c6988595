#!/usr/bin/env python3
"""One writer of scripts/soak.sh: writes, fsyncs, renames, deletes and makes
directories under ROOT (inside /mfs) until UNTIL (epoch seconds), and logs
to LOG (outside the mount) what the filesystem acknowledged:

  put NAME SHA      NAME was written and its fsync returned
  mv? OLD NEW       a rename began (OLD may be at either name afterwards)
  mv OLD NEW        rename and the fsync of both directories returned
  rm? NAME          a delete began (NAME may be there or not afterwards)
  rm NAME           unlink and the fsync of its directory returned
  fail OP ERROR     an operation failed while the mount was meant to be up
  stopped OP ERROR  an operation failed after the mount was killed (STOPFLAG)

Names are relative to ROOT. It stops at the first error. Each writer keeps
at most MAX_FILES files (the oldest unsynced ones, else a random synced one,
are deleted first): the tree stays the same size once full, so the mount's
memory can settle instead of following an ever larger tree.
  soak-writer.py ROOT LOG UNTIL STOPFLAG
"""
import hashlib
import os
import random
import sys
import time

SIZES = [0, 1, 100, 4096, 65536, 262144, 262145, 700000]
MAX_FILES = 100


class Writer:
    def __init__(self, root, log_path):
        self.root = root
        self.log = open(log_path, "a", buffering=1)
        self.dirs = ["."]
        self.live = []  # names logged with `put`/`mv` and not removed since
        self.unsynced = []  # names written without fsync, not logged
        self.count = 0

    def note(self, *fields):
        self.log.write(" ".join(fields) + "\n")
        self.log.flush()

    def path(self, name):
        return os.path.join(self.root, name)

    def fsync_dir(self, name):
        fd = os.open(self.path(name), os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def new_name(self, prefix):
        self.count += 1
        return os.path.normpath(os.path.join(random.choice(self.dirs), f"{prefix}{self.count}"))

    def write(self):
        name = self.new_name("f")
        data = os.urandom(random.choice(SIZES))
        synced = random.random() < 0.6
        with open(self.path(name), "wb") as f:
            f.write(data)
            if synced:
                f.flush()
                os.fsync(f.fileno())
        if synced:
            self.note("put", name, hashlib.sha256(data).hexdigest())
            self.live.append(name)
        else:
            self.unsynced.append(name)

    def rename(self):
        if not self.live:
            return
        old = self.live.pop(random.randrange(len(self.live)))
        new = self.new_name("r")
        self.note("mv?", old, new)
        os.rename(self.path(old), self.path(new))
        self.fsync_dir(os.path.dirname(old) or ".")
        self.fsync_dir(os.path.dirname(new) or ".")
        self.note("mv", old, new)
        self.live.append(new)

    def delete(self):
        if not self.live:
            return
        name = self.live.pop(random.randrange(len(self.live)))
        self.note("rm?", name)
        os.unlink(self.path(name))
        self.fsync_dir(os.path.dirname(name) or ".")
        self.note("rm", name)

    def trim(self):
        if self.unsynced:
            name = self.unsynced.pop(0)
            os.unlink(self.path(name))
            self.fsync_dir(os.path.dirname(name) or ".")
        else:
            self.delete()

    def mkdir(self):
        if len(self.dirs) >= 8:
            return
        name = self.new_name("d")
        os.mkdir(self.path(name))
        self.dirs.append(name)

    def step(self):
        if len(self.live) + len(self.unsynced) >= MAX_FILES:
            return "trim", self.trim
        r = random.random()
        if r < 0.55:
            return "write", self.write
        if r < 0.75:
            return "rename", self.rename
        if r < 0.9:
            return "delete", self.delete
        return "mkdir", self.mkdir


def main():
    root, log_path, until, stop_flag = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    writer = Writer(root, log_path)
    op = "mkdir root"
    try:
        os.makedirs(root, exist_ok=True)
        while time.time() < until:
            op, action = writer.step()
            action()
    except OSError as e:
        kind = "stopped" if os.path.exists(stop_flag) else "fail"
        writer.note(kind, op.replace(" ", "_"), repr(e).replace(" ", "_"))
        sys.exit(0 if kind == "stopped" else 1)


if __name__ == "__main__":
    main()
