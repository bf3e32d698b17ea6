//! Response codes: packed when short, interned process-wide when long.

use serde::{Deserialize, Serialize};

/// A response code: ISO 8583 field 39 (2 characters), an ISO 8583:1993
/// action code (3 digits), a scheme's own, or a wallet's error name
/// (`SYSTEMERROR`, `ACQ.SYSTEM_ERROR`): 1 to [`RespCode::MAX_LEN`] ASCII
/// letters, digits, `_`, `.` or `-`, upper-cased. It is `Copy` and cheap to
/// compare: up to three letters or digits are packed into the integer;
/// a longer code is written once into a process-wide list (bounded by
/// [`RespCode::MAX_LONG`] distinct codes) and referred to by position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RespCode(u32);

/// Set on a [`RespCode`] that is a position in the list of long codes.
const LONG: u32 = 1 << 31;

/// The long codes seen so far, by position and by text.
#[derive(Default)]
struct LongCodes {
    names: Vec<Box<str>>,
    index: std::collections::HashMap<Box<str>, u32>,
}

fn long_codes() -> &'static std::sync::RwLock<LongCodes> {
    static CODES: std::sync::OnceLock<std::sync::RwLock<LongCodes>> = std::sync::OnceLock::new();
    CODES.get_or_init(Default::default)
}

impl RespCode {
    /// Longest code accepted.
    pub const MAX_LEN: usize = 64;
    /// Distinct long codes (more than three characters, or with `_`, `.`,
    /// `-`) one process keeps; a new one past this is refused, so a sender
    /// of random codes cannot grow memory without bound.
    pub const MAX_LONG: usize = 4096;

    /// Parses a code; `None` unless it is 1–64 ASCII letters, digits, `_`,
    /// `.` or `-` (or a new long code past [`RespCode::MAX_LONG`]).
    /// Letters are upper-cased (`z3` and `Z3` are the same code).
    pub fn parse(code: &str) -> Option<RespCode> {
        let b = code.as_bytes();
        if b.len() <= 3 && !b.is_empty() && b.iter().all(u8::is_ascii_alphanumeric) {
            let mut packed = 0u32;
            for &c in b {
                packed = (packed << 8) | u32::from(c.to_ascii_uppercase());
            }
            return Some(RespCode(packed));
        }
        let allowed = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-');
        if b.is_empty() || b.len() > Self::MAX_LEN || !b.iter().all(allowed) {
            return None;
        }
        let upper = code.to_ascii_uppercase();
        let lock = long_codes();
        if let Some(&i) = lock
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .index
            .get(upper.as_str())
        {
            return Some(RespCode(LONG | i));
        }
        let mut codes = lock.write().unwrap_or_else(|p| p.into_inner());
        if let Some(&i) = codes.index.get(upper.as_str()) {
            return Some(RespCode(LONG | i));
        }
        if codes.names.len() >= Self::MAX_LONG {
            return None;
        }
        let i = codes.names.len() as u32;
        codes.names.push(upper.clone().into_boxed_str());
        codes.index.insert(upper.into_boxed_str(), i);
        Some(RespCode(LONG | i))
    }

    /// The packed integer, for use as a compact key within one process.
    pub fn packed(self) -> u32 {
        self.0
    }

    /// Rebuilds a code from [`RespCode::packed`]; `None` if it is not a valid packing.
    pub fn from_packed(packed: u32) -> Option<RespCode> {
        let code = RespCode(packed);
        RespCode::parse(&code.to_string()).filter(|c| *c == code)
    }
}

impl std::fmt::Display for RespCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 & LONG != 0 {
            let codes = long_codes().read().unwrap_or_else(|p| p.into_inner());
            let name = codes.names.get((self.0 & !LONG) as usize);
            return f.write_str(name.map_or("?", |n| n));
        }
        let bytes = self.0.to_be_bytes();
        for &b in bytes.iter().skip_while(|b| **b == 0) {
            write!(f, "{}", char::from(b))?;
        }
        Ok(())
    }
}

impl Serialize for RespCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RespCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        RespCode::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(
                "a response code is 1-64 ASCII letters, digits, `_`, `.` or `-`",
            )
        })
    }
}
