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

impl Slot {
    fn index(self) -> usize {
        match self {
            Slot::Dim(d) => d.index(),
            Slot::Terminal => Dim::COUNT,
        }
    }
}

/// Values of a topic's placeholder levels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Captures<'t>([Option<&'t str>; Dim::COUNT + 1]);

impl<'t> Captures<'t> {
    /// The value the topic gives `dim`.
    pub fn dim(&self, dim: Dim) -> Option<&'t str> {
        self.0[dim.index()]
    }

    /// The terminal id the topic gives.
    pub fn terminal(&self) -> Option<&'t str> {
        self.0[Dim::COUNT]
    }
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

    /// If `topic` matches, returns the value of every placeholder level, indexed
    /// by dimension (and `Dim::COUNT` for the terminal id), in one pass.
    pub fn captures<'t>(&self, topic: &'t str) -> Option<Captures<'t>> {
        let mut caps = Captures::default();
        let mut parts = topic.split('/');
        for level in &self.levels {
            match (level, parts.next()) {
                (Level::Literal(l), Some(p)) if l == p => {}
                (Level::Capture(slot), Some(p)) if !p.is_empty() => caps.0[slot.index()] = Some(p),
                _ => return None,
            }
        }
        parts.next().is_none().then_some(caps)
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
        let caps = txn()
            .captures("dt/pos/v1/north/acq1/T-0001/txn")
            .expect("matches");
        assert_eq!(caps.dim(Dim::Region), Some("north"));
        assert_eq!(caps.dim(Dim::Acquirer), Some("acq1"));
        assert_eq!(caps.terminal(), Some("T-0001"));
        assert_eq!(caps.dim(Dim::Carrier), None);
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
            assert!(t.captures(topic).is_none(), "{topic}");
        }
    }
}
