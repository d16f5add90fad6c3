//! Tokens, roles and scopes.
//!
//! A token is `att_<id>_<secret>`: 64 random bits of public id and 256 of
//! secret, from the operating system's generator through a ChaCha stream.
//! Only its SHA-256 is stored. The server keeps the tokens it has seen in
//! memory while the store's token generation (count, revoked count and the
//! sum of each row's random nonce) is unchanged, reading it at most every
//! 20 ms, so a revocation, or a row deleted by hand, holds within 20 ms.

use std::collections::HashSet;
use std::str::FromStr;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use crate::domain::{OrgChart, RepId};
use crate::features::Level;
use crate::store::{Store, StoreError, TokenRecord};

/// What a token may do.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including ingest, training and tokens' data.
    Admin,
    /// Every forecast and list, read-only.
    Leader,
    /// The reps under one manager, transitively.
    Manager,
    /// Every commission figure and plan; forecasts read-only.
    Finance,
    /// One rep's own records.
    Rep,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Leader,
        Role::Manager,
        Role::Finance,
        Role::Rep,
    ];

    /// The name used on the command line and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Leader => "leader",
            Role::Manager => "manager",
            Role::Finance => "finance",
            Role::Rep => "rep",
        }
    }

    /// Whether tokens of this role are limited to a person (`--scope`).
    pub fn needs_scope(self) -> bool {
        matches!(self, Role::Manager | Role::Rep)
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        crate::domain::by_name(&Role::ALL, s, "role", Role::as_str)
    }
}

/// Why a token could not be made or revoked.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Role and scope do not fit together, or the scope is unknown.
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Tokens attain issues are 89 characters; anything far longer is not
/// worth hashing.
pub const MAX_TOKEN_LEN: usize = 256;

/// The stored hash of a token.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// [`create_token_by`] with the audit trail naming `system` as the maker.
pub async fn create_token(
    store: &Store,
    role: Role,
    scope: Option<&str>,
    name: Option<&str>,
    expires: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(TokenRecord, String), TokenError> {
    create_token_by(store, "system", role, scope, name, expires).await
}

/// Creates and stores a token, with an audit event naming `actor`; returns
/// its record and the token itself (the only time it is seen). A manager's
/// scope must be someone who manages someone; a rep's, a stored person.
pub async fn create_token_by(
    store: &Store,
    actor: &str,
    role: Role,
    scope: Option<&str>,
    name: Option<&str>,
    expires: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(TokenRecord, String), TokenError> {
    if let Some(at) = expires.filter(|at| *at <= chrono::Utc::now()) {
        return Err(TokenError::Invalid(format!(
            "--expires {}: that is not in the future",
            at.to_rfc3339()
        )));
    }
    match (role.needs_scope(), scope) {
        (true, None) => {
            return Err(TokenError::Invalid(format!(
                "a {} token needs --scope (the person it is limited to)",
                role.as_str()
            )));
        }
        (false, Some(_)) => {
            return Err(TokenError::Invalid(format!(
                "a {} token sees the whole organisation: --scope is only for manager and rep tokens",
                role.as_str()
            )));
        }
        _ => {}
    }
    if let Some(id) = scope {
        let reps = store.reps().await?;
        if !reps.iter().any(|r| r.rep_id.as_str() == id) {
            return Err(TokenError::Invalid(format!(
                "--scope {id:?}: no such person is stored (ingest reps.csv first)"
            )));
        }
        if role == Role::Manager
            && !reps
                .iter()
                .any(|r| r.manager_id.as_ref().is_some_and(|m| m.as_str() == id))
        {
            return Err(TokenError::Invalid(format!(
                "--scope {id:?}: nobody reports to this person, so a manager token would see nothing"
            )));
        }
    }
    let mut rng = rand::rng();
    let mut id = [0u8; 8];
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut id);
    rng.fill_bytes(&mut secret);
    let token_id = hex(&id);
    let token = format!("att_{token_id}_{}", hex(&secret));
    let record = TokenRecord {
        token_id,
        name: name.unwrap_or(role.as_str()).to_owned(),
        role: role.as_str().to_owned(),
        scope: scope.map(str::to_owned),
        created_at: chrono::Utc::now().to_rfc3339(),
        revoked_at: None,
        expires_at: expires.map(|at| at.to_rfc3339()),
    };
    store
        .insert_token(&record, &token_hash(&token), actor)
        .await?;
    Ok((record, token))
}

/// A fresh admin token named `demo`; the demo's earlier tokens are revoked
/// first, so one demo token is live at a time.
pub async fn rotate_demo_token(store: &Store) -> Result<String, TokenError> {
    for old in store.tokens().await? {
        if old.name == "demo" && old.revoked_at.is_none() {
            store.revoke_token(&old.token_id, "demo").await?;
        }
    }
    let (_, token) = create_token_by(store, "demo", Role::Admin, None, Some("demo"), None).await?;
    Ok(token)
}

/// The caller of a request, from their token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's public id.
    pub token_id: String,
    /// The token's name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The manager or rep it is limited to.
    pub scope: Option<String>,
    /// When it stops working, if ever.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Principal {
    /// How the audit trail names the caller: the token's name, role and id.
    pub fn actor(&self) -> String {
        format!(
            "{} ({}, token {})",
            self.name,
            self.role.as_str(),
            self.token_id
        )
    }

    /// Looks a token up by its hash. `None` when it is unknown, revoked or
    /// expired, or limited to a person who has left (their end date has
    /// passed).
    pub async fn from_hash(store: &Store, hash: &str) -> Result<Option<Principal>, ApiError> {
        let Some(record) = store.token_by_hash(hash).await? else {
            return Ok(None);
        };
        let role = record
            .role
            .parse()
            .map_err(|e: String| ApiError::internal_fault(&e))?;
        let expires_at = match &record.expires_at {
            Some(at) => Some(
                chrono::DateTime::parse_from_rfc3339(at)
                    .map_err(|e| ApiError::internal_fault(&e.to_string()))?
                    .with_timezone(&chrono::Utc),
            ),
            None => None,
        };
        let principal = Principal {
            token_id: record.token_id,
            name: record.name,
            role,
            scope: record.scope,
            expires_at,
        };
        if !principal.live() {
            return Ok(None);
        }
        if let Some(person) = &principal.scope {
            let today = chrono::Utc::now().date_naive();
            let left = store
                .reps()
                .await?
                .iter()
                .find(|r| r.rep_id.as_str() == person.as_str())
                .is_none_or(|r| r.end_date.is_some_and(|end| end < today));
            if left {
                return Ok(None);
            }
        }
        Ok(Some(principal))
    }

    /// Whether it has not expired.
    pub fn live(&self) -> bool {
        self.expires_at.is_none_or(|at| chrono::Utc::now() < at)
    }

    /// Looks a bearer token up. `None` when it is unknown or revoked.
    pub async fn from_token(store: &Store, token: &str) -> Result<Option<Principal>, ApiError> {
        if token.len() > MAX_TOKEN_LEN {
            return Ok(None);
        }
        Principal::from_hash(store, &token_hash(token)).await
    }

    /// 403 unless the role is one of `roles`.
    pub fn require(&self, roles: &[Role], what: &str) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "a {} token may not {what}",
                self.role.as_str()
            )))
        }
    }

    /// The people this principal may see.
    pub fn reach(&self, org: &OrgChart) -> Reach {
        match (self.role, &self.scope) {
            (Role::Manager, Some(m)) => {
                let mut people: HashSet<String> = HashSet::new();
                people.insert(m.clone());
                if let Ok(id) = RepId::parse(m) {
                    people.extend(org.all_reports(&id).into_iter().map(|r| r.to_string()));
                }
                Reach::People(people)
            }
            (Role::Rep, Some(r)) => Reach::People(HashSet::from([r.clone()])),
            _ => Reach::All,
        }
    }
}

/// Whose records a principal may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Everyone's.
    All,
    /// These people's (rep ids), and the teams of the managers among them.
    People(HashSet<String>),
}

impl Reach {
    /// Whether a rep's records are visible.
    pub fn sees_rep(&self, rep_id: &str) -> bool {
        match self {
            Reach::All => true,
            Reach::People(p) => p.contains(rep_id),
        }
    }

    /// Whether an entity of the hierarchy is visible: a rep or a manager's
    /// team inside the reach; territories, regions and the company only to
    /// those who see everyone (a manager's team need not fill a territory).
    pub fn sees_entity(&self, level: Level, id: &str) -> bool {
        match self {
            Reach::All => true,
            Reach::People(p) => matches!(level, Level::Rep | Level::Manager) && p.contains(id),
        }
    }

    /// Whether the reach is everyone.
    pub fn is_all(&self) -> bool {
        matches!(self, Reach::All)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_tokens_hash_stably() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().expect("a role name"), r);
        }
        assert!("root".parse::<Role>().is_err());
        assert_eq!(token_hash("abc"), token_hash("abc"));
        assert_ne!(token_hash("abc"), token_hash("abd"));
        assert_eq!(token_hash("x").len(), 64);
    }

    #[test]
    fn a_manager_reaches_their_team_transitively_and_nothing_else() {
        let links = [
            ("VP", None),
            ("M1", Some("VP")),
            ("A", Some("M1")),
            ("M2", Some("M1")),
            ("B", Some("M2")),
            ("C", Some("VP")),
        ];
        let ids: Vec<(RepId, Option<RepId>)> = links
            .iter()
            .map(|(r, m)| {
                (
                    RepId::parse(r).expect("a rep id"),
                    m.map(|m| RepId::parse(m).expect("a manager id")),
                )
            })
            .collect();
        let org =
            OrgChart::build(ids.iter().map(|(r, m)| (r, m.as_ref()))).expect("an acyclic chart");
        let m1 = Principal {
            token_id: "t".into(),
            name: "m1".into(),
            role: Role::Manager,
            scope: Some("M1".into()),
            expires_at: None,
        };
        let reach = m1.reach(&org);
        for seen in ["M1", "A", "M2", "B"] {
            assert!(reach.sees_rep(seen), "{seen}");
        }
        for hidden in ["VP", "C"] {
            assert!(!reach.sees_rep(hidden), "{hidden}");
        }
        assert!(reach.sees_entity(Level::Manager, "M2"));
        assert!(!reach.sees_entity(Level::Company, "company"));
        let leader = Principal {
            role: Role::Leader,
            scope: None,
            ..m1
        };
        assert!(leader.reach(&org).is_all());
    }
}
