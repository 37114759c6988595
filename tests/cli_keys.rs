//! `rsipfs key`: the IPNS keystore from the command line.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::Node;

#[test]
fn keys_are_made_listed_moved_exported_and_imported() {
    let node = Node::new();
    let site = node.ok(&["key", "gen", "site"]).trim().to_string();
    assert!(site.starts_with("k51"), "{site}");
    // Kubo's layout: key_ + lowercase base32 of the name, owner-only.
    let file = node.repo().join("keystore/key_onuxizi");
    let mode = std::fs::metadata(&file)
        .expect("key file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(
        node.fails(&["key", "gen", "site"])
            .contains("already exists")
    );

    let listed = node.ok(&["key", "list", "-l"]);
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert!(lines[0].ends_with(" self"), "{listed}");
    assert_eq!(lines[1], format!("{site} site"));
    assert_eq!(node.ok(&["key", "list"]), "self\nsite\n");

    let exported = node.work().join("site.key");
    node.ok(&["key", "export", "site", "-o", exported.to_str().unwrap()]);
    let mode = std::fs::metadata(&exported)
        .expect("exported")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(
        node.fails(&["key", "export", "site", "-o", exported.to_str().unwrap()])
            .contains("exists")
    );
    let other = Node::new();
    let imported = other.ok(&["key", "import", "mine", exported.to_str().unwrap()]);
    assert_eq!(imported.trim(), site, "the same key, the same name");

    assert_eq!(
        node.ok(&["key", "rename", "site", "www"]),
        format!("Key {site} renamed to www\n")
    );
    assert_eq!(
        node.ok(&["key", "rm", "-l", "www"]),
        format!("{site} www\n")
    );
    assert_eq!(node.ok(&["key", "list"]), "self\n");
    assert!(node.fails(&["key", "rm", "www"]).contains("no key named"));
}

#[test]
fn bad_key_names_and_files_are_refused() {
    let node = Node::new();
    for bad in ["../escape", "a/b", ".hidden", ""] {
        let stderr = node.fails(&["key", "gen", bad]);
        assert!(stderr.contains("not allowed"), "{bad:?}: {stderr}");
    }
    assert!(node.fails(&["key", "rm", "self"]).contains("identity"));
    for (args, why) in [
        (&["--type", "rsa", "--size", "1024"][..], ">= 2048 bits"),
        (&["--type", "rsa", "--size", "8192"][..], "<= 4096 bits"),
        (
            &["--type", "ed25519", "--size", "2048"][..],
            "always 256 bits",
        ),
        (&["--type", "dsa"][..], "unrecognized key type"),
    ] {
        let mut all = vec!["key", "gen", "k"];
        all.extend(args);
        let stderr = node.fails(&all);
        assert!(stderr.contains(why), "{args:?}: {stderr}");
    }
    assert!(
        node.fails(&["key", "gen", "self"])
            .contains("cannot create key with name 'self'")
    );
    assert!(
        node.fails(&["key", "export", "self"])
            .contains("cannot export key with name 'self'")
    );
    let junk = node.work().join("junk.key");
    std::fs::write(&junk, b"not a key").unwrap();
    let stderr = node.fails(&["key", "import", "junk", junk.to_str().unwrap()]);
    assert!(stderr.contains("not a libp2p private key"), "{stderr}");
    assert_eq!(node.ok(&["key", "list"]), "self\n");
    assert!(
        !node
            .repo()
            .join("keystore")
            .join("..")
            .join("escape")
            .exists()
    );
}

/// The first bytes of `path`.
fn head(path: &std::path::Path, n: usize) -> Vec<u8> {
    std::fs::read(path).expect("file")[..n].to_vec()
}

#[test]
fn rsa_keys_are_made_in_kubos_form_moved_and_sign_records() {
    let node = Node::new();
    let id = node
        .ok(&["key", "gen", "old", "--type", "rsa"])
        .trim()
        .to_string();
    // An RSA key is too big to inline: its name is the CID of its hash.
    assert!(id.starts_with("k2k4r8"), "{id}");
    // keystore/key_<base32 "old">: libp2p PrivateKey, Type RSA (0) written
    // out as Go writes it, Data PKCS#1 DER.
    let file = node.repo().join("keystore/key_n5wgi");
    assert_eq!(head(&file, 3), [0x08, 0x00, 0x12]);
    let listed = node.ok(&["key", "list", "-l"]);
    assert!(listed.contains(&format!("{id} old\n")), "{listed}");
    let peer_id = node.ok(&["key", "list", "-l", "--ipns-base", "b58mh"]);
    assert!(peer_id.contains("\nQm"), "RSA peer IDs are Qm…: {peer_id}");

    // Moved to another node as protobuf and as PEM PKCS#8 (OpenSSL reads it).
    let protobuf = node.work().join("old.key");
    let pem = node.work().join("old.pem");
    node.ok(&["key", "export", "old", "-o", protobuf.to_str().unwrap()]);
    assert_eq!(
        std::fs::read(&protobuf).unwrap(),
        std::fs::read(&file).unwrap()
    );
    node.ok(&[
        "key",
        "export",
        "old",
        "-f",
        "pem-pkcs8-cleartext",
        "-o",
        pem.to_str().unwrap(),
    ]);
    assert!(
        std::fs::read_to_string(&pem)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----\n")
    );
    let checked = std::process::Command::new("openssl")
        .args(["pkey", "-noout", "-check", "-in"])
        .arg(&pem)
        .output()
        .expect("openssl");
    assert!(checked.status.success(), "{checked:?}");
    let other = Node::new();
    assert_eq!(
        other
            .ok(&["key", "import", "a", protobuf.to_str().unwrap()])
            .trim(),
        id
    );
    assert_eq!(
        other
            .ok(&[
                "key",
                "import",
                "b",
                "-f",
                "pem-pkcs8-cleartext",
                pem.to_str().unwrap()
            ])
            .trim(),
        id
    );
    let stderr = other.fails(&["key", "import", "c", pem.to_str().unwrap()]);
    assert!(
        stderr.contains("try again with format=pem-pkcs8-cleartext"),
        "{stderr}"
    );

    // Keys OpenSSL makes are taken too.
    for (algorithm, prefix) in [("RSA", "k2k4r8"), ("ED25519", "k51")] {
        let made = other.work().join(format!("{algorithm}.pem"));
        let out = std::process::Command::new("openssl")
            .args(["genpkey", "-algorithm", algorithm, "-out"])
            .arg(&made)
            .output()
            .expect("openssl");
        assert!(out.status.success(), "{out:?}");
        let name = other.ok(&[
            "key",
            "import",
            algorithm,
            "--format=pem-pkcs8-cleartext",
            made.to_str().unwrap(),
        ]);
        assert!(name.starts_with(prefix), "{algorithm}: {name}");
    }

    // The RSA key signs records, which carry the public key.
    let cid = String::from_utf8(node.run_stdin(&["add", "-Q"], b"rsa\n").stdout).unwrap();
    let name = node.ok(&[
        "name",
        "publish",
        "--allow-offline",
        "-Q",
        "--key",
        "old",
        cid.trim(),
    ]);
    assert_eq!(name.trim(), id);
    let record = node.work().join("rsa.rec");
    std::fs::write(&record, node.ok_bytes(&["name", "get", &id])).unwrap();
    let inspected = node.ok(&["name", "inspect", "--verify", &id, record.to_str().unwrap()]);
    assert!(inspected.contains(" Valid: true"), "{inspected}");
    other.ok(&["name", "put", &id, record.to_str().unwrap()]);
    assert_eq!(
        other.ok(&["name", "resolve", &id]).trim(),
        format!("/ipfs/{}", cid.trim())
    );
}

#[test]
fn key_rotate_keeps_the_old_identity_and_waits_for_the_daemon_to_stop() {
    let node = Node::new();
    let peer_id = |node: &Node| node.ok(&["config", "Identity.PeerID"]).trim().to_string();
    let before = peer_id(&node);
    let out = node.ok(&["key", "rotate", "-o", "previous"]);
    assert!(
        out.starts_with("generating ED25519 keypair...done\n"),
        "{out}"
    );
    let after = peer_id(&node);
    assert_ne!(after, before);
    assert!(out.ends_with(&format!("peer identity: {after}\n")), "{out}");
    let listed = node.ok(&["key", "list", "-l", "--ipns-base", "b58mh"]);
    assert!(listed.contains(&format!("{after} self\n")), "{listed}");
    assert!(listed.contains(&format!("{before} previous\n")), "{listed}");
    let mode = std::fs::metadata(node.repo().join("keys/id.pri"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // A taken name or `self` stops it before anything changes.
    assert!(
        node.fails(&["key", "rotate", "-o", "previous"])
            .contains("already exists")
    );
    assert!(
        node.fails(&["key", "rotate", "-o", "self"])
            .contains("'self'")
    );
    assert_eq!(peer_id(&node), after);

    // To RSA: the node still starts and publishes under its new name.
    let out = node.ok(&["key", "rotate", "-o", "ed", "--type", "rsa"]);
    assert!(
        out.starts_with("generating 2048-bit RSA keypair...done\n"),
        "{out}"
    );
    let rsa_id = peer_id(&node);
    assert!(rsa_id.starts_with("Qm"), "{rsa_id}");
    let daemon = common::start_daemon(&node);
    let published = node.ok(&[
        "name",
        "publish",
        "--allow-offline",
        "-Q",
        "--resolve=false",
        "/ipfs/bafkqaaa",
    ]);
    assert!(published.starts_with("k2k4r8"), "{published}");
    let stderr = node.fails(&["key", "rotate", "-o", "again"]);
    assert!(stderr.contains("stop it"), "{stderr}");
    daemon.assert_alive();
    assert_eq!(peer_id(&node), rsa_id);
}

#[test]
fn key_commands_go_through_a_running_daemon() {
    let node = Node::new();
    let daemon = common::start_daemon(&node);
    let id = node.ok(&["key", "gen", "live"]).trim().to_string();
    assert!(id.starts_with("k51"), "{id}");
    assert_eq!(node.ok(&["key", "list"]), "self\nlive\n");
    let exported = node.work().join("live.key");
    node.ok(&["key", "export", "live", "-o", exported.to_str().unwrap()]);
    assert_eq!(
        node.ok(&["key", "rename", "live", "moved"]),
        format!("Key {id} renamed to moved\n")
    );
    assert_eq!(
        node.ok(&["key", "import", "live", exported.to_str().unwrap()])
            .trim(),
        id
    );
    assert_eq!(
        node.ok(&["key", "rename", "-f", "live", "moved"]),
        format!("Key {id} renamed to moved with overwriting\n")
    );
    assert_eq!(
        node.ok(&["key", "rm", "-l", "moved"]),
        format!("{id} moved\n")
    );
    assert!(node.fails(&["key", "gen", "../x"]).contains("not allowed"));
    daemon.assert_alive();
}

#[test]
fn the_identity_key_is_never_shown_nor_set_by_config() {
    let node = Node::new();
    let config = std::fs::read_to_string(node.repo().join("config")).unwrap();
    let secret: serde_json::Value = serde_json::from_str(&config).unwrap();
    let secret = secret["Identity"]["PrivKey"].as_str().unwrap().to_string();
    for args in [
        &["config", "Identity.PrivKey"][..],
        &["config", "identity.privkey"][..],
        &["config", "Identity.PrivKey", "x"][..],
        &["config", "--json", "Identity", "{}"][..],
    ] {
        let stderr = node.fails(args);
        assert!(
            stderr.contains("cannot show or change private key"),
            "{args:?}: {stderr}"
        );
    }
    for args in [&["config", "--show"][..], &["config", "Identity"][..]] {
        let shown = node.ok(args);
        assert!(
            !shown.contains("PrivKey") && !shown.contains(&secret),
            "{args:?}"
        );
        assert!(shown.contains("PeerID"), "{args:?}: {shown}");
    }
}
