//! `files stat` text as Kubo prints it, and its `--format` tokens.

use rsipfs::codec::cid_string;
use rsipfs::codec::unixfs_pb::UnixTime;
use rsipfs::mfs::Stat;
use rsipfs::unixfs::node::Kind;

pub const DEFAULT_FORMAT: &str = "<hash>\nSize: <size>\nCumulativeSize: <cumulsize>\nChildBlocks: <childs>\nType: <type>\nMode: <mode> (<mode-octal>)\nMtime: <mtime>";

pub fn render(format: &str, stat: &Stat) -> String {
    let kind = if stat.kind.is_dir() {
        "directory"
    } else {
        "file"
    };
    let (mode, octal) = match stat.mode {
        Some(mode) => (
            mode_string(stat.kind, mode),
            format!("{:04o}", mode & 0o7777),
        ),
        None => ("not set".to_string(), "not set".to_string()),
    };
    let (mtime, secs, nsecs) = match stat.mtime {
        Some(t) => (date(t), t.seconds.to_string(), t.nanos.to_string()),
        None => ("not set".to_string(), "0".to_string(), "0".to_string()),
    };
    format
        .replace("<hash>", &cid_string(&stat.cid))
        .replace("<size>", &stat.size.to_string())
        .replace("<cumulsize>", &stat.cumulative_size.to_string())
        .replace("<childs>", &stat.child_blocks.to_string())
        .replace("<type>", kind)
        .replace("<mode-octal>", &octal)
        .replace("<mode>", &mode)
        .replace("<mtime-secs>", &secs)
        .replace("<mtime-nsecs>", &nsecs)
        .replace("<mtime>", &mtime)
}

/// Go's FileMode text: type letter, then rwx triplets.
fn mode_string(kind: Kind, mode: u32) -> String {
    let mut out = String::from(match kind {
        Kind::Directory | Kind::HamtShard => "d",
        Kind::Symlink => "L",
        _ => "-",
    });
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        out.push(if bits & 4 != 0 { 'r' } else { '-' });
        out.push(if bits & 2 != 0 { 'w' } else { '-' });
        out.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    out
}

/// "2 Jan 2006, 15:04:05 UTC" for a UnixFS mtime.
fn date(t: UnixTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (year, month, day, secs) = civil(t.seconds);
    format!(
        "{day} {} {year}, {:02}:{:02}:{:02} UTC",
        MONTHS[(month - 1) as usize],
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Year, month, day and seconds into the day (UTC) of a Unix time.
pub fn civil(seconds: i64) -> (i64, i64, i64, i64) {
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_modes_read_like_kubo() {
        assert_eq!(
            date(UnixTime {
                seconds: 1_136_214_245,
                nanos: 0
            }),
            "2 Jan 2006, 15:04:05 UTC"
        );
        assert_eq!(
            date(UnixTime {
                seconds: 0,
                nanos: 0
            }),
            "1 Jan 1970, 00:00:00 UTC"
        );
        assert_eq!(
            date(UnixTime {
                seconds: 951_782_400,
                nanos: 0
            }),
            "29 Feb 2000, 00:00:00 UTC"
        );
        assert_eq!(mode_string(Kind::File, 0o644), "-rw-r--r--");
        assert_eq!(mode_string(Kind::Directory, 0o755), "drwxr-xr-x");
    }
}
