//! What a request asks for: the response format from `?format=` or else
//! the `Accept` header (its media types by quality, then in order; the
//! first one served here wins), and for a CAR its parameters, from the
//! query first and then from the chosen `Accept` entry.

use super::car::CarRequest;
use super::convert::Target;

pub(super) const RAW: &str = "application/vnd.ipld.raw";
pub(super) const CAR: &str = "application/vnd.ipld.car";
pub(super) const IPNS_RECORD: &str = "application/vnd.ipfs.ipns-record";
pub(super) const TAR: &str = "application/x-tar";

#[derive(Debug, PartialEq)]
pub(super) enum Format {
    /// The content itself: a file, a listing, a block of another codec.
    Content,
    Raw,
    Car(CarRequest),
    IpnsRecord,
    /// A file or a tree as a tar stream.
    Tar,
    /// The block in another IPLD codec.
    Codec(Target),
}

impl Format {
    /// The `?format=` word that asks for it.
    pub fn word(&self) -> &'static str {
        match self {
            Format::Content => "",
            Format::Raw => "raw",
            Format::Car(_) => "car",
            Format::IpnsRecord => "ipns-record",
            Format::Tar => "tar",
            Format::Codec(target) => target.format(),
        }
    }
}

/// The format asked, and whether only the `Accept` header asked it (so
/// that the answer names the URL that asks it plainly).
#[derive(Debug, PartialEq)]
pub(super) struct Asked {
    pub format: Format,
    pub by_accept: bool,
}

/// One media range of an `Accept` header.
struct MediaRange {
    essence: String,
    params: Vec<(String, String)>,
    quality: f32,
}

fn media_ranges(accept: &str) -> Vec<MediaRange> {
    let mut ranges: Vec<MediaRange> = accept
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let essence = parts.next()?.trim().to_ascii_lowercase();
            if essence.is_empty() {
                return None;
            }
            let mut quality = 1.0;
            let mut params = Vec::new();
            for param in parts {
                let Some((key, value)) = param.split_once('=') else {
                    continue;
                };
                let key = key.trim().to_ascii_lowercase();
                let value = value.trim().trim_matches('"').to_string();
                if key == "q" {
                    quality = value.parse().unwrap_or(0.0);
                } else {
                    params.push((key, value));
                }
            }
            Some(MediaRange {
                essence,
                params,
                quality,
            })
        })
        .filter(|range| range.quality > 0.0)
        .collect();
    // Stable: equal qualities keep the client's order.
    ranges.sort_by(|a, b| b.quality.total_cmp(&a.quality));
    ranges
}

/// The format of a request with this query and `Accept` header; a bad or
/// unservable parameter is an error saying which.
pub(super) fn asked(query: Option<&str>, accept: Option<&str>) -> Result<Asked, String> {
    let query: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let ranges = media_ranges(accept.unwrap_or(""));
    let format_param = query.iter().find(|(k, _)| k == "format").map(|(_, v)| v);
    if let Some(format) = format_param {
        let format = match format.as_str() {
            "raw" => Format::Raw,
            "ipns-record" => Format::IpnsRecord,
            "tar" => Format::Tar,
            "dag-json" => Format::Codec(Target::DagJson),
            "dag-cbor" => Format::Codec(Target::DagCbor),
            "json" => Format::Codec(Target::Json),
            "cbor" => Format::Codec(Target::Cbor),
            "car" => {
                // The Accept header may still say which CAR (version, order,
                // duplicates); the query's own car-* parameters come first.
                let mut chosen = Err(String::new());
                for range in ranges.iter().filter(|r| r.essence == CAR) {
                    chosen = CarRequest::from_params(&range.params, &query);
                    if chosen.is_ok() {
                        break;
                    }
                }
                match chosen {
                    Ok(request) => Format::Car(request),
                    Err(_) => Format::Car(CarRequest::from_params(&[], &query)?),
                }
            }
            other => return Err(format!("unsupported format {other:?}")),
        };
        return Ok(Asked {
            format,
            by_accept: false,
        });
    }
    let mut refused = None;
    for range in &ranges {
        let format = match range.essence.as_str() {
            RAW => Format::Raw,
            IPNS_RECORD => Format::IpnsRecord,
            TAR => Format::Tar,
            "application/vnd.ipld.dag-json" => Format::Codec(Target::DagJson),
            "application/vnd.ipld.dag-cbor" => Format::Codec(Target::DagCbor),
            "application/json" => Format::Codec(Target::Json),
            "application/cbor" => Format::Codec(Target::Cbor),
            CAR => match CarRequest::from_params(&range.params, &query) {
                Ok(request) => Format::Car(request),
                Err(why) => {
                    refused.get_or_insert(why);
                    continue;
                }
            },
            _ => continue,
        };
        return Ok(Asked {
            format,
            by_accept: true,
        });
    }
    match refused {
        Some(why) => Err(why),
        None => Ok(Asked {
            format: Format::Content,
            by_accept: false,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::car::DagScope;
    use crate::unixfs::scope::EntityBytes;

    fn format(query: &str, accept: &str) -> Result<Format, String> {
        asked(Some(query), Some(accept)).map(|a| a.format)
    }

    fn car(scope: DagScope, bytes: Option<EntityBytes>, duplicates: bool) -> Format {
        Format::Car(CarRequest {
            scope,
            bytes,
            duplicates,
        })
    }

    #[test]
    fn the_query_comes_before_the_accept_header() {
        assert_eq!(
            format("format=raw", "application/vnd.ipld.car"),
            Ok(Format::Raw)
        );
        assert_eq!(
            format("format=car", "application/vnd.ipld.raw"),
            Ok(car(DagScope::All, None, false))
        );
        assert_eq!(format("", "text/html,*/*"), Ok(Format::Content));
        assert_eq!(format("", ""), Ok(Format::Content));
        assert_eq!(format("format=ipns-record", ""), Ok(Format::IpnsRecord));
        assert_eq!(format("format=tar", ""), Ok(Format::Tar));
        assert_eq!(
            format("format=dag-json", "application/vnd.ipld.dag-cbor"),
            Ok(Format::Codec(Target::DagJson))
        );
        assert_eq!(
            format("", "text/html;q=0.5, application/vnd.ipld.dag-cbor"),
            Ok(Format::Codec(Target::DagCbor))
        );
        assert_eq!(format("", "application/x-tar"), Ok(Format::Tar));
        assert_eq!(
            format("", "application/json"),
            Ok(Format::Codec(Target::Json))
        );
        assert_eq!(
            format("", "text/html, application/cbor;q=0.5"),
            Ok(Format::Codec(Target::Cbor))
        );
        assert!(format("format=zip", "").unwrap_err().contains("zip"));
    }

    #[test]
    fn accept_entries_are_tried_by_quality_then_in_order() {
        assert_eq!(
            format("", "text/html, application/vnd.ipld.raw"),
            Ok(Format::Raw)
        );
        assert_eq!(
            format(
                "",
                "application/vnd.ipld.raw;q=0.5, application/vnd.ipld.car;q=0.9"
            ),
            Ok(car(DagScope::All, None, false))
        );
        assert_eq!(
            format("", "application/vnd.ipld.car;q=0, application/vnd.ipld.raw"),
            Ok(Format::Raw)
        );
        // A CAR of a kind not served gives way to the next one that is.
        assert_eq!(
            format(
                "",
                "application/vnd.ipld.car;version=2, application/vnd.ipld.car;version=1;dups=y;q=0.5"
            ),
            Ok(car(DagScope::All, None, true))
        );
        let refused = format("", "application/vnd.ipld.car; version=2").unwrap_err();
        assert!(refused.contains("version"), "{refused}");
    }

    #[test]
    fn car_parameters_come_from_the_query_then_the_accept_entry() {
        let accept = "application/vnd.ipld.car; version=1; order=dfs; dups=y";
        assert_eq!(format("", accept), Ok(car(DagScope::All, None, true)));
        assert_eq!(
            format("format=car", accept),
            Ok(car(DagScope::All, None, true))
        );
        assert_eq!(
            format("format=car&car-dups=n", accept),
            Ok(car(DagScope::All, None, false))
        );
        assert_eq!(
            format(
                "format=car&dag-scope=block",
                "application/vnd.ipld.car; order=unk"
            ),
            Ok(car(DagScope::Block, None, false))
        );
        assert_eq!(
            format("format=car&entity-bytes=-5:*", ""),
            Ok(car(
                DagScope::Entity,
                Some(EntityBytes { from: -5, to: None }),
                false
            ))
        );
    }

    #[test]
    fn bad_car_parameters_say_what_is_wrong() {
        for (query, named) in [
            ("format=car&dag-scope=everything", "dag-scope"),
            ("format=car&car-version=2", "version"),
            ("format=car&car-order=bfs", "order"),
            ("format=car&car-dups=maybe", "dups"),
            ("format=car&entity-bytes=10", "entity-bytes"),
            ("format=car&entity-bytes=a:b", "entity-bytes"),
            ("format=car&entity-bytes=10:5", "entity-bytes"),
            ("format=car&entity-bytes=-5:-10", "entity-bytes"),
            (
                "format=car&entity-bytes=0:99999999999999999999",
                "entity-bytes",
            ),
            ("format=car&dag-scope=all&entity-bytes=0:10", "dag-scope"),
        ] {
            let why = format(query, "").unwrap_err();
            assert!(why.contains(named), "{query}: {why}");
        }
    }
}
