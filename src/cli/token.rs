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
        /// When it stops working: a date (it works through that day, UTC) or a number of days (`90d`)
        #[arg(long)]
        expires: Option<String>,
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
        TokenAction::Create {
            role,
            scope,
            name,
            expires,
        } => {
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let expires = expires.as_deref().map(parse_expiry).transpose()?;
            let (record, token) = api::create_token_by(
                &store,
                &super::close::cli_actor(),
                role,
                scope.as_deref(),
                name.as_deref(),
                expires,
            )
            .await?;
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
                "expires_at",
            ]);
            for t in &tokens {
                grid.push(vec![
                    t.token_id.clone(),
                    t.name.clone(),
                    t.role.clone(),
                    t.scope.clone().unwrap_or_default(),
                    t.created_at.clone(),
                    t.revoked_at.clone().unwrap_or_default(),
                    t.expires_at.clone().unwrap_or_default(),
                ]);
            }
            out!("{}", output::render(format, &tokens, &grid));
        }
        TokenAction::Revoke { token_id } => {
            if !store
                .revoke_token(&token_id, &super::close::cli_actor())
                .await?
            {
                store.close().await;
                bail!("no live token with id {token_id:?} (see attain token list)");
            }
            outln!("revoked token {token_id}");
        }
    }
    store.close().await;
    Ok(())
}

/// `--expires`: `YYYY-MM-DD` (the token works through that day, UTC) or
/// `N` days from now (`90d`).
fn parse_expiry(text: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    let now = chrono::Utc::now();
    if let Some(days) = text.strip_suffix('d') {
        let days: i64 = days
            .parse()
            .ok()
            .filter(|d| (1..=36_500).contains(d))
            .ok_or_else(|| {
                anyhow::anyhow!("--expires {text:?}: give 1d to 36500d, or a date YYYY-MM-DD")
            })?;
        return Ok(now + chrono::Duration::days(days));
    }
    let day = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        anyhow::anyhow!(
            "--expires {text:?}: give a date YYYY-MM-DD or a number of days such as 90d"
        )
    })?;
    let end = day
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .ok_or_else(|| anyhow::anyhow!("--expires {text:?}: out of range"))?;
    Ok(end.and_utc())
}

#[cfg(test)]
mod tests {
    use super::parse_expiry;

    #[test]
    fn expiry_is_a_day_or_a_number_of_days() {
        let end = parse_expiry("2031-03-31").unwrap();
        assert_eq!(end.to_rfc3339(), "2031-04-01T00:00:00+00:00");
        let in_90 = parse_expiry("90d").unwrap() - chrono::Utc::now();
        assert!((89..=90).contains(&in_90.num_days()), "{in_90}");
        for bad in ["0d", "d", "tomorrow", "2031-02-30"] {
            assert!(parse_expiry(bad).is_err(), "{bad}");
        }
    }
}
