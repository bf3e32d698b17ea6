//! Interned dimension values.
//!
//! Counters on the hot path are keyed by small integers: every dimension value
//! (and every terminal id) is interned once into a [`Sym`], and the string is
//! only looked at again when a result is shown to a person.

use crate::dims::Dim;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

/// An interned string: an index into one [`Interner`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(pub u32);

impl Sym {
    /// The absent value.
    pub const NONE: Sym = Sym(u32::MAX);

    /// True unless this is [`Sym::NONE`].
    pub fn is_some(self) -> bool {
        self != Sym::NONE
    }

    /// Index into the interner's table.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Append-only string interner. Symbols are dense, starting at 0.
#[derive(Debug, Clone)]
pub struct Interner<S = RandomState> {
    map: HashMap<Arc<str>, Sym, S>,
    names: Vec<Arc<str>>,
}

impl<S: Default> Default for Interner<S> {
    fn default() -> Self {
        Interner {
            map: HashMap::default(),
            names: Vec::new(),
        }
    }
}

impl<S: BuildHasher> Interner<S> {
    /// Returns the symbol for `value`, adding it if it is new.
    pub fn intern(&mut self, value: &str) -> Sym {
        if let Some(&sym) = self.map.get(value) {
            return sym;
        }
        // Interners are bounded far below u32::MAX by the fleet size; saturating
        // keeps Sym::NONE unreachable even if that were ever violated.
        let sym = Sym((self.names.len() as u32).min(u32::MAX - 1));
        let name: Arc<str> = Arc::from(value);
        self.names.push(name.clone());
        self.map.insert(name, sym);
        sym
    }

    /// Looks `value` up without adding it.
    pub fn get(&self, value: &str) -> Option<Sym> {
        self.map.get(value).copied()
    }

    /// The string behind `sym`, `None` for [`Sym::NONE`] or a foreign symbol.
    pub fn resolve(&self, sym: Sym) -> Option<&str> {
        self.names.get(sym.index()).map(|s| &**s)
    }

    /// Number of distinct values.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when nothing has been interned.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// One interner per dimension, plus one for terminal ids.
#[derive(Debug, Clone)]
pub struct Symbols<S = RandomState> {
    dims: Vec<Interner<S>>,
    /// Terminal ids.
    pub terminals: Interner<S>,
}

impl<S: Default> Default for Symbols<S> {
    fn default() -> Self {
        Symbols {
            dims: (0..Dim::COUNT).map(|_| Interner::default()).collect(),
            terminals: Interner::default(),
        }
    }
}

impl<S: BuildHasher> Symbols<S> {
    /// The interner of `dim`.
    pub fn dim(&self, dim: Dim) -> &Interner<S> {
        &self.dims[dim.index()]
    }

    /// The interner of `dim`, for adding values.
    pub fn dim_mut(&mut self, dim: Dim) -> &mut Interner<S> {
        &mut self.dims[dim.index()]
    }

    /// The string value of `dim` behind `sym`.
    pub fn resolve(&self, dim: Dim, sym: Sym) -> Option<&str> {
        self.dims[dim.index()].resolve(sym)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_dense_and_stable() {
        let mut i: Interner = Interner::default();
        let a = i.intern("vodafone");
        let b = i.intern("orange");
        assert_eq!(a, Sym(0));
        assert_eq!(b, Sym(1));
        assert_eq!(i.intern("vodafone"), a);
        assert_eq!(i.resolve(b), Some("orange"));
        assert_eq!(i.resolve(Sym::NONE), None);
        assert_eq!(i.len(), 2);
    }

    #[test]
    fn dimensions_have_separate_value_spaces() {
        let mut s: Symbols = Symbols::default();
        let r = s.dim_mut(Dim::Region).intern("north");
        let c = s.dim_mut(Dim::Carrier).intern("north");
        assert_eq!(r, c, "both are the first value of their own dimension");
        assert_eq!(s.resolve(Dim::Carrier, c), Some("north"));
        assert_eq!(s.resolve(Dim::Issuer, c), None);
    }
}
