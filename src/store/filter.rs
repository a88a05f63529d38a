//! Payload filters, in engram's own terms; each backend translates them.
//!
//! Semantics follow Qdrant's: every `must` condition holds, at least one `should` condition
//! holds (when there are any), no `must_not` condition holds. A condition on a field whose
//! value is an array holds when it holds for any element.

use serde::{Deserialize, Serialize};

use super::types::PointId;

/// A boolean combination of conditions on a point's payload and id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Filter {
    /// All of these hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub must: Vec<Condition>,
    /// At least one of these holds (ignored when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub should: Vec<Condition>,
    /// None of these holds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub must_not: Vec<Condition>,
}

impl Filter {
    /// A filter where every condition must hold.
    pub fn all(conditions: impl IntoIterator<Item = Condition>) -> Self {
        Self {
            must: conditions.into_iter().collect(),
            ..Self::default()
        }
    }

    /// A filter where at least one condition must hold.
    pub fn any(conditions: impl IntoIterator<Item = Condition>) -> Self {
        Self {
            should: conditions.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Adds a condition that must hold.
    pub fn and(mut self, condition: Condition) -> Self {
        self.must.push(condition);
        self
    }

    /// Adds a condition that must not hold.
    pub fn and_not(mut self, condition: Condition) -> Self {
        self.must_not.push(condition);
        self
    }

    /// Whether the filter has no conditions (and so passes everything).
    pub fn is_empty(&self) -> bool {
        self.must.is_empty() && self.should.is_empty() && self.must_not.is_empty()
    }

    /// Every payload field the filter reads, for checking them against the indexed fields.
    pub fn fields(&self) -> Vec<&str> {
        let mut fields = Vec::new();
        for condition in self.must.iter().chain(&self.should).chain(&self.must_not) {
            condition.collect_fields(&mut fields);
        }
        fields
    }
}

/// One condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// The keyword field equals `value` exactly.
    Keyword {
        /// The payload field.
        field: String,
        /// The exact value.
        value: String,
    },
    /// The keyword field equals one of `values`.
    KeywordAny {
        /// The payload field.
        field: String,
        /// Accepted values.
        values: Vec<String>,
    },
    /// The integer field equals `value`.
    Integer {
        /// The payload field.
        field: String,
        /// The exact value.
        value: i64,
    },
    /// The boolean field equals `value`.
    Bool {
        /// The payload field.
        field: String,
        /// The value.
        value: bool,
    },
    /// The numeric (integer or float) field lies in the range.
    Range {
        /// The payload field.
        field: String,
        /// The bounds.
        range: Range,
    },
    /// The field is missing, null or an empty array (Qdrant's `is_empty`): for writes that
    /// accept points which never had the field.
    IsEmpty {
        /// The payload field.
        field: String,
    },
    /// The point's id is one of these.
    HasId(Vec<PointId>),
    /// A nested filter, for combinations such as `a AND (b OR c)`.
    Filter(Box<Filter>),
}

impl Condition {
    /// `field == value` for a keyword field.
    pub fn keyword(field: impl Into<String>, value: impl Into<String>) -> Self {
        Self::Keyword {
            field: field.into(),
            value: value.into(),
        }
    }

    /// `field >= min` for a numeric field.
    pub fn at_least(field: impl Into<String>, min: f64) -> Self {
        Self::Range {
            field: field.into(),
            range: Range {
                gte: Some(min),
                ..Range::default()
            },
        }
    }

    /// `field < max` for a numeric field.
    pub fn below(field: impl Into<String>, max: f64) -> Self {
        Self::Range {
            field: field.into(),
            range: Range {
                lt: Some(max),
                ..Range::default()
            },
        }
    }

    /// `field <= max` for a numeric field.
    pub fn at_most(field: impl Into<String>, max: f64) -> Self {
        Self::Range {
            field: field.into(),
            range: Range {
                lte: Some(max),
                ..Range::default()
            },
        }
    }

    /// The field is missing, null or empty.
    pub fn is_empty(field: impl Into<String>) -> Self {
        Self::IsEmpty {
            field: field.into(),
        }
    }

    /// Holds when any of `conditions` holds (a nested `should`).
    pub fn either(conditions: impl IntoIterator<Item = Condition>) -> Self {
        Self::Filter(Box::new(Filter::any(conditions)))
    }

    fn collect_fields<'a>(&'a self, fields: &mut Vec<&'a str>) {
        match self {
            Self::Keyword { field, .. }
            | Self::KeywordAny { field, .. }
            | Self::Integer { field, .. }
            | Self::Bool { field, .. }
            | Self::IsEmpty { field }
            | Self::Range { field, .. } => fields.push(field),
            Self::HasId(_) => {}
            Self::Filter(filter) => fields.extend(filter.fields()),
        }
    }
}

/// Bounds of a numeric range; unset bounds are open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Range {
    /// Strictly greater than.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gt: Option<f64>,
    /// Greater than or equal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gte: Option<f64>,
    /// Strictly less than.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lt: Option<f64>,
    /// Less than or equal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lte: Option<f64>,
}

impl Range {
    /// Whether `x` lies within the bounds.
    pub fn contains(&self, x: f64) -> bool {
        self.gt.is_none_or(|b| x > b)
            && self.gte.is_none_or(|b| x >= b)
            && self.lt.is_none_or(|b| x < b)
            && self.lte.is_none_or(|b| x <= b)
    }

    /// Whether every bound is a finite number.
    pub fn is_finite(&self) -> bool {
        [self.gt, self.gte, self.lt, self.lte]
            .iter()
            .flatten()
            .all(|b| b.is_finite())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_bounds() {
        let r = Range {
            gt: Some(1.0),
            lte: Some(3.0),
            ..Range::default()
        };
        assert!(!r.contains(1.0));
        assert!(r.contains(1.5));
        assert!(r.contains(3.0));
        assert!(!r.contains(3.5));
        assert!(Range::default().contains(f64::MAX));
        assert!(
            !Range {
                gte: Some(f64::NAN),
                ..Range::default()
            }
            .is_finite()
        );
    }

    #[test]
    fn fields_include_nested_ones() {
        let filter = Filter::all([Condition::keyword("language", "rust")]).and(Condition::Filter(
            Box::new(Filter::any([
                Condition::at_least("success_rate", 0.5),
                Condition::HasId(vec![]),
            ])),
        ));
        assert_eq!(filter.fields(), vec!["language", "success_rate"]);
    }
}
