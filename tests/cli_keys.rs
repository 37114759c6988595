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
    assert!(
        node.fails(&["key", "gen", "big", "--type", "rsa"])
            .contains("only ed25519")
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
