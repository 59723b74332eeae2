//! The schema as versioned migrations: `server/migrations/NNNN_name.sql`, embedded in the binary
//! and applied at start-up by sqlx's migrator, each once, recorded in `_sqlx_migrations`.
//!
//! Most migrations are one portable file for both databases. Where the two differ (full-text
//! search: FTS5 against `tsvector`), a migration has one file per backend,
//! `NNNN_name.sqlite.sql` and `NNNN_name.postgres.sql`; each database records the checksum of its
//! own.
//!
//! Several processes may start at once against one database. On PostgreSQL the migrator holds
//! an advisory lock while it works; SQLite has none, so a process that finds a migration applied
//! by another one between its check and its write retries, and then sees it applied.

use futures_util::future::BoxFuture;
use sqlx::{
    AnyPool,
    error::BoxDynError,
    migrate::{Migration, MigrationSource, MigrationType, Migrator},
};
use tracing::debug;

use super::StoreError;

/// A migration's SQL: one file for both databases, or one for each.
#[derive(Debug, Clone, Copy)]
enum Sql {
    /// Portable SQL.
    Both(&'static str),
    /// What SQLite runs and what PostgreSQL runs.
    Each {
        sqlite: &'static str,
        postgres: &'static str,
    },
}

impl Sql {
    fn for_backend(self, sqlite: bool) -> &'static str {
        match self {
            Self::Both(sql) => sql,
            Self::Each { sqlite: s, .. } if sqlite => s,
            Self::Each { postgres, .. } => postgres,
        }
    }
}

/// Every migration in order: (version, description, SQL). A released file never changes (its
/// checksum is recorded); a change to the schema is a new file.
const MIGRATIONS: &[(i64, &str, Sql)] = &[
    (
        1,
        "initial",
        Sql::Both(include_str!("../../migrations/0001_initial.sql")),
    ),
    (
        2,
        "settings",
        Sql::Both(include_str!("../../migrations/0002_settings.sql")),
    ),
    (
        3,
        "changes",
        Sql::Both(include_str!("../../migrations/0003_changes.sql")),
    ),
    (
        4,
        "reply_owner",
        Sql::Both(include_str!("../../migrations/0004_reply_owner.sql")),
    ),
    (
        5,
        "room_names",
        Sql::Both(include_str!("../../migrations/0005_room_names.sql")),
    ),
    (
        6,
        "reactions",
        Sql::Both(include_str!("../../migrations/0006_reactions.sql")),
    ),
    (
        7,
        "reply_links",
        Sql::Both(include_str!("../../migrations/0007_reply_links.sql")),
    ),
    (
        8,
        "bot_settings",
        Sql::Both(include_str!("../../migrations/0008_bot_settings.sql")),
    ),
    (
        9,
        "bot_usage",
        Sql::Both(include_str!("../../migrations/0009_bot_usage.sql")),
    ),
    (
        10,
        "mentions",
        Sql::Both(include_str!("../../migrations/0010_mentions.sql")),
    ),
    (
        11,
        "search",
        Sql::Each {
            sqlite: include_str!("../../migrations/0011_search.sqlite.sql"),
            postgres: include_str!("../../migrations/0011_search.postgres.sql"),
        },
    ),
];

/// How many times a start-up may fail for reasons other than a lost race before it gives up.
/// Each lost race means another process applied one migration, so a start-up may lose at most
/// one per migration besides these.
const ATTEMPTS: usize = 3;

/// The migrations compiled into the binary, as one backend runs them.
#[derive(Debug)]
struct Embedded {
    sqlite: bool,
}

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(self) -> BoxFuture<'s, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move {
            Ok(MIGRATIONS
                .iter()
                .map(|&(version, description, sql)| {
                    Migration::new(
                        version,
                        description.into(),
                        MigrationType::Simple,
                        sql.for_backend(self.sqlite).into(),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// The versions this build knows, in order (numbers may be skipped).
pub fn versions() -> Vec<i64> {
    MIGRATIONS.iter().map(|m| m.0).collect()
}

/// Applies the migrations not yet applied, in the SQL of SQLite or of PostgreSQL.
pub(super) async fn migrate(pool: &AnyPool, sqlite: bool) -> Result<(), StoreError> {
    let migrator = Migrator::new(Embedded { sqlite })
        .await
        .map_err(StoreError::Migrate)?;
    let mut attempt = 1;
    loop {
        match migrator.run(pool).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt < ATTEMPTS + MIGRATIONS.len() => {
                debug!(cause = %e, attempt, "migrations raced another process; again");
                attempt += 1;
            }
            Err(e) => return Err(StoreError::Migrate(e)),
        }
    }
}
