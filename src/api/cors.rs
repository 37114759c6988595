//! Which web pages may drive the API: none, unless `API.HTTPHeaders`
//! names their origin in `Access-Control-Allow-Origin` (Kubo's setting).
//! Every browser request carries an Origin, so a request with one that is
//! not allowed is refused before it reaches a command.

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::ApiError;

#[derive(Clone, Debug, Default)]
pub struct Cors {
    origins: Vec<String>,
    /// The other configured headers, added to every answer.
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Cors {
    /// From the config's `API.HTTPHeaders`: `{"Header": ["value", …]}`.
    pub fn from_config(http_headers: &serde_json::Value) -> Self {
        let mut cors = Cors::default();
        let Some(map) = http_headers.as_object() else {
            return cors;
        };
        for (name, values) in map {
            let values: Vec<String> = match values {
                serde_json::Value::Array(items) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                serde_json::Value::String(one) => vec![one.clone()],
                _ => continue,
            };
            if name.eq_ignore_ascii_case("access-control-allow-origin") {
                cors.origins = values;
            } else if let (Ok(name), Ok(value)) = (
                HeaderName::try_from(name.as_str()),
                HeaderValue::try_from(values.join(", ")),
            ) {
                cors.headers.push((name, value));
            }
        }
        cors
    }

    fn allows(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o == "*" || o == origin)
    }

    /// Refuses a disallowed origin; answers an allowed preflight; otherwise
    /// `None`, and the request goes on.
    pub fn check(&self, method: &Method, headers: &HeaderMap) -> Option<Response> {
        let origin = headers.get(header::ORIGIN)?;
        let allowed = origin.to_str().is_ok_and(|o| self.allows(o));
        if !allowed {
            return Some(
                ApiError::new(StatusCode::FORBIDDEN, "403 - Forbidden: origin not allowed")
                    .into_response(),
            );
        }
        if method != Method::OPTIONS {
            return None;
        }
        let mut preflight = StatusCode::OK.into_response();
        let answer = preflight.headers_mut();
        answer.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST"),
        );
        if let Some(asked) = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            answer.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
        }
        self.decorate(headers, &mut preflight);
        Some(preflight)
    }

    /// Adds the configured headers, and for an allowed origin, that origin.
    pub fn decorate(&self, request: &HeaderMap, response: &mut Response) {
        let answer = response.headers_mut();
        for (name, value) in &self.headers {
            answer.insert(name.clone(), value.clone());
        }
        if let Some(origin) = request.get(header::ORIGIN) {
            answer.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            answer.insert(header::VARY, HeaderValue::from_static("Origin"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(origin: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        headers
    }

    #[test]
    fn only_configured_origins_get_through() {
        let none = Cors::default();
        assert!(none.check(&Method::POST, &request(None)).is_none());
        let refused = none
            .check(&Method::POST, &request(Some("https://evil.example")))
            .unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);

        let config = serde_json::json!({
            "Access-Control-Allow-Origin": ["https://webui.example"],
            "X-Extra": "yes",
        });
        let cors = Cors::from_config(&config);
        assert!(
            cors.check(&Method::POST, &request(Some("https://webui.example")))
                .is_none()
        );
        assert_eq!(
            cors.check(&Method::POST, &request(Some("https://other.example")))
                .unwrap()
                .status(),
            StatusCode::FORBIDDEN
        );
        let preflight = cors
            .check(&Method::OPTIONS, &request(Some("https://webui.example")))
            .unwrap();
        assert_eq!(preflight.status(), StatusCode::OK);
        assert_eq!(
            preflight.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://webui.example"
        );
        assert_eq!(preflight.headers()["x-extra"], "yes");

        let anyone = Cors::from_config(&serde_json::json!({"Access-Control-Allow-Origin": ["*"]}));
        assert!(
            anyone
                .check(&Method::POST, &request(Some("https://x.example")))
                .is_none()
        );
    }
}
