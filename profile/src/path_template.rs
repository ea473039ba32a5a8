//! Path templates such as `/api/platform/v1/playback/{action}`.

/// A path whose `{name}` segments match any single non-empty segment.
#[derive(Debug, Clone, Copy)]
pub struct PathTemplate<'a> {
    template: &'a str,
}

impl<'a> PathTemplate<'a> {
    pub fn new(template: &'a str) -> Self {
        Self { template }
    }

    pub fn as_str(&self) -> &'a str {
        self.template
    }

    /// The parameters of `path` in template order, or `None` when it does not match.
    pub fn matches<'p>(&self, path: &'p str) -> Option<Vec<(&'a str, &'p str)>> {
        let mut params = Vec::new();
        let mut want = self.template.split('/');
        let mut have = path.split('/');
        loop {
            match (want.next(), have.next()) {
                (None, None) => return Some(params),
                (Some(w), Some(h)) => {
                    if let Some(name) = w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                        if h.is_empty() {
                            return None;
                        }
                        params.push((name, h));
                    } else if w != h {
                        return None;
                    }
                }
                _ => return None,
            }
        }
    }

    /// The template with each `{name}` replaced by its value from `params`.
    pub fn fill(&self, params: &[(&str, &str)]) -> String {
        let mut out = self.template.to_owned();
        for (name, value) in params {
            out = out.replace(&format!("{{{name}}}"), value);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_parameters_and_literals() {
        let t = PathTemplate::new("/api/platform/v1/playback/{action}");
        assert_eq!(
            t.matches("/api/platform/v1/playback/start"),
            Some(vec![("action", "start")])
        );
        assert_eq!(t.matches("/api/platform/v1/playback/"), None);
        assert_eq!(t.matches("/api/platform/v1/playback/start/x"), None);
        assert_eq!(t.matches("/api/platform/v1/me"), None);
        assert_eq!(
            t.fill(&[("action", "pause")]),
            "/api/platform/v1/playback/pause"
        );
    }
}
