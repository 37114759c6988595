//! IPNS records: the spec's six vectors, records made and validated here,
//! and damaged records refused.

mod common;

use std::time::{Duration, SystemTime};

use libp2p_identity::Keypair;
use rsipfs::ipns::record::{NewRecord, RecordError};
use rsipfs::ipns::{Name, Record};

/// The spec's vectors: (case, the value it points to, whether it must
/// validate), as fixtures/INDEX.md tabulates them.
const VECTORS: [(&str, &str, bool); 6] = [
    ("v1", "/ipfs/bafkqadtwgeww63tmpeqhezldn5zgi", false),
    ("v1-v2", "/ipfs/bafkqaddwgevxmmraojswg33smq", true),
    (
        "v1-v2-broken-v1-value",
        "/ipfs/bafkqahtwgevxmmraojswg33smqqho2lunaqge4tpnnsw4idwmfwhkzi",
        false,
    ),
    (
        "v1-v2-broken-signature-v1",
        "/ipfs/bafkqahtwgevxmmrao5uxi2bamjzg623fnyqhg2lhnzqxi5lsmuqhmmi",
        true,
    ),
    (
        "v1-v2-broken-signature-v2",
        "/ipfs/bafkqahtwgevxmmrao5uxi2bamjzg623fnyqhg2lhnzqxi5lsmuqhmmq",
        false,
    ),
    ("v2", "/ipfs/bafkqadtwgiww63tmpeqhezldn5zgi", true),
];

fn vector(case: &str) -> (Name, Vec<u8>) {
    let dir = common::fixture("ipns_records");
    let suffix = format!("_{case}.ipns-record");
    let entry = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .find(|p| p.file_name().unwrap().to_str().unwrap().ends_with(&suffix))
        .unwrap_or_else(|| panic!("no vector {case}"));
    let file = entry.file_name().unwrap().to_str().unwrap();
    let name = Name::parse(&file[..file.len() - suffix.len()]).expect("name");
    (name, std::fs::read(&entry).expect("read vector"))
}

#[test]
fn the_six_spec_vectors_are_judged_as_the_spec_says() {
    for (case, value, valid) in VECTORS {
        let (name, bytes) = vector(case);
        let judged = Record::validate(&bytes, &name, SystemTime::now());
        assert_eq!(judged.is_ok(), valid, "{case}: {judged:?}");
        if let Ok(record) = judged {
            assert_eq!(record.value_text(), value, "{case}");
            // Written back byte for byte.
            assert_eq!(record.to_bytes(), bytes, "{case}");
        }
        // What the record says can be read even when it is refused.
        let read = Record::decode(&bytes).expect("decodes");
        if case != "v1-v2-broken-v1-value" {
            assert_eq!(read.value_text(), value, "{case}");
        }
    }
    let refused = |case| Record::validate(&vector(case).1, &vector(case).0, SystemTime::now());
    assert_eq!(refused("v1"), Err(RecordError::NoSignatureV2));
    assert_eq!(
        refused("v1-v2-broken-v1-value"),
        Err(RecordError::Mismatch("value"))
    );
    assert_eq!(
        refused("v1-v2-broken-signature-v2"),
        Err(RecordError::BadSignature)
    );
}

#[test]
fn a_vector_is_refused_for_another_name() {
    let (_, bytes) = vector("v2");
    let (other, _) = vector("v1-v2");
    assert_eq!(
        Record::validate(&bytes, &other, SystemTime::now()),
        Err(RecordError::BadSignature)
    );
}

fn new_record(value: &str, sequence: u64, v1_compat: bool) -> NewRecord<'_> {
    NewRecord {
        value,
        sequence,
        eol: SystemTime::now() + Duration::from_secs(48 * 3600),
        ttl: Duration::from_secs(300),
        v1_compat,
    }
}

/// A 2048-bit RSA key made by openssl (libp2p cannot make RSA keys).
fn rsa_key() -> Keypair {
    let out = std::process::Command::new("sh")
        .args([
            "-c",
            "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
             | openssl pkcs8 -topk8 -nocrypt -outform DER",
        ])
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut der = out.stdout;
    Keypair::rsa_from_pkcs8(&mut der).expect("an RSA key")
}

#[test]
fn records_made_here_validate_here_for_ed25519_and_rsa() {
    for key in [Keypair::generate_ed25519(), rsa_key()] {
        let name = Name::of_key(&key.public());
        let is_rsa = name.inlined_key().is_none();
        for (sequence, v1_compat) in [(0, true), (1, false), (u64::MAX, true)] {
            let made = Record::create(&key, &new_record("/ipfs/bafkqaaa", sequence, v1_compat))
                .expect("signed");
            let bytes = made.to_bytes();
            let read = Record::validate(&bytes, &name, SystemTime::now()).expect("valid");
            assert_eq!(read, made);
            assert_eq!(read.sequence, sequence);
            assert_eq!(read.ttl, Duration::from_secs(300));
            assert_eq!(read.has_v1(), v1_compat);
            assert_eq!(
                read.embedded_key().is_some(),
                is_rsa,
                "RSA keys are embedded"
            );
            // Another key's name: refused.
            let stranger = Name::of_key(&Keypair::generate_ed25519().public());
            assert!(Record::validate(&bytes, &stranger, SystemTime::now()).is_err());
            // Past its end of life: refused.
            let later = SystemTime::now() + Duration::from_secs(49 * 3600);
            assert!(matches!(
                Record::validate(&bytes, &name, later),
                Err(RecordError::Expired(_))
            ));
        }
    }
}

#[test]
fn the_better_record_is_v2_then_higher_sequence_then_later_eol() {
    let key = Keypair::generate_ed25519();
    let make = |sequence, hours: u64| {
        Record::create(
            &key,
            &NewRecord {
                eol: SystemTime::now() + Duration::from_secs(hours * 3600),
                ..new_record("/ipfs/bafkqaaa", sequence, true)
            },
        )
        .unwrap()
    };
    assert!(make(2, 1).better_than(&make(1, 48)));
    assert!(make(1, 48).better_than(&make(1, 1)));
    assert!(!make(1, 1).better_than(&make(1, 1)));
    let (_, v1_only) = vector("v1");
    let v1_only = Record::decode(&v1_only).unwrap();
    assert!(make(0, 1).better_than(&v1_only));
}

/// Every damaged form of a valid record is refused, none panics.
#[test]
fn damaged_records_are_refused_without_panics() {
    let key = Keypair::generate_ed25519();
    let name = Name::of_key(&key.public());
    // V2 only: a V1 signature is not checked when V2 is there, so a flip
    // in it would rightly still validate.
    let bytes = Record::create(&key, &new_record("/ipfs/bafkqaaa", 7, false))
        .unwrap()
        .to_bytes();
    let now = SystemTime::now();
    for cut in 0..bytes.len() {
        assert!(
            Record::validate(&bytes[..cut], &name, now).is_err(),
            "cut at {cut}"
        );
    }
    for at in 0..bytes.len() {
        for bit in 0..8 {
            let mut flipped = bytes.clone();
            flipped[at] ^= 1 << bit;
            if let Ok(record) = Record::validate(&flipped, &name, now) {
                panic!("flip at {at}.{bit} still valid: {record:?}");
            }
        }
    }
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for len in [0usize, 1, 2, 16, 200, 2000] {
        for _ in 0..200 {
            let noise: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            assert!(Record::validate(&noise, &name, now).is_err());
            let _ = Record::decode(&noise);
        }
    }
    assert_eq!(
        Record::validate(&vec![0u8; 10 * 1024 + 1], &name, now),
        Err(RecordError::TooLarge(10 * 1024 + 1))
    );
}

#[test]
fn name_inspect_shows_a_record_and_judges_it() {
    let inspect = |args: &[&str], stdin: &[u8]| {
        let mut child = std::process::Command::new(mount_tests::rsipfs_bin())
            .arg("name")
            .arg("inspect")
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("rsipfs runs");
        use std::io::Write;
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (name, bytes) = vector("v2");
    let (ok, out, _) = inspect(&[], &bytes);
    assert!(ok);
    assert!(
        out.contains("Value:          \"/ipfs/bafkqadtwgiww63tmpeqhezldn5zgi\""),
        "{out}"
    );
    assert!(out.contains("TTL:            30m0s"), "{out}");
    assert!(
        out.contains(&format!("Protobuf Size:  {}", bytes.len())),
        "{out}"
    );
    assert!(out.contains("Signature Type: V2"), "{out}");
    assert!(out.contains("This record was not verified."), "{out}");

    let (ok, out, _) = inspect(&["--verify", &format!("/ipns/{name}")], &bytes);
    assert!(ok);
    assert!(out.contains(" Valid: true"), "{out}");
    assert!(out.contains(&format!(" Name:  {name}")), "{out}");

    let (v1_name, v1) = vector("v1");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("record");
    std::fs::write(&file, &v1).unwrap();
    let (ok, out, _) = inspect(
        &["--verify", &v1_name.to_string(), file.to_str().unwrap()],
        b"",
    );
    assert!(ok);
    assert!(out.contains(" Valid:  false"), "{out}");
    assert!(out.contains("no V2 signature"), "{out}");

    let (ok, _, err) = inspect(&[], b"\xff\xff not a record");
    assert!(!ok);
    assert!(err.contains("not an IpnsEntry protobuf"), "{err}");
    let (ok, _, err) = inspect(&["--verify", "../etc"], &bytes);
    assert!(!ok);
    assert!(err.contains("is not an IPNS name"), "{err}");
}
