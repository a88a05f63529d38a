//! How a collection is laid out on a Qdrant cluster: shards, replicas and their states, as
//! the server reports them, and where that differs from what this engram asks of new
//! collections. engram reports a difference; it never changes an existing collection's
//! layout (moving replicas is the operator's call: Qdrant's "update collection cluster
//! setup").

use serde::{Deserialize, Serialize};

/// Copies of each shard engram asks for on a cluster when the operator sets none: with 2,
/// any one node can be lost without losing a shard. Qdrant places at most one replica of a
/// shard per node (`ShardDistributionProposal::new` caps the replicas at the number of
/// known peers), so a single node keeps one copy whatever is asked.
pub const DEFAULT_REPLICATION_FACTOR: u32 = 2;

/// The layout of one collection on a Qdrant server or cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClusterLayout {
    /// Shards the collection is split into.
    pub shard_number: u32,
    /// Copies of each shard the collection was created with (Qdrant places at most one
    /// per node, so `shards` may show fewer).
    pub replication_factor: u32,
    /// Replicas that must acknowledge a write.
    pub write_consistency_factor: u32,
    /// Nodes holding at least one replica.
    pub peers: usize,
    /// Each shard's replicas, in shard order.
    pub shards: Vec<ShardReplicas>,
    /// How this engram orders writes among a shard's replicas (`weak`, `medium`, `strong`).
    pub write_ordering: String,
    /// How many replicas answer this engram's reads (`all`, `majority`, `quorum` or a
    /// number).
    pub read_consistency: String,
    /// Where the collection differs from what this engram asks of new collections, one
    /// sentence each; reported, never changed. Empty when it matches.
    pub differs: Vec<String>,
}

/// The replicas of one shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShardReplicas {
    /// The shard's id.
    pub shard: u32,
    /// Replicas placed on nodes.
    pub replicas: u32,
    /// Replicas that are active (serve reads and take writes) in the cluster's record;
    /// fewer than `replicas` while a replica catches up or after a node died. Qdrant marks
    /// a replica dead when a write to it fails, so a collection that took no write since
    /// a node died still counts that node's replicas as active.
    pub active: u32,
}

/// What this engram asks of new collections, for comparison with an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WantedLayout {
    /// Copies of each shard.
    pub replication_factor: u32,
    /// Shards, when the operator set them (otherwise Qdrant's default, one per node).
    pub shard_number: Option<u32>,
    /// Acknowledging replicas, when the operator set them.
    pub write_consistency_factor: Option<u32>,
}

impl ClusterLayout {
    /// Shards with fewer active replicas than placed ones.
    pub fn degraded_shards(&self) -> usize {
        self.shards.iter().filter(|s| s.active < s.replicas).count()
    }

    /// Fills `differs`: the collection against `wanted`. The replication factor is held to
    /// what the nodes holding the collection could carry (`min(wanted, peers)`), so a
    /// collection on a single node is not reported for keeping one copy.
    pub fn compare(&mut self, wanted: WantedLayout) {
        let mut differs = Vec::new();
        let carried = wanted
            .replication_factor
            .min(u32::try_from(self.peers).unwrap_or(u32::MAX));
        if self.replication_factor < carried {
            differs.push(format!(
                "replication factor {} (engram asks for {}): losing one node takes away the \
                 shards it holds",
                self.replication_factor, wanted.replication_factor
            ));
        } else if self.replication_factor != wanted.replication_factor && self.peers > 1 {
            differs.push(format!(
                "replication factor {} (engram asks for {})",
                self.replication_factor, wanted.replication_factor
            ));
        }
        if let Some(shards) = wanted.shard_number
            && shards != self.shard_number
        {
            differs.push(format!(
                "{} shards (engram asks for {shards})",
                self.shard_number
            ));
        }
        if let Some(factor) = wanted.write_consistency_factor
            && factor != self.write_consistency_factor
        {
            differs.push(format!(
                "write consistency factor {} (engram asks for {factor})",
                self.write_consistency_factor
            ));
        }
        self.differs = differs;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(replication_factor: u32, peers: usize, shards: u32) -> ClusterLayout {
        ClusterLayout {
            shard_number: shards,
            replication_factor,
            write_consistency_factor: 1,
            peers,
            shards: (0..shards)
                .map(|shard| ShardReplicas {
                    shard,
                    replicas: replication_factor.min(peers as u32),
                    active: replication_factor.min(peers as u32),
                })
                .collect(),
            write_ordering: "medium".into(),
            read_consistency: "1".into(),
            differs: Vec::new(),
        }
    }

    const DEFAULT: WantedLayout = WantedLayout {
        replication_factor: DEFAULT_REPLICATION_FACTOR,
        shard_number: None,
        write_consistency_factor: None,
    };

    #[test]
    fn one_copy_per_shard_on_a_cluster_is_reported() {
        let mut spread = layout(1, 3, 3);
        spread.compare(DEFAULT);
        assert_eq!(spread.differs.len(), 1, "{:?}", spread.differs);
        assert!(spread.differs[0].starts_with("replication factor 1 (engram asks for 2)"));
    }

    #[test]
    fn a_single_node_keeping_one_copy_is_not_reported() {
        let mut single = layout(1, 1, 1);
        single.compare(DEFAULT);
        assert!(single.differs.is_empty(), "{:?}", single.differs);
        let mut asked_two = layout(2, 1, 1);
        asked_two.compare(DEFAULT);
        assert!(asked_two.differs.is_empty(), "{:?}", asked_two.differs);
    }

    #[test]
    fn explicit_settings_are_compared() {
        let mut three = layout(3, 3, 6);
        three.compare(WantedLayout {
            replication_factor: 2,
            shard_number: Some(3),
            write_consistency_factor: Some(2),
        });
        assert_eq!(
            three.differs,
            [
                "replication factor 3 (engram asks for 2)",
                "6 shards (engram asks for 3)",
                "write consistency factor 1 (engram asks for 2)",
            ]
        );
        let mut matching = layout(2, 3, 3);
        matching.compare(WantedLayout {
            replication_factor: 2,
            shard_number: Some(3),
            write_consistency_factor: Some(1),
        });
        assert!(matching.differs.is_empty());
    }

    #[test]
    fn shards_missing_an_active_replica_are_counted() {
        let mut down = layout(2, 3, 3);
        down.shards[1].active = 1;
        assert_eq!(down.degraded_shards(), 1);
        assert_eq!(layout(2, 3, 3).degraded_shards(), 0);
    }
}
