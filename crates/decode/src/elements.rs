//! The pieces of decoding that need no decoder state: splitting a payload
//! into elements, parsing one (repairing it field by field when the typed
//! parse refuses it), required and bounded fields, BIN prefixes, and
//! filling an event's dimensions from the topic and the terminal's last
//! message.

use crate::decode::{reject, Rejection, MAX_VALUE_BYTES};
use crate::lenient::{repair, Drops, Shape};
use crate::raw::{RawNet, Str, StrOrInt};
use crate::topic::Captures;
use crate::values::dropped_field;
use serde_json::value::RawValue;
use swipewatch_model::{Dim, DimValues, RejectReason, Sym, Symbols};

/// The elements of a payload: the object itself, or the objects of an array.
pub(crate) enum Elements<'a> {
    One(&'a str),
    Many(Vec<&'a RawValue>),
}

impl<'a> Elements<'a> {
    pub(crate) fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        let (one, many) = match self {
            Elements::One(s) => (Some(*s), &[][..]),
            Elements::Many(v) => (None, &v[..]),
        };
        one.into_iter().chain(many.iter().map(|r| r.get()))
    }
}

pub(crate) fn split_elements(
    payload: &[u8],
    max_elements: usize,
) -> Result<Elements<'_>, Rejection> {
    let text = std::str::from_utf8(payload)
        .map_err(|_| reject(RejectReason::MalformedJson, "payload is not UTF-8"))?;
    match text.trim_start().as_bytes().first() {
        Some(b'{') => Ok(Elements::One(text)),
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(text)
                .map_err(|e| reject(RejectReason::MalformedJson, e.to_string()))?;
            if items.len() > max_elements {
                let n = items.len();
                return Err(reject(
                    RejectReason::TooLarge,
                    format!("array of {n} elements"),
                ));
            }
            Ok(Elements::Many(items))
        }
        _ => Err(reject(
            RejectReason::MalformedJson,
            "payload is neither an object nor an array",
        )),
    }
}

pub(crate) fn parse<'a, T: serde::Deserialize<'a>>(element: &'a str) -> Result<T, Rejection> {
    if !element.trim_start().starts_with('{') {
        return Err(reject(
            RejectReason::MalformedJson,
            "array element is not an object",
        ));
    }
    serde_json::from_str(element).map_err(|e| {
        let reason = match e.classify() {
            serde_json::error::Category::Data => RejectReason::BadType,
            _ => RejectReason::MalformedJson,
        };
        reject(reason, e.to_string())
    })
}

/// `element` as its wire shape: the typed parse, or when that fails the
/// repaired value (kept in `repaired`, which the result borrows) with the
/// optional fields that had to be dropped.
pub(crate) fn parse_or_repair<'a, T: serde::Deserialize<'a>>(
    element: &'a str,
    shape: Shape,
    repaired: &'a mut Option<serde_json::Value>,
) -> Result<(T, Drops), Rejection> {
    if let Ok(raw) = parse(element) {
        return Ok((raw, Drops::default()));
    }
    let (value, drops) = repair(element, shape)?;
    let value: &'a serde_json::Value = repaired.insert(value);
    let raw = T::deserialize(value).map_err(|e| reject(RejectReason::BadType, e.to_string()))?;
    Ok((raw, drops))
}

pub(crate) fn required<'a>(v: Option<&'a str>, field: &str) -> Result<&'a str, Rejection> {
    match v {
        Some(s) if !s.is_empty() => Ok(s),
        Some(_) => Err(reject(RejectReason::BadType, format!("{field} is empty"))),
        None => Err(reject(RejectReason::MissingField, field)),
    }
}

pub(crate) fn check_len(v: &str, max: usize, field: &str) -> Result<(), Rejection> {
    if v.len() > max {
        return Err(reject(
            RejectReason::BadType,
            format!("{field} longer than {max} bytes"),
        ));
    }
    Ok(())
}

/// `bin:` and the first six digits of a validated BIN, without allocating.
pub(crate) fn issuer_from_bin<'b>(bin: &str, buf: &'b mut [u8; 10]) -> &'b str {
    buf[..4].copy_from_slice(b"bin:");
    buf[4..].copy_from_slice(&bin.as_bytes()[..6]);
    // Only ASCII digits were copied (the BIN is validated first).
    std::str::from_utf8(&buf[..]).unwrap_or("bin:")
}

pub(crate) fn cell_text<'a>(net: Option<&'a RawNet>) -> Str<'a> {
    match net.and_then(|n| n.cell_id.as_ref()) {
        Some(StrOrInt::Str(s)) => Some(std::borrow::Cow::Borrowed(&**s)),
        Some(StrOrInt::Int(i)) => Some(std::borrow::Cow::Owned(i.to_string())),
        None => None,
    }
}

/// The remembered values of `terminal`, grown on first use.
pub(crate) fn recent_slot(
    recent: &mut Vec<[Sym; Dim::COUNT]>,
    terminal: Sym,
) -> &mut [Sym; Dim::COUNT] {
    let i = terminal.index();
    if i >= recent.len() {
        recent.resize(i + 1, [Sym::NONE; Dim::COUNT]);
    }
    &mut recent[i]
}

/// Interns payload values, falling back to topic levels for absent ones.
/// `recent` holds the terminal's values as last interned: one that is the
/// same again is taken from there without a lookup, and it is kept up to
/// date.
pub(crate) fn fill_dims(
    symbols: &mut Symbols,
    dims: &mut DimValues,
    values: &[(Dim, Option<&str>)],
    topic: &Captures,
    mut recent: Option<&mut [Sym; Dim::COUNT]>,
    drops: &mut Drops,
) {
    let mut intern = |symbols: &mut Symbols, dim: Dim, v: &str| match recent.as_deref_mut() {
        Some(last) => {
            let sym = last[dim.index()];
            if sym.is_some() && symbols.resolve(dim, sym) == Some(v) {
                return sym;
            }
            let sym = symbols.dim_mut(dim).intern(v);
            last[dim.index()] = sym;
            sym
        }
        None => symbols.dim_mut(dim).intern(v),
    };
    for &(dim, v) in values {
        if let Some(v) = v.filter(|v| !v.is_empty()).or(topic.dim(dim)) {
            if v.len() > MAX_VALUE_BYTES {
                drops.add(dropped_field(dim));
                continue;
            }
            dims.set(dim, intern(symbols, dim, v));
        }
    }
    // Topic levels for dimensions the payload shape has no field for.
    for dim in Dim::ALL {
        if !dims.get(dim).is_some() {
            if let Some(v) = topic.dim(dim) {
                dims.set(dim, intern(symbols, dim, v));
            }
        }
    }
}
