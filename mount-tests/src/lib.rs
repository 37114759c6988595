//! Helpers for tests that drive the rsipfs binary: a repository in a
//! temporary directory, commands against it, a mount process, and the FUSE
//! availability check (fail under CI, skip otherwise). The CLI tests of the
//! main crate use them too.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The rsipfs binary built for this profile (cargo builds it with the tests).
pub fn rsipfs_bin() -> PathBuf {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let bin = target.join(profile).join("rsipfs");
    assert!(
        bin.exists(),
        "{} is missing: build it first (cargo build --workspace)",
        bin.display()
    );
    bin
}

/// True when this machine can mount FUSE filesystems. Under CI a missing
/// FUSE is a failure with a clear message; elsewhere the test is skipped
/// with a message.
pub fn fuse_available(test: &str) -> bool {
    let problem = if !Path::new("/dev/fuse").exists() {
        Some("/dev/fuse does not exist")
    } else if std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
        .is_err()
    {
        Some("/dev/fuse cannot be opened (are you root or in the fuse group?)")
    } else {
        None
    };
    match problem {
        None => true,
        Some(why) if std::env::var_os("CI").is_some() => {
            panic!("{test}: FUSE is unavailable under CI: {why}")
        }
        Some(why) => {
            eprintln!("SKIPPED {test}: FUSE is unavailable: {why}");
            false
        }
    }
}

/// A fresh repository plus a work directory, in one temporary directory.
pub struct Node {
    pub dir: tempfile::TempDir,
}

impl Default for Node {
    fn default() -> Self {
        Self::new()
    }
}

impl Node {
    pub fn new() -> Self {
        Self::in_dir(tempfile::tempdir().expect("tempdir"))
    }

    /// A node whose repository and work directory live in `dir`.
    pub fn in_dir(dir: tempfile::TempDir) -> Self {
        let node = Node { dir };
        std::fs::create_dir(node.work()).expect("work dir");
        // Kubo's test profile: no bootstrap peers, loopback addresses on
        // free ports, so tests run side by side and never leave the machine.
        node.ok(&["init", "--profile", "test"]);
        node
    }

    pub fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    pub fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(rsipfs_bin());
        cmd.args(args)
            .env("IPFS_PATH", self.repo())
            .current_dir(self.work());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run rsipfs")
    }

    pub fn run_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn rsipfs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
        child.wait_with_output().expect("wait")
    }

    /// Runs and asserts success; returns stdout as text.
    pub fn ok(&self, args: &[&str]) -> String {
        String::from_utf8(self.ok_bytes(args)).expect("utf-8 stdout")
    }

    pub fn ok_bytes(&self, args: &[&str]) -> Vec<u8> {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "rsipfs {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Runs and asserts failure; returns stderr as text.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "rsipfs {args:?} should fail; stdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Writes work/<name> with permissions `mode` and mtime `mtime` (seconds),
    /// then adds it with both preserved; returns the CID.
    pub fn add_with_metadata(&self, name: &str, content: &str, mode: u32, mtime: u64) -> String {
        use std::os::unix::fs::PermissionsExt;
        let path = self.work().join(name);
        std::fs::write(&path, content).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        let file = std::fs::File::options()
            .write(true)
            .open(&path)
            .expect("open");
        file.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(mtime))
            .expect("set mtime");
        self.ok(&["add", "-Q", "--preserve-mode", "--preserve-mtime", name])
            .trim()
            .to_string()
    }

    /// The file under `blocks/` that holds the block `cid` (found by its
    /// bytes, so the test needs no multihash code of its own).
    pub fn block_file(&self, cid: &str) -> PathBuf {
        let data = self.ok_bytes(&["block", "get", cid]);
        files_under(&self.repo().join("blocks"))
            .into_iter()
            .find(|path| std::fs::read(path).is_ok_and(|bytes| bytes == data))
            .unwrap_or_else(|| panic!("no block file holds {cid}"))
    }

    /// Flips one bit in the middle of block `cid`'s file; returns the file.
    pub fn damage_block(&self, cid: &str) -> PathBuf {
        let path = self.block_file(cid);
        let mut bytes = std::fs::read(&path).expect("read block file");
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x20;
        std::fs::write(&path, bytes).expect("write block file");
        path
    }

    /// Writes the shared test tree (scripts/make-test-tree.py) under work/.
    pub fn make_tree(&self, name: &str) -> PathBuf {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/make-test-tree.py");
        let tree = self.work().join(name);
        let status = Command::new("python3")
            .arg(script)
            .arg(&tree)
            .status()
            .expect("python3");
        assert!(status.success(), "make-test-tree.py failed");
        tree
    }

    /// `http://<ip>:<port>` of the API named in the repository's `api` file.
    pub fn api_url(&self) -> String {
        let multiaddr = std::fs::read_to_string(self.repo().join("api")).expect("api file");
        let parts: Vec<&str> = multiaddr.trim().split('/').collect();
        format!("http://{}:{}", parts[2], parts[4])
    }

    /// What the mount processes wrote to stderr (for failure messages).
    pub fn mount_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mount.log")).unwrap_or_default()
    }

    /// Starts `rsipfs mount` with /ipfs at <tmp>/mnt, MFS at <tmp>/mfs and
    /// /ipns at <tmp>/ipns, and waits until all answer.
    pub fn mount(&self) -> Mount {
        self.mount_with(&[])
    }

    /// `mount` with more arguments for `rsipfs mount`.
    pub fn mount_with(&self, extra: &[&str]) -> Mount {
        let point = self.dir.path().join("mnt");
        let mfs = self.dir.path().join("mfs");
        let ipns = self.dir.path().join("ipns");
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(self.dir.path().join("mount.log"))
            .expect("mount log");
        let mut args = vec![
            "mount",
            "--offline",
            "--ipfs",
            point.to_str().expect("utf-8 path"),
            "--mfs",
            mfs.to_str().expect("utf-8 path"),
            "--ipns",
            ipns.to_str().expect("utf-8 path"),
        ];
        args.extend_from_slice(extra);
        let child = self
            .cmd(&args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn rsipfs mount");
        let mount = Mount {
            point,
            mfs,
            ipns,
            child: Some(child),
            log: Some(self.dir.path().join("mount.log")),
        };
        mount.wait_ready(Duration::from_secs(20));
        mount
    }
}

pub struct Mount {
    pub point: PathBuf,
    /// The writable MFS mount.
    pub mfs: PathBuf,
    /// The /ipns mount.
    pub ipns: PathBuf,
    child: Option<Child>,
    /// Where the mount process writes its log.
    log: Option<PathBuf>,
}

impl Mount {
    pub fn path(&self, rel: &str) -> PathBuf {
        self.point.join(rel)
    }

    /// A path under the MFS mount.
    pub fn mfs_path(&self, rel: &str) -> PathBuf {
        self.mfs.join(rel)
    }

    /// A path under the /ipns mount.
    pub fn ipns_path(&self, rel: &str) -> PathBuf {
        self.ipns.join(rel)
    }

    fn wait_ready(&self, limit: Duration) {
        let start = Instant::now();
        loop {
            // A stale mount left by a killed process is listed, and the kernel
            // may still answer stat from its cache; opendir always reaches
            // the daemon, so only a mount that lists counts as ready.
            let answers = |p: &Path| is_mountpoint(p) && std::fs::read_dir(p).is_ok();
            if answers(&self.point) && answers(&self.mfs) && answers(&self.ipns) {
                return;
            }
            assert!(
                start.elapsed() < limit,
                "mount at {} not ready after {limit:?}; its log: {}",
                self.point.display(),
                self.log
                    .as_ref()
                    .and_then(|log| std::fs::read_to_string(log).ok())
                    .unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Kills the mount process without letting it unmount.
    pub fn kill_hard(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Asks the mount to stop (SIGTERM) and waits for a clean unmount.
    pub fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        for point in [&self.point, &self.mfs, &self.ipns] {
            if is_mountpoint(point) {
                let _ = Command::new("umount").arg("-l").arg(point).status();
            }
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// A small ext4 filesystem on a loop device, for tests of a full disk;
/// unmounted and removed when dropped.
pub struct SmallDisk {
    /// Holds the image file until the disk is unmounted.
    _image: tempfile::TempDir,
    mounted: PathBuf,
}

impl SmallDisk {
    pub fn new(mib: u64) -> Self {
        let image = tempfile::tempdir().expect("tempdir");
        let file = image.path().join("disk.img");
        std::fs::File::create(&file)
            .and_then(|f| f.set_len(mib << 20))
            .expect("disk image");
        let status = Command::new("mkfs.ext4")
            .args(["-q", "-F", "-m", "0"])
            .arg(&file)
            .status()
            .expect("run mkfs.ext4");
        assert!(status.success(), "mkfs.ext4 failed");
        let mounted = image.path().join("mnt");
        std::fs::create_dir(&mounted).expect("mount point");
        let status = Command::new("mount")
            .args(["-o", "loop"])
            .arg(&file)
            .arg(&mounted)
            .status()
            .expect("run mount");
        assert!(status.success(), "mounting the disk image failed");
        SmallDisk {
            _image: image,
            mounted,
        }
    }

    /// Where the small disk is mounted.
    pub fn root(&self) -> &Path {
        &self.mounted
    }

    /// A fresh directory on the small disk, for `Node::in_dir`.
    pub fn tempdir(&self) -> tempfile::TempDir {
        tempfile::tempdir_in(&self.mounted).expect("tempdir on the small disk")
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.mounted).status();
    }
}

/// True when `path` is the root of a mounted filesystem (per /proc/self/mountinfo).
pub fn is_mountpoint(path: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let Ok(canonical) = path.canonicalize() else {
        return false;
    };
    let wanted = canonical.to_string_lossy().replace(' ', "\\040");
    info.lines()
        .any(|line| line.split(' ').nth(4) == Some(wanted.as_str()))
}

/// Every regular file under `dir`, hidden ones included.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => out.extend(files_under(&path)),
            Ok(t) if t.is_file() => out.push(path),
            _ => {}
        }
    }
    out
}

/// `len` pseudo-random bytes (xorshift64) from `seed`: no two chunks of a
/// file made of them are alike, so each is a block of its own.
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect()
}
