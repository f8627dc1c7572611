//! The simulation's maps (twine's patch, see `PATCHES.md`): `IndexMap`s keyed
//! by addresses, ports and sequence numbers, looked up on every message and
//! every tick, hashed with the Fx hash instead of SipHash. SipHash resists
//! collision attacks a simulation never meets and was most of each lookup. An
//! `IndexMap` iterates in insertion order whatever its hasher, so no order the
//! simulation shows depends on this.

use std::hash::BuildHasherDefault;

/// `indexmap::IndexMap` with the Fx hasher.
pub(crate) type IndexMap<K, V> = indexmap::IndexMap<K, V, BuildHasherDefault<rustc_hash::FxHasher>>;
