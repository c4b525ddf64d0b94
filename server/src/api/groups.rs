//! Device groups: list, create (static or dynamic), detail with members, change, delete, members, nesting, and the
//! live "matches N devices" preview of a rule. Membership is resolved with `shared::groups`.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use shared::Violation;
use shared::api::{
    CreateGroup, GroupDetail, GroupMember, GroupRef, GroupSummary, MemberChange, NestGroup, RulePreview,
    RulePreviewRequest, UpdateGroup,
};
use shared::device::DeviceFacts;
use shared::groups::{ALL_DEVICES, GroupDefinition, GroupKind, Membership, Rule, resolve_members, validate_group_text};

use crate::AppState;
use crate::auth::AdminSession;
use crate::credentials::random_guid;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::store::{GroupRecord, NestOutcome};

/// Every group and every device, loaded once per request, with memberships resolved from them.
struct Directory {
    groups: Vec<GroupRecord>,
    definitions: BTreeMap<String, GroupDefinition>,
    devices: Vec<(String, DeviceFacts)>,
}

impl Directory {
    async fn load(state: &AppState) -> Result<Self, ApiError> {
        let groups = state.store.list_groups().await?;
        let devices = state.store.all_device_facts().await?;
        let definitions = definitions(&groups)?;
        Ok(Self { groups, definitions, devices })
    }

    fn members(&self, id: &str) -> BTreeSet<String> {
        resolve_members(id, &self.definitions, self.devices.iter().map(|(id, facts)| (id.as_str(), facts)))
    }

    /// Members through this group's own membership only, not through nested groups.
    fn direct_members(&self, id: &str) -> BTreeSet<String> {
        let Some(definition) = self.definitions.get(id) else { return BTreeSet::new() };
        let own = BTreeMap::from([(
            id.to_owned(),
            GroupDefinition { membership: definition.membership.clone(), children: Vec::new() },
        )]);
        resolve_members(id, &own, self.devices.iter().map(|(id, facts)| (id.as_str(), facts)))
    }

    fn find(&self, id: &str) -> Option<&GroupRecord> {
        self.groups.iter().find(|group| group.id == id)
    }

    fn name_of(&self, id: &str) -> GroupRef {
        let name = self.find(id).map_or_else(|| id.to_owned(), |group| group.name.clone());
        GroupRef { id: id.to_owned(), name }
    }

    fn all_devices_summary(&self) -> GroupSummary {
        GroupSummary {
            id: ALL_DEVICES.to_owned(),
            name: "All devices".to_owned(),
            description: "Every onboarded device. Built in; it cannot be changed.".to_owned(),
            kind: GroupKind::Dynamic,
            rule: None,
            n_members: self.devices.len() as u64,
            n_nested: 0,
            built_in: true,
        }
    }

    fn summary(&self, group: &GroupRecord) -> GroupSummary {
        GroupSummary {
            id: group.id.clone(),
            name: group.name.clone(),
            description: group.description.clone(),
            kind: group.kind,
            rule: group.rule.clone(),
            n_members: self.members(&group.id).len() as u64,
            n_nested: group.children.len() as u64,
            built_in: false,
        }
    }

    fn detail(&self, id: &str) -> Result<GroupDetail, ApiError> {
        let (summary, members, direct, nested, nested_in) = if id == ALL_DEVICES {
            let all: BTreeSet<String> = self.devices.iter().map(|(id, _)| id.clone()).collect();
            (self.all_devices_summary(), all.clone(), all, Vec::new(), Vec::new())
        } else {
            let group = self.find(id).ok_or_else(|| ApiError::NotFound("No group has this id.".into()))?;
            let nested = group.children.iter().map(|child| self.name_of(child)).collect();
            let nested_in = self
                .groups
                .iter()
                .filter(|g| g.children.iter().any(|c| c == id))
                .map(|g| self.name_of(&g.id))
                .collect();
            (self.summary(group), self.members(id), self.direct_members(id), nested, nested_in)
        };
        let mut members: Vec<GroupMember> = self
            .devices
            .iter()
            .filter(|(device_id, _)| members.contains(device_id))
            .map(|(device_id, facts)| GroupMember {
                id: device_id.clone(),
                hostname: facts.hostname.to_string(),
                managed_by: facts.managed_by,
                os: facts.os,
                direct: direct.contains(device_id),
            })
            .collect();
        members.sort_by_key(|member| member.hostname.to_ascii_lowercase());
        Ok(GroupDetail { summary, members, nested, nested_in })
    }
}

/// The groups as membership resolution needs them, with their rules parsed.
pub(crate) fn definitions(groups: &[GroupRecord]) -> Result<BTreeMap<String, GroupDefinition>, ApiError> {
    let mut definitions = BTreeMap::new();
    for group in groups {
        let membership = match (&group.kind, &group.rule) {
            (GroupKind::Dynamic, Some(text)) => Membership::Dynamic(
                Rule::parse(text, "rule")
                    .map_err(|_| ApiError::Internal(format!("stored rule of group {} no longer parses", group.id)))?,
            ),
            _ => Membership::Static(group.members.clone()),
        };
        definitions.insert(group.id.clone(), GroupDefinition { membership, children: group.children.clone() });
    }
    Ok(definitions)
}

fn refuse_built_in(id: &str) -> Result<(), ApiError> {
    if id == ALL_DEVICES {
        Err(ApiError::invalid("", "All devices is built in and cannot be changed."))
    } else {
        Ok(())
    }
}

/// Every group, *All devices* first.
pub async fn groups_list(
    State(state): State<AppState>,
    _session: AdminSession,
) -> Result<Json<Vec<GroupSummary>>, ApiError> {
    let directory = Directory::load(&state).await?;
    let mut groups = vec![directory.all_devices_summary()];
    groups.extend(directory.groups.iter().map(|group| directory.summary(group)));
    Ok(Json(groups))
}

/// Creates a static or dynamic group.
pub async fn groups_create(
    State(state): State<AppState>,
    session: AdminSession,
    ApiJson(create): ApiJson<CreateGroup>,
) -> Result<(StatusCode, Json<GroupDetail>), ApiError> {
    let mut violations = validate_group_text(&create.name, &create.description);
    let rule = match (create.kind, &create.rule) {
        (GroupKind::Dynamic, Some(text)) => match Rule::parse(text, "rule") {
            Ok(rule) => Some(rule),
            Err(errors) => {
                violations.extend(errors);
                None
            }
        },
        (GroupKind::Dynamic, None) => {
            violations.push(Violation::new("rule", "a dynamic group needs a rule, e.g. managed_by == \"mde\""));
            None
        }
        (GroupKind::Static, Some(_)) => {
            violations.push(Violation::new("rule", "a static group has no rule; add its members instead"));
            None
        }
        (GroupKind::Static, None) => None,
    };
    if !violations.is_empty() {
        return Err(ApiError::Invalid(violations));
    }
    let record = GroupRecord {
        id: random_guid().to_string(),
        name: create.name.trim().to_owned(),
        description: create.description.trim().to_owned(),
        kind: create.kind,
        rule: rule.map(|rule| rule.text().to_owned()),
        members: BTreeSet::new(),
        children: Vec::new(),
    };
    if !state.store.create_group(&record, &session.actor()).await? {
        return Err(ApiError::invalid("name", format!("a group named \"{}\" already exists", record.name)));
    }
    let directory = Directory::load(&state).await?;
    Ok((StatusCode::CREATED, Json(directory.detail(&record.id)?)))
}

/// A group with its members and nesting.
pub async fn groups_get(
    State(state): State<AppState>,
    _session: AdminSession,
    Path(id): Path<String>,
) -> Result<Json<GroupDetail>, ApiError> {
    Ok(Json(Directory::load(&state).await?.detail(&id)?))
}

/// Renames a group, changes its description, or (dynamic groups) its rule.
pub async fn groups_update(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
    ApiJson(update): ApiJson<UpdateGroup>,
) -> Result<Json<GroupDetail>, ApiError> {
    refuse_built_in(&id)?;
    let directory = Directory::load(&state).await?;
    let group = directory.find(&id).ok_or_else(|| ApiError::NotFound("No group has this id.".into()))?;
    let name = update.name.as_deref().map(str::trim);
    let description = update.description.as_deref().map(str::trim);
    let mut violations = validate_group_text(name.unwrap_or(&group.name), description.unwrap_or(&group.description));
    let rule = match (&update.rule, group.kind) {
        (None, _) => None,
        (Some(_), GroupKind::Static) => {
            violations.push(Violation::new("rule", "a static group has no rule"));
            None
        }
        (Some(text), GroupKind::Dynamic) => match Rule::parse(text, "rule") {
            Ok(rule) => Some(rule.text().to_owned()),
            Err(errors) => {
                violations.extend(errors);
                None
            }
        },
    };
    if !violations.is_empty() {
        return Err(ApiError::Invalid(violations));
    }
    match state.store.update_group(&id, name, description, rule.as_deref(), &session.actor()).await? {
        None => Err(ApiError::NotFound("No group has this id.".into())),
        Some(false) => {
            Err(ApiError::invalid("name", format!("a group named \"{}\" already exists", name.unwrap_or_default())))
        }
        Some(true) => Ok(Json(Directory::load(&state).await?.detail(&id)?)),
    }
}

/// Deletes a group.
pub async fn groups_delete(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    refuse_built_in(&id)?;
    let assigned: Vec<String> = state
        .store
        .list_policies()
        .await?
        .into_iter()
        .filter(|policy| {
            policy.draft.assignments.included().chain(policy.draft.assignments.excluded()).any(|g| g == id)
        })
        .map(|policy| format!("\"{}\"", policy.draft.name))
        .collect();
    if !assigned.is_empty() {
        return Err(ApiError::Conflict(format!(
            "The group is assigned to {}; remove it from those assignments first.",
            assigned.join(", ")
        )));
    }
    if state.store.delete_group(&id, &session.actor()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("No group has this id.".into()))
    }
}

async fn static_group(state: &AppState, id: &str) -> Result<(), ApiError> {
    refuse_built_in(id)?;
    let groups = state.store.list_groups().await?;
    let group = groups.iter().find(|g| g.id == id).ok_or_else(|| ApiError::NotFound("No group has this id.".into()))?;
    if group.kind == GroupKind::Dynamic {
        return Err(ApiError::invalid("", "A dynamic group's members follow its rule; change the rule instead."));
    }
    Ok(())
}

fn check_device_ids(change: &MemberChange) -> Result<(), ApiError> {
    if change.device_ids.is_empty() {
        return Err(ApiError::invalid("device_ids", "must name at least one device"));
    }
    if change.device_ids.len() > 10_000 {
        return Err(ApiError::invalid("device_ids", "must name at most 10,000 devices at a time"));
    }
    Ok(())
}

/// Adds devices to a static group (all of them, or none when one is unknown).
pub async fn groups_add_members(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
    ApiJson(change): ApiJson<MemberChange>,
) -> Result<Json<GroupDetail>, ApiError> {
    check_device_ids(&change)?;
    static_group(&state, &id).await?;
    let unknown = state.store.add_group_members(&id, &change.device_ids, &session.actor()).await?;
    if !unknown.is_empty() {
        let violations = change
            .device_ids
            .iter()
            .enumerate()
            .filter(|(_, device_id)| unknown.contains(device_id))
            .map(|(i, device_id)| {
                Violation::new(format!("device_ids[{i}]"), format!("no device has the id {device_id:?}"))
            })
            .collect();
        return Err(ApiError::Invalid(violations));
    }
    Ok(Json(Directory::load(&state).await?.detail(&id)?))
}

/// Removes devices from a static group.
pub async fn groups_remove_members(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
    ApiJson(change): ApiJson<MemberChange>,
) -> Result<Json<GroupDetail>, ApiError> {
    check_device_ids(&change)?;
    static_group(&state, &id).await?;
    state.store.remove_group_members(&id, &change.device_ids, &session.actor()).await?;
    Ok(Json(Directory::load(&state).await?.detail(&id)?))
}

/// Nests a group in this one; a nesting that would make a group contain itself is refused, naming the loop.
pub async fn groups_nest(
    State(state): State<AppState>,
    session: AdminSession,
    Path(id): Path<String>,
    ApiJson(nest): ApiJson<NestGroup>,
) -> Result<Json<GroupDetail>, ApiError> {
    refuse_built_in(&id)?;
    if nest.group_id == ALL_DEVICES {
        return Err(ApiError::invalid("group_id", "All devices cannot be nested; assign it directly instead"));
    }
    match state.store.nest_group(&id, &nest.group_id, &session.actor()).await? {
        NestOutcome::Nested => Ok(Json(Directory::load(&state).await?.detail(&id)?)),
        NestOutcome::UnknownGroup => Err(ApiError::NotFound("No group has this id.".into())),
        NestOutcome::Cycle(chain) => {
            let directory = Directory::load(&state).await?;
            let names: Vec<String> = chain.iter().map(|id| directory.name_of(id).name).collect();
            let message = if chain.len() == 1 {
                "a group cannot be nested in itself".to_owned()
            } else {
                format!(
                    "\"{}\" cannot go into \"{}\": it already contains it ({})",
                    names[0],
                    names[names.len() - 1],
                    names.join(" contains ")
                )
            };
            Err(ApiError::invalid("group_id", message))
        }
    }
}

/// Takes a nested group out of this one.
pub async fn groups_unnest(
    State(state): State<AppState>,
    session: AdminSession,
    Path((id, child)): Path<(String, String)>,
) -> Result<Json<GroupDetail>, ApiError> {
    if state.store.unnest_group(&id, &child, &session.actor()).await? {
        Ok(Json(Directory::load(&state).await?.detail(&id)?))
    } else {
        Err(ApiError::NotFound("That group is not nested here.".into()))
    }
}

/// How many devices a rule matches, with a few examples: the live preview of the group form.
pub async fn groups_preview(
    State(state): State<AppState>,
    _session: AdminSession,
    ApiJson(request): ApiJson<RulePreviewRequest>,
) -> Result<Json<RulePreview>, ApiError> {
    let rule = Rule::parse(&request.rule, "rule").map_err(ApiError::Invalid)?;
    let devices = state.store.all_device_facts().await?;
    let mut matching: Vec<String> =
        devices.iter().filter(|(_, facts)| rule.matches(facts)).map(|(_, facts)| facts.hostname.to_string()).collect();
    let n_matching = matching.len() as u64;
    matching.sort_by_key(|name| name.to_ascii_lowercase());
    matching.truncate(10);
    Ok(Json(RulePreview { n_matching, sample: matching }))
}
