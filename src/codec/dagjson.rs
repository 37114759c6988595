//! DAG-JSON ↔ the IPLD data model: links as `{"/": "<cid>"}`, bytes as
//! `{"/": {"bytes": "<base64, no padding>"}}`.

use serde_json::{Map, Value};

use super::CodecError;
use super::cbor::Item;
use super::cid::{cid_string, parse_cid};

fn base64(bytes: &[u8]) -> String {
    multibase::encode(multibase::Base::Base64, bytes)[1..].to_string()
}

pub fn to_json(item: &Item) -> Value {
    match item {
        Item::Uint(n) => Value::from(*n),
        Item::NegInt(n) => match i64::try_from(*n) {
            Ok(n) => Value::from(-1 - n),
            Err(_) => Value::from(-1.0 - *n as f64),
        },
        Item::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Item::Bool(b) => Value::Bool(*b),
        Item::Null => Value::Null,
        Item::Bytes(b) => serde_json::json!({ "/": { "bytes": base64(b) } }),
        Item::Text(t) => Value::String(t.clone()),
        Item::Link(cid) => serde_json::json!({ "/": cid_string(cid) }),
        Item::List(items) => Value::Array(items.iter().map(to_json).collect()),
        Item::Map(pairs) => Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect::<Map<_, _>>(),
        ),
    }
}

pub fn from_json(value: &Value) -> Result<Item, CodecError> {
    Ok(match value {
        Value::Null => Item::Null,
        Value::Bool(b) => Item::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => Item::Uint(u),
            (_, Some(i), _) => Item::NegInt((-1 - i) as u64),
            (_, _, Some(f)) => Item::Float(f),
            _ => return Err(CodecError::Cbor(format!("number {n} is out of range"))),
        },
        Value::String(s) => Item::Text(s.clone()),
        Value::Array(items) => Item::List(items.iter().map(from_json).collect::<Result<_, _>>()?),
        Value::Object(map) => match (map.len(), map.get("/")) {
            (1, Some(Value::String(cid))) => Item::Link(parse_cid(cid)?),
            (1, Some(Value::Object(inner))) if inner.len() == 1 && inner.contains_key("bytes") => {
                let text = inner["bytes"]
                    .as_str()
                    .ok_or_else(|| CodecError::Cbor("bytes must be a string".into()))?;
                let decoded = multibase::decode(format!("m{}", text.trim_end_matches('=')))
                    .map_err(|e| CodecError::Cbor(format!("bad base64 bytes: {e}")))?;
                Item::Bytes(decoded.1)
            }
            _ => Item::Map(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), from_json(v)?)))
                    .collect::<Result<_, CodecError>>()?,
            ),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_bytes_and_numbers_round_trip() {
        let json: Value = serde_json::from_str(
            r#"{"a":[1,-2,2.5,null,true],"b":{"/":"bafkreie7q3iidccmpvszul7kudcvvuavuo7u6gzlbobczuk5nqk3b4akba"},"c":{"/":{"bytes":"AQID"}}}"#,
        )
        .unwrap();
        let item = from_json(&json).unwrap();
        assert!(matches!(
            super::super::cbor::map_get(&item, "b"),
            Some(Item::Link(_))
        ));
        assert_eq!(
            super::super::cbor::map_get(&item, "c"),
            Some(&Item::Bytes(vec![1, 2, 3]))
        );
        assert_eq!(to_json(&item), json);
    }
}
