//! Maps database errors to the store port's errors: taken names become
//! `Conflict`, connectivity becomes `Unavailable` (HTTP 503, retried), and
//! everything else is `Internal` with its detail kept for the log only.

use latch_core::store::StoreError;

/// Converts a driver error.
pub(crate) fn map(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        sqlx::Error::Database(db) if is_connectivity_code(db.code().as_deref()) => {
            StoreError::Unavailable(Box::new(sqlx::Error::Database(db)))
        }
        e @ (sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_)) => StoreError::Unavailable(Box::new(e)),
        e => StoreError::Internal(Box::new(e)),
    }
}

/// PostgreSQL SQLSTATE classes that mean "the server went away or is not
/// taking work": 08 (connection exception), 57P01–57P03 (shutdown, cannot
/// connect now), 53 (insufficient resources); SQLite's BUSY (5) and LOCKED (6).
fn is_connectivity_code(code: Option<&str>) -> bool {
    match code {
        Some(c) => c.starts_with("08") || c.starts_with("57P") || c.starts_with("53") || c == "5" || c == "6",
        None => false,
    }
}

/// Extension to map results tersely.
pub(crate) trait MapErr<T> {
    /// Maps the error side.
    fn db(self) -> Result<T, StoreError>;
}

impl<T> MapErr<T> for Result<T, sqlx::Error> {
    fn db(self) -> Result<T, StoreError> {
        self.map_err(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connectivity_codes() {
        for (code, want) in [
            (Some("08006"), true),
            (Some("57P01"), true),
            (Some("53300"), true),
            (Some("5"), true),
            (Some("23505"), false),
            (Some("42P01"), false),
            (None, false),
        ] {
            assert_eq!(is_connectivity_code(code), want, "{code:?}");
        }
    }

    #[test]
    fn pool_timeouts_are_unavailable() {
        assert!(matches!(map(sqlx::Error::PoolTimedOut), StoreError::Unavailable(_)));
        assert!(matches!(map(sqlx::Error::RowNotFound), StoreError::NotFound));
    }
}
