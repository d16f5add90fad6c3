//! `attain token`: create, list and revoke API tokens.

use anyhow::{Result, bail};
use clap::Subcommand;

use attain::api::{self, Role};
use attain::output::{self, Grid, OutputFormat};
use attain::store::Store;

use super::Global;

#[derive(Subcommand)]
pub enum TokenAction {
    /// Make a token; it is printed alone on the last line of stdout, once
    Create {
        /// admin, leader, manager, finance or rep
        #[arg(long)]
        role: String,
        /// The manager (for a manager token) or rep (for a rep token) it is limited to
        #[arg(long)]
        scope: Option<String>,
        /// A label: who or what uses it
        #[arg(long)]
        name: Option<String>,
    },
    /// Every token (ids, roles, scopes; never the tokens)
    List {
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Revoke a token by its id (from `attain token list`); effective at once
    Revoke {
        /// The token id
        token_id: String,
    },
}

pub async fn run(global: &Global, action: TokenAction) -> Result<()> {
    let settings = global.settings()?;
    let store = Store::connect(&settings.database_url).await?;
    match action {
        TokenAction::Create { role, scope, name } => {
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let (record, token) =
                api::create_token(&store, role, scope.as_deref(), name.as_deref()).await?;
            outln!(
                "created {} token {}{} (shown once; revoke with attain token revoke {}):",
                record.role,
                record.token_id,
                record
                    .scope
                    .as_deref()
                    .map(|s| format!(" limited to {s}"))
                    .unwrap_or_default(),
                record.token_id
            );
            outln!("{token}");
        }
        TokenAction::List { format } => {
            let tokens = store.tokens().await?;
            let mut grid = Grid::new(&[
                "token_id",
                "name",
                "role",
                "scope",
                "created_at",
                "revoked_at",
            ]);
            for t in &tokens {
                grid.push(vec![
                    t.token_id.clone(),
                    t.name.clone(),
                    t.role.clone(),
                    t.scope.clone().unwrap_or_default(),
                    t.created_at.clone(),
                    t.revoked_at.clone().unwrap_or_default(),
                ]);
            }
            out!("{}", output::render(format, &tokens, &grid));
        }
        TokenAction::Revoke { token_id } => {
            if !store.revoke_token(&token_id).await? {
                store.close().await;
                bail!("no live token with id {token_id:?} (see attain token list)");
            }
            outln!("revoked token {token_id}");
        }
    }
    store.close().await;
    Ok(())
}
