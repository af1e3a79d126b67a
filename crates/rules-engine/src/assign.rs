//! Round-robin and least-loaded agent selection from caller-provided group data.
//!
//! Deterministic: the same state always picks the same agent. Members are ordered by agent id;
//! the group's `cursor` is the last agent picked, and round-robin continues after it (wrapping).

use crate::ids::{AgentId, GroupId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One agent of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The agent.
    pub agent: AgentId,
    /// Available for assignment (online, not on leave); unavailable agents are never picked.
    pub available: bool,
    /// Open tickets currently assigned (the load).
    pub open_tickets: u32,
    /// Capacity; an agent at capacity is not picked. `None`: unlimited.
    pub max_tickets: Option<u32>,
}

impl Member {
    /// An available agent with no load and no capacity limit.
    pub fn available(agent: AgentId) -> Self {
        Self {
            agent,
            available: true,
            open_tickets: 0,
            max_tickets: None,
        }
    }

    fn eligible(&self) -> bool {
        self.available && self.max_tickets.is_none_or(|m| self.open_tickets < m)
    }
}

/// A group's members and round-robin cursor.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GroupRoster {
    /// Members (any order; duplicates are ignored after the first).
    pub members: Vec<Member>,
    /// The agent picked last; round-robin continues after it.
    pub cursor: Option<AgentId>,
}

/// Assignment data for every group the rules may assign within. Updated by the engine as it assigns
/// (cursor moves, load + 1) and returned in the result for the caller to persist.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AssignmentState {
    /// Rosters by group.
    pub groups: BTreeMap<GroupId, GroupRoster>,
}

impl GroupRoster {
    /// Eligible members ordered by agent id, rotated to start after the cursor.
    fn rotation(&self) -> Vec<AgentId> {
        let mut ids: Vec<AgentId> = Vec::new();
        let mut sorted: Vec<&Member> = Vec::new();
        for m in &self.members {
            if !sorted.iter().any(|s| s.agent == m.agent) {
                sorted.push(m);
            }
        }
        sorted.sort_by_key(|m| m.agent);
        for m in sorted {
            if m.eligible() {
                ids.push(m.agent);
            }
        }
        let start = match self.cursor {
            Some(c) => ids.iter().position(|a| *a > c).unwrap_or(0),
            None => 0,
        };
        let n = ids.len();
        ids.rotate_left(start.min(n));
        ids
    }

    fn load(&self, agent: AgentId) -> u32 {
        self.members
            .iter()
            .find(|m| m.agent == agent)
            .map_or(0, |m| m.open_tickets)
    }

    fn take(&mut self, agent: AgentId) {
        self.cursor = Some(agent);
        if let Some(m) = self.members.iter_mut().find(|m| m.agent == agent) {
            m.open_tickets = m.open_tickets.saturating_add(1);
        }
    }
}

impl AssignmentState {
    /// Picks the next eligible agent after the cursor (wrapping), moves the cursor and counts the
    /// ticket in its load. `None` when the group is unknown or nobody is eligible.
    pub fn round_robin(&mut self, group: GroupId) -> Option<AgentId> {
        let roster = self.groups.get_mut(&group)?;
        let agent = *roster.rotation().first()?;
        roster.take(agent);
        Some(agent)
    }

    /// Picks the eligible agent with the fewest open tickets; ties go to the first in round-robin
    /// order after the cursor. Moves the cursor and counts the ticket.
    pub fn least_loaded(&mut self, group: GroupId) -> Option<AgentId> {
        let roster = self.groups.get_mut(&group)?;
        let rotation = roster.rotation();
        let agent = rotation
            .iter()
            .copied()
            .enumerate()
            .min_by_key(|(i, a)| (roster.load(*a), *i))
            .map(|(_, a)| a)?;
        roster.take(agent);
        Some(agent)
    }

    /// The cursor of a group.
    pub fn cursor(&self, group: GroupId) -> Option<AgentId> {
        self.groups.get(&group).and_then(|r| r.cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_wraps_and_ignores_duplicates() {
        let roster = GroupRoster {
            members: vec![
                Member::available(AgentId(3)),
                Member::available(AgentId(1)),
                Member::available(AgentId(3)),
                Member::available(AgentId(2)),
            ],
            cursor: Some(AgentId(2)),
        };
        assert_eq!(roster.rotation(), vec![AgentId(3), AgentId(1), AgentId(2)]);
        let after_last = GroupRoster {
            cursor: Some(AgentId(9)),
            ..roster
        };
        assert_eq!(after_last.rotation()[0], AgentId(1));
    }
}
