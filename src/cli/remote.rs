//! The client side of the HTTP RPC API: used when a running `rsipfs mount`
//! holds the repository and names its API in the repository's `api` file.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::de::DeserializeOwned;

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
        let part = Part {
            path: String::new(),
            content: PartContent::File(Box::new(data)),
            field: "file".to_string(),
        };
        self.call_with_parts(command, query, Box::new(std::iter::once(Ok(part))))
    }

    /// POSTs a command with a multipart body of `parts`, each produced only
    /// when the upload reaches it.
    pub fn call_with_parts(
        &self,
        command: &str,
        query: &[(&str, String)],
        parts: Box<dyn Iterator<Item = std::io::Result<Part>>>,
    ) -> Result<ureq::BodyReader<'static>> {
        let body = MultipartBody {
            parts,
            current: Box::new(std::io::empty()),
            done: false,
        };
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

    /// A command's JSON answer as `T`.
    pub fn typed<T: DeserializeOwned>(&self, command: &str, query: &[(&str, String)]) -> Result<T> {
        serde_json::from_reader(self.call(command, query)?)
            .context("the API answered with unexpected JSON")
    }

    /// A command's streamed answer, one JSON value per line, as `T`s.
    pub fn lines<T: DeserializeOwned>(
        &self,
        command: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<T>> {
        parse_lines(self.call(command, query)?)
    }

    /// A command's answer as bytes.
    pub fn bytes(&self, command: &str, query: &[(&str, String)]) -> Result<Vec<u8>> {
        let mut data = Vec::new();
        self.call(command, query)?
            .read_to_end(&mut data)
            .context("reading the API response")?;
        Ok(data)
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

/// Copies a daemon's streamed answer to `out`. The daemon states an error
/// found before it starts answering; one found later can only cut the
/// answer short, which is said here, since the cause is in its log.
pub fn copy_answer(what: &str, mut answer: impl Read, out: &mut impl std::io::Write) -> Result<()> {
    let mut buffer = vec![0; 1 << 16];
    loop {
        let n = match answer.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => bail!(
                "{what}: the daemon broke off its answer ({e}); a block may be damaged or \
                 missing, see the daemon's log"
            ),
        };
        out.write_all(&buffer[..n])?;
    }
}

/// JSON values, one per line, as `T`s; a Kubo error object among them
/// (a command that failed after it began answering) is the error.
pub fn parse_lines<T: DeserializeOwned>(reader: impl Read) -> Result<Vec<T>> {
    let mut values = Vec::new();
    for_each_line(reader, |value| {
        values.push(value);
        Ok(())
    })?;
    Ok(values)
}

/// [`parse_lines`], handing each value on as it arrives.
pub fn for_each_line<T: DeserializeOwned>(
    reader: impl Read,
    mut each: impl FnMut(T) -> Result<()>,
) -> Result<()> {
    for value in serde_json::Deserializer::from_reader(reader).into_iter::<serde_json::Value>() {
        let value = value.context("the API answered with malformed JSON")?;
        if value["Type"] == "error"
            && let Some(message) = value["Message"].as_str()
        {
            bail!("{message}");
        }
        each(serde_json::from_value(value).context("the API answered with unexpected JSON")?)?;
    }
    Ok(())
}

const BOUNDARY: &str = "rsipfs-part-boundary-5c1f0b2e";

/// One part of a multipart upload, as Kubo's clients encode them.
pub struct Part {
    /// The entry's path (percent-encoded into the part's filename).
    pub path: String,
    pub content: PartContent,
    /// The field name, carrying metadata as `file?mode=0644&mtime=…`.
    pub field: String,
}

pub enum PartContent {
    File(Box<dyn Read>),
    Directory,
    Symlink(Vec<u8>),
}

impl Part {
    fn head(&self) -> String {
        let filename: String = form_urlencoded::byte_serialize(self.path.as_bytes())
            .collect::<String>()
            .replace('+', "%20");
        let content_type = match self.content {
            PartContent::File(_) => "application/octet-stream",
            PartContent::Directory => "application/x-directory",
            PartContent::Symlink(_) => "application/symlink",
        };
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{filename}\"\r\n\
             Content-Type: {content_type}\r\n\r\n",
            self.field
        )
    }
}

/// The multipart body, read part by part.
struct MultipartBody {
    parts: Box<dyn Iterator<Item = std::io::Result<Part>>>,
    current: Box<dyn Read>,
    done: bool,
}

impl Read for MultipartBody {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = self.current.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            if self.done {
                return Ok(0);
            }
            self.current = match self.parts.next() {
                Some(part) => {
                    let part = part?;
                    let head = std::io::Cursor::new(part.head().into_bytes());
                    let content: Box<dyn Read> = match part.content {
                        PartContent::File(reader) => reader,
                        PartContent::Directory => Box::new(std::io::empty()),
                        PartContent::Symlink(target) => Box::new(std::io::Cursor::new(target)),
                    };
                    Box::new(head.chain(content).chain(&b"\r\n"[..]))
                }
                None => {
                    self.done = true;
                    Box::new(std::io::Cursor::new(
                        format!("--{BOUNDARY}--\r\n").into_bytes(),
                    ))
                }
            };
        }
    }
}
