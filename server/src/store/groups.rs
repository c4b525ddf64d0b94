//! Groups: rules, members, nesting.

use std::collections::BTreeSet;

use async_trait::async_trait;
use shared::groups::GroupKind;

use super::{Actor, StoreResult};

/// A stored group with its own members and the groups nested in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Static or dynamic.
    pub kind: GroupKind,
    /// The rule's text, for dynamic groups.
    pub rule: Option<String>,
    /// Explicit members (static groups).
    pub members: BTreeSet<String>,
    /// Groups nested directly in this one.
    pub children: Vec<String>,
}

/// What nesting a group did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NestOutcome {
    /// Done (or already so).
    Nested,
    /// Refused: the chain of group ids that would loop.
    Cycle(Vec<String>),
    /// One of the groups does not exist.
    UnknownGroup,
}

/// Groups: rules, members, nesting.
#[async_trait]
pub trait GroupStore: Send + Sync + 'static {
    /// Every group with its own members and nested groups, by name.
    async fn list_groups(&self) -> StoreResult<Vec<GroupRecord>>;
    /// Stores a new group; false when the name is taken (ignoring case).
    async fn create_group(&self, group: &GroupRecord, actor: &Actor) -> StoreResult<bool>;
    /// Changes name, description or rule; `Ok(None)` when there is no such group, `Ok(Some(false))` when the new
    /// name is taken.
    async fn update_group(
        &self,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
        rule: Option<&str>,
        actor: &Actor,
    ) -> StoreResult<Option<bool>>;
    /// Deletes a group (its memberships and nestings go with it); false when there is no such group.
    async fn delete_group(&self, id: &str, actor: &Actor) -> StoreResult<bool>;
    /// Adds devices to a static group, all or none; returns the ids that are not devices (nothing is added then).
    async fn add_group_members(&self, id: &str, device_ids: &[String], actor: &Actor) -> StoreResult<Vec<String>>;
    /// Removes devices from a static group.
    async fn remove_group_members(&self, id: &str, device_ids: &[String], actor: &Actor) -> StoreResult<()>;
    /// Nests `child` in `parent`, refusing a loop; the check and the write happen in one transaction.
    async fn nest_group(&self, parent: &str, child: &str, actor: &Actor) -> StoreResult<NestOutcome>;
    /// Takes `child` out of `parent`; false when it was not nested there.
    async fn unnest_group(&self, parent: &str, child: &str, actor: &Actor) -> StoreResult<bool>;
}
