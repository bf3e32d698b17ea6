//! Topic templates: `dt/pos/v1/{region}/{acquirer}/{terminal}/txn`.
//!
//! A template yields the MQTT subscription filter (each placeholder becomes
//! `+`) and, for an incoming topic, the values its placeholder levels carry,
//! which fill the dimensions (or the terminal id) a payload leaves out.

use swipewatch_config::TopicKind;
use swipewatch_model::Dim;

/// What a placeholder level fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The terminal id.
    Terminal,
    /// A dimension.
    Dim(Dim),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Level {
    Literal(String),
    Capture(Slot),
}

/// A parsed topic template.
#[derive(Debug, Clone)]
pub struct TopicTemplate {
    levels: Vec<Level>,
    kind: TopicKind,
}

impl TopicTemplate {
    /// Parses a template already checked by the config validation; unknown
    /// placeholders are kept as literals (validation refuses them first).
    pub fn parse(template: &str, kind: TopicKind) -> TopicTemplate {
        let levels = template
            .split('/')
            .map(|l| {
                let slot = l
                    .strip_prefix('{')
                    .and_then(|l| l.strip_suffix('}'))
                    .and_then(|name| {
                        if name == "terminal" {
                            Some(Slot::Terminal)
                        } else {
                            Dim::from_name(name).map(Slot::Dim)
                        }
                    });
                slot.map_or_else(|| Level::Literal(l.to_string()), Level::Capture)
            })
            .collect();
        TopicTemplate { levels, kind }
    }

    /// What the topic carries.
    pub fn kind(&self) -> TopicKind {
        self.kind
    }

    /// The MQTT subscription filter.
    pub fn filter(&self) -> String {
        let parts: Vec<&str> = self
            .levels
            .iter()
            .map(|l| match l {
                Level::Literal(s) => s.as_str(),
                Level::Capture(_) => "+",
            })
            .collect();
        parts.join("/")
    }

    /// If `topic` matches, calls `fill` for each captured level and returns true.
    pub fn captures<'t>(&self, topic: &'t str, mut fill: impl FnMut(Slot, &'t str)) -> bool {
        if !self.matches(topic) {
            return false;
        }
        for (level, value) in self.levels.iter().zip(topic.split('/')) {
            if let Level::Capture(slot) = level {
                fill(*slot, value);
            }
        }
        true
    }

    fn matches(&self, topic: &str) -> bool {
        let mut parts = topic.split('/');
        for level in &self.levels {
            match (level, parts.next()) {
                (Level::Literal(l), Some(p)) if l == p => {}
                (Level::Capture(_), Some(p)) if !p.is_empty() => {}
                _ => return false,
            }
        }
        parts.next().is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn() -> TopicTemplate {
        TopicTemplate::parse(
            "dt/pos/v1/{region}/{acquirer}/{terminal}/txn",
            TopicKind::Txn,
        )
    }

    #[test]
    fn placeholders_become_single_level_wildcards() {
        assert_eq!(txn().filter(), "dt/pos/v1/+/+/+/txn");
    }

    #[test]
    fn matching_topics_fill_their_slots() {
        let mut got = Vec::new();
        assert!(txn().captures("dt/pos/v1/north/acq1/T-0001/txn", |s, v| got
            .push((s, v.to_string()))));
        assert_eq!(
            got,
            [
                (Slot::Dim(Dim::Region), "north".to_string()),
                (Slot::Dim(Dim::Acquirer), "acq1".to_string()),
                (Slot::Terminal, "T-0001".to_string()),
            ]
        );
    }

    #[test]
    fn other_topics_do_not_match() {
        let t = txn();
        for topic in [
            "dt/pos/v1/north/acq1/T-1/hb",
            "dt/pos/v1/north/acq1/txn",
            "dt/pos/v1/north/acq1/T-1/txn/x",
            "dt/pos/v1//acq1/T-1/txn",
        ] {
            assert!(!t.captures(topic, |_, _| {}), "{topic}");
        }
    }
}
