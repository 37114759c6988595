//! The client side of the HTTP RPC API: used when a running `rsipfs mount`
//! holds the repository and names its API in the repository's `api` file.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};

pub struct Api {
    base: String,
}

impl Api {
    /// The API named in `<repo>/api`, if there is one.
    pub fn from_repo(repo: &Path) -> Result<Option<Api>> {
        let file = repo.join("api");
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err).with_context(|| format!("reading {}", file.display())),
        };
        let parts: Vec<&str> = text.trim().split('/').collect();
        let base = match parts.as_slice() {
            ["", "ip4", ip, "tcp", port] => format!("http://{ip}:{port}"),
            ["", "ip6", ip, "tcp", port] => format!("http://[{ip}]:{port}"),
            _ => bail!(
                "{}: unsupported API address {:?}",
                file.display(),
                text.trim()
            ),
        };
        Ok(Some(Api { base }))
    }

    fn url(&self, command: &str, query: &[(&str, String)]) -> String {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        format!("{}/api/v0/{command}?{query}", self.base)
    }

    /// POSTs a command; returns the response body as a reader.
    pub fn call(
        &self,
        command: &str,
        query: &[(&str, String)],
    ) -> Result<ureq::BodyReader<'static>> {
        let response = ureq::post(&self.url(command, query))
            .config()
            .http_status_as_error(false)
            .build()
            .send_empty()
            .with_context(|| format!("calling the API at {}", self.base))?;
        Self::checked(response)
    }

    /// POSTs a command with `data` as its one multipart file.
    pub fn call_with_file(
        &self,
        command: &str,
        query: &[(&str, String)],
        data: impl Read + 'static,
    ) -> Result<ureq::BodyReader<'static>> {
        const BOUNDARY: &str = "rsipfs-file-boundary-5c1f0b2e";
        let head = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"data\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        );
        let tail = format!("\r\n--{BOUNDARY}--\r\n");
        let body = std::io::Cursor::new(head.into_bytes())
            .chain(data)
            .chain(std::io::Cursor::new(tail.into_bytes()));
        let response = ureq::post(&self.url(command, query))
            .config()
            .http_status_as_error(false)
            .build()
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .send(ureq::SendBody::from_owned_reader(body))
            .with_context(|| format!("calling the API at {}", self.base))?;
        Self::checked(response)
    }

    /// JSON of a command's response.
    pub fn json(&self, command: &str, query: &[(&str, String)]) -> Result<serde_json::Value> {
        let mut text = String::new();
        self.call(command, query)?
            .read_to_string(&mut text)
            .context("reading the API response")?;
        serde_json::from_str(&text).context("the API answered with malformed JSON")
    }

    fn checked(response: ureq::http::Response<ureq::Body>) -> Result<ureq::BodyReader<'static>> {
        let status = response.status();
        let mut reader = response.into_body().into_reader();
        if status.is_success() {
            return Ok(reader);
        }
        let mut text = String::new();
        let _ = reader.read_to_string(&mut text);
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["Message"].as_str().map(str::to_string))
            .unwrap_or(text);
        bail!("{message}")
    }
}
