//! Kubo's configuration profiles (`init --profile`, `config profile
//! apply`): named changes to the config, with Kubo's names, keys and
//! values, so a config reads the same to either implementation.

use serde_json::{Value, json};

use super::config::{self, DEFAULT_BOOTSTRAP, default_addresses};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    Test,
    Server,
    LocalDiscovery,
    DefaultNetworking,
    LowPower,
    RandomPorts,
    AnnounceOff,
    AnnounceOn,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProfileError {
    #[error("invalid configuration profile: {0}")]
    Unknown(String),
    #[error("{name}: Kubo's profile has no meaning for rsipfs ({why})")]
    NotApplicable { name: String, why: &'static str },
    #[error("profile {profile}: {reason}")]
    Apply {
        profile: &'static str,
        reason: String,
    },
}

/// Kubo's profiles that rsipfs does not apply, and why.
const NOT_APPLICABLE: &[(&str, &str)] = &[
    ("flatfs", "rsipfs has one datastore layout"),
    ("flatfs-measure", "rsipfs has one datastore layout"),
    ("default-datastore", "rsipfs has one datastore layout"),
    ("pebbleds", "rsipfs has one datastore layout"),
    ("pebbleds-measure", "rsipfs has one datastore layout"),
    ("badgerds", "rsipfs has one datastore layout"),
    ("badgerds-measure", "rsipfs has one datastore layout"),
    ("unixfs-v0-2015", "`add` takes its import settings as flags"),
    ("legacy-cid-v0", "`add` takes its import settings as flags"),
    ("unixfs-v1-2025", "`add` takes its import settings as flags"),
    ("autoconf-on", "rsipfs fetches no remote AutoConf"),
    ("autoconf-off", "rsipfs fetches no remote AutoConf"),
];

/// What Kubo's `server` profile keeps out of announcements and dials:
/// the IANA special-purpose ranges, copied from Kubo's
/// config/profile.go `defaultServerFilters` (v0.42.0).
const SERVER_FILTERS: &[&str] = &[
    "/ip4/10.0.0.0/ipcidr/8",
    "/ip4/100.64.0.0/ipcidr/10",
    "/ip4/127.0.0.0/ipcidr/8",
    "/ip4/169.254.0.0/ipcidr/16",
    "/ip4/172.16.0.0/ipcidr/12",
    "/ip4/192.0.0.0/ipcidr/24",
    "/ip4/192.0.2.0/ipcidr/24",
    "/ip4/192.168.0.0/ipcidr/16",
    "/ip4/198.18.0.0/ipcidr/15",
    "/ip4/198.51.100.0/ipcidr/24",
    "/ip4/203.0.113.0/ipcidr/24",
    "/ip4/240.0.0.0/ipcidr/4",
    "/ip6/::/ipcidr/3",
    "/ip6/::1/ipcidr/128",
    "/ip6/100::/ipcidr/64",
    "/ip6/2001:2::/ipcidr/48",
    "/ip6/2001:db8::/ipcidr/32",
    "/ip6/fc00::/ipcidr/7",
    "/ip6/fe80::/ipcidr/10",
];

impl Profile {
    pub const ALL: [Profile; 8] = [
        Profile::Test,
        Profile::Server,
        Profile::LocalDiscovery,
        Profile::DefaultNetworking,
        Profile::LowPower,
        Profile::RandomPorts,
        Profile::AnnounceOff,
        Profile::AnnounceOn,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Profile::Test => "test",
            Profile::Server => "server",
            Profile::LocalDiscovery => "local-discovery",
            Profile::DefaultNetworking => "default-networking",
            Profile::LowPower => "lowpower",
            Profile::RandomPorts => "randomports",
            Profile::AnnounceOff => "announce-off",
            Profile::AnnounceOn => "announce-on",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Profile::Test => {
                "loopback addresses on random ports, no bootstrap peers: for tests, \
                 nothing leaves the machine"
            }
            Profile::Server => {
                "for machines with public addresses: private and local ranges are not \
                 announced nor dialled, no local discovery"
            }
            Profile::LocalDiscovery => "undoes `server`: local ranges and discovery again",
            Profile::DefaultNetworking => "undoes `test`: the default addresses and bootstrap",
            Profile::LowPower => "a DHT client with few connections, no services for others",
            Profile::RandomPorts => "the swarm on a free port instead of 4001",
            Profile::AnnounceOff => "announces nothing to the DHT",
            Profile::AnnounceOn => "undoes `announce-off`",
        }
    }

    pub fn parse(name: &str) -> Result<Profile, ProfileError> {
        if let Some(profile) = Profile::ALL.into_iter().find(|p| p.name() == name) {
            return Ok(profile);
        }
        match NOT_APPLICABLE.iter().find(|(known, _)| *known == name) {
            Some((_, why)) => Err(ProfileError::NotApplicable {
                name: name.to_string(),
                why,
            }),
            None => Err(ProfileError::Unknown(name.to_string())),
        }
    }

    /// `a,b,c` as Kubo's `--profile` takes them, applied in that order.
    pub fn parse_list(names: &str) -> Result<Vec<Profile>, ProfileError> {
        names
            .split(',')
            .filter(|n| !n.is_empty())
            .map(Profile::parse)
            .collect()
    }

    /// Changes `config` as Kubo's profile of the same name does.
    pub fn apply(self, config: &mut Value) -> Result<(), ProfileError> {
        let mut edit = Edit {
            config,
            profile: self.name(),
        };
        match self {
            Profile::Test => {
                edit.set("Addresses.API", json!("/ip4/127.0.0.1/tcp/0"))?;
                edit.set("Addresses.Gateway", json!("/ip4/127.0.0.1/tcp/0"))?;
                edit.set("Addresses.Swarm", json!(["/ip4/127.0.0.1/tcp/0"]))?;
                edit.set("Swarm.DisableNatPortMap", json!(true))?;
                edit.set("Routing.LoopbackAddressesOnLanDHT", json!(true))?;
                edit.set("Routing.DelegatedRouters", json!([]))?;
                edit.set("Bootstrap", json!([]))?;
                edit.set("Discovery.MDNS.Enabled", json!(false))?;
                edit.set("AutoConf.Enabled", json!(false))?;
            }
            Profile::Server => {
                edit.extend("Addresses.NoAnnounce", SERVER_FILTERS)?;
                edit.extend("Swarm.AddrFilters", SERVER_FILTERS)?;
                edit.set("Discovery.MDNS.Enabled", json!(false))?;
                edit.set("Swarm.DisableNatPortMap", json!(true))?;
            }
            Profile::LocalDiscovery => {
                edit.remove("Addresses.NoAnnounce", SERVER_FILTERS)?;
                edit.remove("Swarm.AddrFilters", SERVER_FILTERS)?;
                edit.set("Discovery.MDNS.Enabled", json!(true))?;
                edit.set("Swarm.DisableNatPortMap", json!(false))?;
            }
            Profile::DefaultNetworking => {
                edit.set("Addresses", default_addresses())?;
                edit.set("Bootstrap", json!(DEFAULT_BOOTSTRAP))?;
                edit.set("Swarm.DisableNatPortMap", json!(false))?;
                edit.set("Discovery.MDNS.Enabled", json!(true))?;
                edit.unset("AutoConf.Enabled");
            }
            Profile::LowPower => {
                edit.set("Routing.Type", json!("autoclient"))?;
                edit.set("AutoNAT.ServiceMode", json!("disabled"))?;
                edit.set("Swarm.RelayService.Enabled", json!(false))?;
                edit.set("Swarm.ConnMgr.Type", json!("basic"))?;
                edit.set("Swarm.ConnMgr.LowWater", json!(20))?;
                edit.set("Swarm.ConnMgr.HighWater", json!(40))?;
                edit.set("Swarm.ConnMgr.GracePeriod", json!("1m0s"))?;
            }
            Profile::RandomPorts => {
                let port = free_port().map_err(|e| edit.error(e.to_string()))?;
                edit.set(
                    "Addresses.Swarm",
                    json!([
                        format!("/ip4/0.0.0.0/tcp/{port}"),
                        format!("/ip6/::/tcp/{port}")
                    ]),
                )?;
            }
            Profile::AnnounceOff => {
                edit.set("Provide.Enabled", json!(false))?;
                edit.set("Provide.DHT.Interval", json!("0s"))?;
            }
            Profile::AnnounceOn => {
                edit.set("Provide.Enabled", json!(true))?;
                edit.set("Provide.DHT.Interval", json!("22h0m0s"))?;
            }
        }
        Ok(())
    }
}

/// A TCP port free right now, as Kubo's `randomports` picks one.
fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("[::]:0")
        .or_else(|_| std::net::TcpListener::bind("0.0.0.0:0"))?;
    Ok(listener.local_addr()?.port())
}

/// One profile's changes to a config.
struct Edit<'a> {
    config: &'a mut Value,
    profile: &'static str,
}

impl Edit<'_> {
    fn error(&self, reason: String) -> ProfileError {
        ProfileError::Apply {
            profile: self.profile,
            reason,
        }
    }

    fn set(&mut self, key: &str, value: Value) -> Result<(), ProfileError> {
        config::set(self.config, key, value).map_err(|reason| self.error(reason))
    }

    fn unset(&mut self, key: &str) {
        let Some((parent, last)) = key.rsplit_once('.') else {
            return;
        };
        if let Some(object) = config::get_mut(self.config, parent).and_then(Value::as_object_mut) {
            object.remove(last);
        }
    }

    /// The strings at `key`, a list (a missing key is an empty one).
    fn strings(&self, key: &str) -> Result<Vec<String>, ProfileError> {
        match config::get(self.config, key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| self.error(format!("{key} holds a non-string {item}")))
                })
                .collect(),
            Some(other) => Err(self.error(format!("{key} is {other}, not a list"))),
        }
    }

    /// Adds `entries` to the list at `key`, each once.
    fn extend(&mut self, key: &str, entries: &[&str]) -> Result<(), ProfileError> {
        let mut list = self.strings(key)?;
        for entry in entries {
            if !list.iter().any(|e| e == entry) {
                list.push(entry.to_string());
            }
        }
        self.set(key, json!(list))
    }

    /// Drops `entries` from the list at `key`.
    fn remove(&mut self, key: &str, entries: &[&str]) -> Result<(), ProfileError> {
        let mut list = self.strings(key)?;
        list.retain(|e| !entries.contains(&e.as_str()));
        self.set(key, json!(list))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Value {
        json!({
            "Addresses": { "Swarm": ["/ip4/0.0.0.0/tcp/4001"], "NoAnnounce": ["/ip4/1.2.3.4/ipcidr/32"] },
            "Bootstrap": DEFAULT_BOOTSTRAP,
        })
    }

    #[test]
    fn names_parse_one_or_several_and_unknown_ones_are_refused() {
        assert_eq!(
            Profile::parse_list("test,lowpower").unwrap(),
            vec![Profile::Test, Profile::LowPower]
        );
        for profile in Profile::ALL {
            assert_eq!(Profile::parse(profile.name()), Ok(profile));
        }
        assert_eq!(
            Profile::parse("nope").unwrap_err().to_string(),
            "invalid configuration profile: nope"
        );
        assert!(matches!(
            Profile::parse("pebbleds"),
            Err(ProfileError::NotApplicable { .. })
        ));
    }

    #[test]
    fn server_adds_its_filters_once_and_local_discovery_takes_them_back() {
        let mut config = base();
        Profile::Server.apply(&mut config).unwrap();
        Profile::Server.apply(&mut config).unwrap();
        let no_announce = config["Addresses"]["NoAnnounce"].as_array().unwrap();
        assert_eq!(no_announce.len(), 1 + SERVER_FILTERS.len());
        assert_eq!(no_announce[0], "/ip4/1.2.3.4/ipcidr/32");
        assert_eq!(
            config["Swarm"]["AddrFilters"].as_array().unwrap().len(),
            SERVER_FILTERS.len()
        );
        Profile::LocalDiscovery.apply(&mut config).unwrap();
        assert_eq!(
            config["Addresses"]["NoAnnounce"],
            json!(["/ip4/1.2.3.4/ipcidr/32"])
        );
        assert_eq!(config["Swarm"]["AddrFilters"], json!([]));
        assert_eq!(config["Discovery"]["MDNS"]["Enabled"], true);
    }

    #[test]
    fn default_networking_undoes_test() {
        let mut config = base();
        Profile::Test.apply(&mut config).unwrap();
        assert_eq!(config["Bootstrap"], json!([]));
        Profile::DefaultNetworking.apply(&mut config).unwrap();
        assert_eq!(config["Bootstrap"], json!(DEFAULT_BOOTSTRAP));
        assert_eq!(config["Addresses"], default_addresses());
        assert!(config["AutoConf"].get("Enabled").is_none());
    }

    #[test]
    fn a_list_that_is_not_a_list_is_an_error_not_a_guess() {
        let mut config = json!({ "Swarm": { "AddrFilters": "oops" } });
        let err = Profile::Server.apply(&mut config).unwrap_err();
        assert!(err.to_string().contains("not a list"), "{err}");
    }

    #[test]
    fn randomports_picks_one_port_for_both_families() {
        let mut config = base();
        Profile::RandomPorts.apply(&mut config).unwrap();
        let swarm = config["Addresses"]["Swarm"].as_array().unwrap();
        let port = swarm[0].as_str().unwrap().rsplit('/').next().unwrap();
        assert_ne!(port, "0");
        assert_ne!(port, "4001");
        assert_eq!(swarm[1], format!("/ip6/::/tcp/{port}"));
    }
}
