#!/usr/bin/env python3
"""Checks what soak-writer.py logged against the remounted /mfs: every file
whose fsync (and, for a rename or delete, the directory fsyncs) returned is
there with its sha256; an operation cut short by the kill may have happened
or not. Prints one line per writer log; exit status 1 if any failed.
  soak-check.py MFS_DIR LOG...   (each LOG is <name>.log for MFS_DIR/soak/<name>)
"""
import hashlib
import os
import sys


def replay(log_path):
    """The expected state: name -> sha for settled files, and the one
    operation (if any) the kill cut short, plus writer failures."""
    files, pending, failures = {}, None, []
    for line in open(log_path):
        f = line.split()
        if not f:
            continue
        kind = f[0]
        if kind == "put":
            files[f[1]] = f[2]
        elif kind == "mv?":
            pending = ("mv", f[1], f[2], files[f[1]])
        elif kind == "mv":
            files[f[2]] = files.pop(f[1])
            pending = None
        elif kind == "rm?":
            pending = ("rm", f[1], None, files[f[1]])
        elif kind == "rm":
            del files[f[1]]
            pending = None
        elif kind == "fail":
            failures.append(" ".join(f[1:]))
    if pending:
        files.pop(pending[1], None)
    return files, pending, failures


def sha_of(path):
    """The file's sha256, None when it is missing, or the read error."""
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except FileNotFoundError:
        return None
    except OSError as e:
        return f"unreadable ({e.strerror})"


def check(root, log_path):
    files, pending, failures = replay(log_path)
    problems = [f"writer error before the kill: {x}" for x in failures]
    for name, sha in sorted(files.items()):
        got = sha_of(os.path.join(root, name))
        if got != sha:
            what = "missing" if got is None else got if got.startswith("unreadable") else "sha256 differs"
            problems.append(f"{name}: {what}")
    if pending:
        op, old, new, sha = pending
        at_old = sha_of(os.path.join(root, old))
        at_new = sha_of(os.path.join(root, new)) if new else None
        ok = (at_old == sha) != (at_new == sha) if op == "mv" else at_old in (None, sha)
        if not ok:
            problems.append(f"interrupted {op} {old} {new or ''}: old {at_old}, new {at_new}")
    return len(files), pending, problems


def main():
    mfs, logs = sys.argv[1], sys.argv[2:]
    failed = 0
    for log_path in logs:
        name = os.path.basename(log_path)[: -len(".log")]
        count, pending, problems = check(os.path.join(mfs, "soak", name), log_path)
        cut = f", 1 interrupted {pending[0]}" if pending else ""
        if problems:
            failed += 1
            print(f"FAIL writer {name}: {len(problems)} of {count} fsynced files wrong{cut}: "
                  + "; ".join(problems[:5]))
        else:
            print(f"PASS writer {name}: {count} fsynced files read back{cut}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
