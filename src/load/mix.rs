//! The request mix: each kind of request prepared once, and a fair weighted order of them.

use bytes::Bytes;
use http::header::{HOST, HeaderName, HeaderValue, USER_AGENT};
use http::{HeaderMap, Method, Request, Uri};
use http_body_util::Full;

use super::config::{ConfigError, Target};
use crate::spec::RequestSpec;

/// One kind of request, checked and ready to clone onto the wire.
#[derive(Debug, Clone)]
pub struct Template {
    /// The name in reports.
    pub name: String,
    /// The method.
    pub method: Method,
    /// The path and query sent in the request line (the target's base path included).
    pub uri: Uri,
    /// The relative share in the mix.
    pub weight: u32,
    headers: HeaderMap,
    body: Bytes,
}

impl Template {
    /// A fresh request of this kind. Cloning a prepared request is cheaper than building
    /// one, and keeps user text out of the hot loop.
    pub fn request(&self) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// The checked request mix of a load test.
#[derive(Debug, Clone)]
pub struct Mix {
    templates: Vec<Template>,
    total_weight: u64,
}

/// Requests whose weights sum beyond this are not staggered per user (the offset would cost
/// more than it buys); their order is still exact over each cycle.
const STAGGER_LIMIT: u64 = 1_024;

impl Mix {
    /// Checks the spec's requests against the target and prepares them; a single `GET /`
    /// when the list is empty.
    pub fn new(target: &Target, specs: &[RequestSpec]) -> Result<Self, ConfigError> {
        let default = [RequestSpec {
            name: None,
            method: crate::spec::Method::Get,
            path: "/".into(),
            headers: Default::default(),
            body: None,
            weight: 1,
        }];
        let specs = if specs.is_empty() {
            &default[..]
        } else {
            specs
        };

        let mut templates = Vec::with_capacity(specs.len());
        for (index, spec) in specs.iter().enumerate() {
            let template = prepare(target, index, spec)?;
            if let Some(same) = templates
                .iter()
                .find(|t: &&Template| t.name == template.name)
            {
                return Err(ConfigError::DuplicateRequestName {
                    name: same.name.clone(),
                });
            }
            templates.push(template);
        }

        let total_weight = templates.iter().map(|t| u64::from(t.weight)).sum();
        if total_weight == 0 {
            return Err(ConfigError::NoWeight);
        }
        Ok(Self {
            templates,
            total_weight,
        })
    }

    /// The kinds of request, in the order written.
    pub fn templates(&self) -> &[Template] {
        &self.templates
    }

    /// A picker that walks the mix in weighted order; `offset` staggers pickers so that
    /// users started together do not all send the same kind of request first.
    pub fn picker(&self, offset: u64) -> Picker {
        let mut picker = Picker {
            weights: self.templates.iter().map(|t| i64::from(t.weight)).collect(),
            current: vec![0; self.templates.len()],
            total: self.total_weight as i64,
        };
        if self.total_weight <= STAGGER_LIMIT {
            for _ in 0..offset % self.total_weight {
                picker.next_index();
            }
        }
        picker
    }
}

/// Smooth weighted round robin: over every cycle of `total` picks each kind comes up exactly
/// `weight` times, spread out rather than in runs, with no randomness to seed or to skew.
#[derive(Debug, Clone)]
pub struct Picker {
    weights: Vec<i64>,
    current: Vec<i64>,
    total: i64,
}

impl Picker {
    /// The index of the next kind of request.
    pub fn next_index(&mut self) -> usize {
        let mut best = 0;
        for index in 0..self.current.len() {
            self.current[index] += self.weights[index];
            if self.current[index] > self.current[best] {
                best = index;
            }
        }
        self.current[best] -= self.total;
        best
    }
}

fn prepare(target: &Target, index: usize, spec: &RequestSpec) -> Result<Template, ConfigError> {
    let name = spec
        .name
        .clone()
        .unwrap_or_else(|| format!("{} {}", spec.method.as_str(), spec.path));
    let bad = |reason: String| ConfigError::BadRequest {
        index: index + 1,
        name: name.clone(),
        reason,
    };

    if !spec.path.starts_with('/') {
        return Err(bad(format!("path `{}` does not start with `/`", spec.path)));
    }
    let full = format!("{}{}", target.base_path, spec.path);
    let uri: Uri = full
        .parse()
        .map_err(|e| bad(format!("path `{}` is not a valid URL path: {e}", spec.path)))?;
    let method = Method::from_bytes(spec.method.as_str().as_bytes())
        .map_err(|e| bad(format!("method: {e}")))?;

    let mut headers = HeaderMap::new();
    headers.insert(HOST, target.host_header.clone());
    headers.insert(USER_AGENT, HeaderValue::from_static(super::USER_AGENT));
    for (key, value) in &spec.headers {
        let header = HeaderName::from_bytes(key.as_bytes())
            .map_err(|_| bad(format!("`{key}` is not a valid header name")))?;
        let value = HeaderValue::from_str(value).map_err(|_| {
            bad(format!(
                "the value of header `{key}` is not valid header text"
            ))
        })?;
        headers.insert(header, value);
    }

    Ok(Template {
        name,
        method,
        uri,
        weight: spec.weight,
        headers,
        body: spec.body.clone().map(Bytes::from).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(path: &str, weight: u32) -> RequestSpec {
        RequestSpec {
            name: None,
            method: crate::spec::Method::Get,
            path: path.into(),
            headers: Default::default(),
            body: None,
            weight,
        }
    }

    fn target() -> Target {
        Target::parse("http://127.0.0.1:8080/base").unwrap()
    }

    #[test]
    fn picks_follow_the_weights_exactly_over_each_cycle() {
        let mix = Mix::new(&target(), &[spec("/a", 1), spec("/b", 4), spec("/c", 2)]).unwrap();
        let mut picker = mix.picker(0);
        let mut counts = [0; 3];
        for _ in 0..7 * 100 {
            counts[picker.next_index()] += 1;
        }
        assert_eq!(counts, [100, 400, 200]);
    }

    #[test]
    fn picks_are_spread_out_rather_than_in_runs() {
        let mix = Mix::new(&target(), &[spec("/a", 1), spec("/b", 1)]).unwrap();
        let mut picker = mix.picker(0);
        let order: Vec<usize> = (0..6).map(|_| picker.next_index()).collect();
        assert_eq!(order, [0, 1, 0, 1, 0, 1]);
        let mut staggered = mix.picker(1);
        assert_eq!(staggered.next_index(), 1);
    }

    #[test]
    fn zero_weights_take_no_share_and_all_zero_is_refused() {
        let mix = Mix::new(&target(), &[spec("/a", 0), spec("/b", 3)]).unwrap();
        let mut picker = mix.picker(0);
        assert!((0..30).all(|_| picker.next_index() == 1));
        let err = Mix::new(&target(), &[spec("/a", 0)]).unwrap_err();
        assert!(matches!(err, ConfigError::NoWeight));
    }

    #[test]
    fn requests_carry_the_base_path_host_and_headers() {
        let mut with_header = spec("/items?page=2", 1);
        with_header.headers.insert("X-Token".into(), "abc".into());
        let mix = Mix::new(&target(), &[with_header]).unwrap();
        let request = mix.templates()[0].request();
        assert_eq!(request.uri().to_string(), "/base/items?page=2");
        assert_eq!(request.headers()["host"], "127.0.0.1:8080");
        assert_eq!(request.headers()["x-token"], "abc");
        assert_eq!(mix.templates()[0].name, "GET /items?page=2");
    }

    #[test]
    fn bad_paths_headers_and_duplicate_names_are_refused() {
        let err = Mix::new(&target(), &[spec("items", 1)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "request 1 (`GET items`): path `items` does not start with `/`"
        );
        let mut bad_header = spec("/", 1);
        bad_header.headers.insert("bad header".into(), "x".into());
        assert!(Mix::new(&target(), &[bad_header]).is_err());
        let err = Mix::new(&target(), &[spec("/a", 1), spec("/a", 2)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "two requests are named `GET /a`; request names must be unique"
        );
    }
}
