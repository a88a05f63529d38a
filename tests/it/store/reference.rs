//! Brute-force references the store is checked against: Qdrant's filter semantics evaluated
//! on the payloads directly, and exact cosine top-k.

use engram::store::{Condition, Filter, Payload, PointId};
use serde_json::Value;

/// Whether a point passes `filter`, by Qdrant's rules: all `must`, at least one `should`
/// (if any), no `must_not`; a condition on an array field holds if it holds for an element.
pub fn passes(filter: &Filter, id: PointId, payload: &Payload) -> bool {
    filter.must.iter().all(|c| holds(c, id, payload))
        && (filter.should.is_empty() || filter.should.iter().any(|c| holds(c, id, payload)))
        && !filter.must_not.iter().any(|c| holds(c, id, payload))
}

fn values<'a>(payload: &'a Payload, field: &str) -> Vec<&'a Value> {
    match payload.get(field) {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(items)) => items.iter().collect(),
        Some(value) => vec![value],
    }
}

fn holds(condition: &Condition, id: PointId, payload: &Payload) -> bool {
    match condition {
        Condition::Keyword { field, value } => values(payload, field)
            .iter()
            .any(|v| v.as_str() == Some(value.as_str())),
        Condition::KeywordAny {
            field,
            values: wanted,
        } => values(payload, field)
            .iter()
            .any(|v| v.as_str().is_some_and(|s| wanted.iter().any(|w| w == s))),
        Condition::Integer { field, value } => values(payload, field)
            .iter()
            .any(|v| v.as_i64() == Some(*value)),
        Condition::Bool { field, value } => values(payload, field)
            .iter()
            .any(|v| v.as_bool() == Some(*value)),
        Condition::Range { field, range } => values(payload, field)
            .iter()
            .any(|v| v.as_f64().is_some_and(|x| range.contains(x))),
        // Qdrant's is_empty: missing, null or [] (an array of nulls too).
        Condition::IsEmpty { field } => values(payload, field).iter().all(|v| v.is_null()),
        Condition::HasId(ids) => ids.contains(&id),
        Condition::Filter(inner) => passes(inner, id, payload),
    }
}

/// Cosine similarity of unit vectors.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The ids of the `k` vectors most similar to `query` (all unit length), best first.
pub fn exact_top_k(points: &[(PointId, Vec<f32>)], query: &[f32], k: usize) -> Vec<PointId> {
    let mut scored: Vec<(f32, PointId)> =
        points.iter().map(|(id, v)| (dot(v, query), *id)).collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(k).map(|(_, id)| id).collect()
}

/// A small deterministic generator (xorshift64*), so the suite needs no RNG crate and every
/// run sees the same data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A standard normal sample (Box–Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = self.unit().max(1e-12);
        let u2 = self.unit();
        ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
    }

    /// A random direction in `dim` dimensions, unit length.
    pub fn unit_vector(&mut self, dim: usize) -> Vec<f32> {
        let mut v: Vec<f32> = (0..dim).map(|_| self.normal()).collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        v
    }
}
