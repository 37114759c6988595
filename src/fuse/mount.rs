//! Mounting and unmounting: options, stale-mount recovery, the session.

use std::path::Path;
use std::sync::Arc;

use fuser::{BackgroundSession, Config, MountOption, SessionACL};

use super::{IpfsFuse, MfsFuse};
use crate::fs::ipfs::IpfsFs;
use crate::fs::ipns::IpnsFs;
use crate::fs::mfs::MfsFs;
use crate::fs::writable::WritableFs;

#[derive(Debug, thiserror::Error)]
pub enum MountError {
    #[error("cannot create mount point {path}: {source}")]
    CreateMountPoint {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "cannot mount at {path}: {source} (is /dev/fuse available, and are you root or in the fuse group?)"
    )]
    Mount {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Clone, Debug)]
pub struct MountOptions {
    /// Kernel requests served at once.
    pub threads: usize,
    /// Let other users than the mounting one read the mount.
    pub allow_other: bool,
    /// Where kernel requests are counted.
    pub metrics: Option<crate::metrics::FuseMetrics>,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            threads: 4,
            allow_other: false,
            metrics: None,
        }
    }
}

/// A mount left behind by a killed process answers every call with
/// ENOTCONN; detach it so the path can be mounted again. Returns whether
/// one was found.
pub fn detach_stale_mount(path: &Path) -> bool {
    // stat may be answered from the kernel's attribute cache; opendir always
    // goes to the (dead) daemon.
    match std::fs::read_dir(path) {
        Err(err) if err.raw_os_error() == Some(libc::ENOTCONN) => {
            tracing::warn!("detaching the stale mount at {}", path.display());
            detach(path)
        }
        _ => false,
    }
}

/// Unmounts a session; a mount still in use (a process holds a file open)
/// is detached lazily instead, so the path is free at once either way.
pub fn unmount(session: BackgroundSession, mountpoint: &Path) {
    if let Err(err) = session.umount_and_join() {
        tracing::warn!(
            "unmounting {}: {err}; detaching it lazily",
            mountpoint.display()
        );
        detach(mountpoint);
    }
}

/// MNT_DETACH: the mount disappears now and goes away once unused.
pub fn detach(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: c_path is a valid NUL-terminated string for the duration of the call.
    unsafe { libc::umount2(c_path.as_ptr(), libc::MNT_DETACH) == 0 }
}

/// Mounts the read-only /ipfs tree at `mountpoint` (created if missing) and
/// serves it on background threads until the session is dropped.
pub fn mount_ipfs(
    fs: Arc<IpfsFs>,
    mountpoint: &Path,
    opts: &MountOptions,
) -> Result<BackgroundSession, MountError> {
    prepare(mountpoint)?;
    let mut config = session_config(opts);
    config.mount_options = vec![
        MountOption::RO,
        MountOption::FSName("rsipfs".into()),
        MountOption::Subtype("rsipfs".into()),
        MountOption::NoAtime,
        MountOption::NoDev,
        MountOption::NoSuid,
    ];
    fuser::spawn_mount(
        IpfsFuse::new(fs).with_metrics(opts.metrics.clone()),
        mountpoint,
        &config,
    )
    .map_err(|source| MountError::Mount {
        path: mountpoint.display().to_string(),
        source,
    })
}

fn session_config(opts: &MountOptions) -> Config {
    let mut config = Config::default();
    if opts.allow_other {
        config.acl = SessionACL::All;
    }
    config.n_threads = Some(opts.threads.max(1));
    config.clone_fd = true;
    config
}

fn prepare(mountpoint: &Path) -> Result<(), MountError> {
    detach_stale_mount(mountpoint);
    std::fs::create_dir_all(mountpoint).map_err(|source| MountError::CreateMountPoint {
        path: mountpoint.display().to_string(),
        source,
    })
}

/// Mounts the writable MFS tree at `mountpoint`. The kernel checks
/// permissions against the attributes MFS keeps (`default_permissions`).
/// `space_from` is the directory whose disk `statfs` reports.
pub fn mount_mfs(
    fs: Arc<MfsFs>,
    mountpoint: &Path,
    space_from: &Path,
    opts: &MountOptions,
) -> Result<BackgroundSession, MountError> {
    mount_writable(fs, mountpoint, space_from, opts, "rsipfs-mfs", &[])
}

/// Mounts the /ipns tree at `mountpoint`: names resolved on lookup, our
/// own writable. Permissions are checked by the kernel against the
/// attributes shown (`default_permissions`).
pub fn mount_ipns(
    fs: Arc<IpnsFs>,
    mountpoint: &Path,
    space_from: &Path,
    opts: &MountOptions,
) -> Result<BackgroundSession, MountError> {
    mount_writable(
        fs,
        mountpoint,
        space_from,
        opts,
        "rsipfs-ipns",
        &[MountOption::NoAtime],
    )
}

/// Mounts a writable tree read-write, permissions checked by the kernel
/// (`default_permissions`); `extra` options come after the common ones.
fn mount_writable<F: WritableFs>(
    fs: Arc<F>,
    mountpoint: &Path,
    space_from: &Path,
    opts: &MountOptions,
    fs_name: &str,
    extra: &[MountOption],
) -> Result<BackgroundSession, MountError> {
    prepare(mountpoint)?;
    let mut config = session_config(opts);
    config.mount_options = vec![
        MountOption::RW,
        MountOption::FSName(fs_name.into()),
        MountOption::Subtype("rsipfs".into()),
        MountOption::DefaultPermissions,
    ];
    config.mount_options.extend_from_slice(extra);
    config
        .mount_options
        .extend([MountOption::NoDev, MountOption::NoSuid]);
    fuser::spawn_mount(
        MfsFuse::new(fs, space_from).with_metrics(opts.metrics.clone()),
        mountpoint,
        &config,
    )
    .map_err(|source| MountError::Mount {
        path: mountpoint.display().to_string(),
        source,
    })
}
