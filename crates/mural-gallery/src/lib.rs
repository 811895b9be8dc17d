//! The gallery: every run mural makes, in one SQLite file.
//!
//! A run is recorded before anything is painted (status `running`), each
//! image as soon as its file is in place, and the run's end (`done` or
//! `failed`). WAL mode, foreign keys, and schema migrations keyed on
//! `PRAGMA user_version`, applied in one `BEGIN IMMEDIATE` transaction so
//! concurrent first uses never race; a database from a newer mural is
//! refused, never touched. Run ids are never reused (`AUTOINCREMENT`).
//!
//! Work on a run or a batch is *leased* ([`Gallery::lease`]): an advisory
//! lock on a file next to the database, which the kernel drops when the
//! holder dies, so a second process is refused and a killed one's lease
//! expires with it. A `running` run that no one leases is reported as
//! `interrupted`.
//!
//! Architecture invariant: the gallery stores what it is given. It never
//! sees API keys (recipes are built without them) and never writes images.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Schema migrations, in order; `user_version` is the number applied.
const MIGRATIONS: &[&str] = &[
    // 1: runs and their images
    "CREATE TABLE runs (
        id          INTEGER PRIMARY KEY,
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        finished_at TEXT,
        status      TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
        idea        TEXT NOT NULL,
        recipe      TEXT NOT NULL,
        error       TEXT
    );
    CREATE TABLE images (
        id              INTEGER PRIMARY KEY,
        run_id          INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        idx             INTEGER NOT NULL,
        file            TEXT NOT NULL,
        prompt          TEXT NOT NULL,
        negative_prompt TEXT NOT NULL,
        seed            INTEGER NOT NULL,
        width           INTEGER NOT NULL,
        height          INTEGER NOT NULL,
        recipe          TEXT NOT NULL,
        created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        UNIQUE (run_id, idx)
    );
    CREATE INDEX images_run ON images(run_id);",
    // 2: the batch journal: one row per batch, one per item, written before
    // any work so a killed batch can resume with nothing lost or repeated
    "CREATE TABLE batches (
        id          INTEGER PRIMARY KEY,
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        finished_at TEXT,
        status      TEXT NOT NULL CHECK (status IN ('running', 'done', 'incomplete')),
        source      TEXT NOT NULL,
        digest      TEXT NOT NULL,
        options     TEXT NOT NULL
    );
    CREATE TABLE batch_items (
        batch_id INTEGER NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
        idx      INTEGER NOT NULL,
        spec     TEXT NOT NULL,
        status   TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'refused', 'failed')),
        run_id   INTEGER REFERENCES runs(id) ON DELETE SET NULL,
        error    TEXT,
        PRIMARY KEY (batch_id, idx)
    );
    CREATE INDEX batches_source ON batches(source, digest);",
    // 3: run ids are never reused, not even after the newest run is
    // removed: AUTOINCREMENT keeps the high-water mark in sqlite_sequence.
    // (The SQLite table-rebuild procedure; foreign keys are off meanwhile.)
    "CREATE TABLE runs_new (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        finished_at TEXT,
        status      TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
        idea        TEXT NOT NULL,
        recipe      TEXT NOT NULL,
        error       TEXT
    );
    INSERT INTO runs_new (id, created_at, finished_at, status, idea, recipe, error)
        SELECT id, created_at, finished_at, status, idea, recipe, error FROM runs;
    DROP TABLE runs;
    ALTER TABLE runs_new RENAME TO runs;",
    // 4: who painted each image (a pool's member, else the painter), a
    // column of its own so a batch's journal answers "which member painted
    // what" in one query; older rows take it from their recipe.
    "ALTER TABLE images ADD COLUMN painted_by TEXT NOT NULL DEFAULT '';
    UPDATE images SET painted_by = coalesce(
        json_extract(recipe, '$.painter_params.member'),
        json_extract(recipe, '$.painter'),
        '') WHERE json_valid(recipe);",
];

/// The schema version this mural writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

enum MigrateError {
    TooNew(i64),
    Sql(rusqlite::Error),
}

impl From<rusqlite::Error> for MigrateError {
    fn from(e: rusqlite::Error) -> Self {
        MigrateError::Sql(e)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GalleryError {
    #[error("cannot open the gallery at {path}: {reason}; check MURAL_HOME and its permissions")]
    Open { path: PathBuf, reason: String },
    #[error("the gallery at {path} was written by a newer mural (schema {found}, this mural knows {supported}); upgrade mural, or point MURAL_HOME elsewhere")]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("gallery database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("no run with id {0} in the gallery; see `mural gallery list`")]
    NoSuchRun(i64),
    #[error("no image with id {0} in the gallery; see `mural gallery list`")]
    NoSuchImage(i64),
    #[error("{kind} {id} is being painted by another mural process{}; wait for it to finish, or stop it", holder.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Leased {
        kind: LeaseKind,
        id: i64,
        holder: Option<u32>,
    },
    #[error("cannot lease {kind} {id} at {path}: {reason}; check MURAL_HOME and its permissions")]
    LeaseIo {
        kind: LeaseKind,
        id: i64,
        path: PathBuf,
        reason: String,
    },
}

/// What a lease covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseKind {
    Run,
    Batch,
}

impl std::fmt::Display for LeaseKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LeaseKind::Run => "run",
            LeaseKind::Batch => "batch",
        })
    }
}

/// The right to work on one run or batch, held until dropped: an exclusive
/// advisory lock (`flock` / `LockFileEx`) on `leases/<kind>-<id>.lock` next
/// to the database. The kernel releases it when the process dies, however
/// it dies, so a killed holder's lease expires at once.
#[derive(Debug)]
pub struct Lease {
    file: std::fs::File,
    path: PathBuf,
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Unlinked while still locked, so a process that opened the old
        // file and locks it after us sees that the path no longer names it
        // and tries again (see `Gallery::lease`). Windows cannot remove an
        // open file; the file stays there, which is harmless.
        #[cfg(unix)]
        let _ = std::fs::remove_file(&self.path);
        let _ = fs4::FileExt::unlock(&self.file);
    }
}

/// Defines a status enum stored as its lowercase name (the same text the
/// schema's CHECK constraints name) and shown the same way in JSON.
macro_rules! status_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<$name, String> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| format!("unknown {} {s:?}", stringify!($name)))
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl rusqlite::types::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(self.as_str().into())
            }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<$name> {
                let text = v.as_str()?;
                text.parse()
                    .map_err(|e: String| rusqlite::types::FromSqlError::Other(e.into()))
            }
        }
    };
}

status_enum! {
    /// Where a run stands.
    RunStatus {
        /// Recorded, and a process holds its lease.
        Running => "running",
        Done => "done",
        Failed => "failed",
        /// Recorded as running, but no process holds its lease: the
        /// process died. Never stored; `mural imagine --resume` finishes it.
        Interrupted => "interrupted",
    }
}

status_enum! {
    /// Where a batch stands.
    BatchStatus {
        Running => "running",
        /// Every item done or refused.
        Done => "done",
        /// Finished with items failed; `--resume` tries them again.
        Incomplete => "incomplete",
    }
}

status_enum! {
    /// Where one item of a batch stands.
    ItemStatus {
        Pending => "pending",
        Running => "running",
        Done => "done",
        /// The service refused the content: final, not tried again.
        Refused => "refused",
        Failed => "failed",
    }
}

impl ItemStatus {
    /// Done or refused: nothing left to try.
    pub fn is_final(self) -> bool {
        matches!(self, ItemStatus::Done | ItemStatus::Refused)
    }
}

/// A run about to start.
#[derive(Debug, Clone, Serialize)]
pub struct NewRun<'a> {
    pub idea: &'a str,
    /// The full recipe: writer, target, style, seed, n, painter, size ...
    pub recipe: &'a Value,
}

/// An image whose file is in place.
#[derive(Debug, Clone, Serialize)]
pub struct NewImage<'a> {
    pub index: usize,
    pub file: &'a str,
    pub prompt: &'a str,
    pub negative_prompt: &'a str,
    pub seed: u64,
    pub width: u32,
    pub height: u32,
    /// Who painted it: the pool member, or the painter.
    pub painted_by: &'a str,
    pub recipe: &'a Value,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Image {
    pub id: i64,
    pub index: usize,
    pub file: String,
    pub prompt: String,
    pub negative_prompt: String,
    pub seed: u64,
    pub width: u32,
    pub height: u32,
    /// Who painted it: the pool member, or the painter.
    pub painted_by: String,
    pub recipe: Value,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Run {
    pub id: i64,
    pub created_at: String,
    pub finished_at: Option<String>,
    pub status: RunStatus,
    pub idea: String,
    pub recipe: Value,
    pub error: Option<String>,
    pub images: Vec<Image>,
}

/// One batch as journaled.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Batch {
    pub id: i64,
    pub created_at: String,
    pub finished_at: Option<String>,
    pub status: BatchStatus,
    pub source: String,
    pub digest: String,
    pub options: Value,
}

/// One item of a batch: its resolved spec (idea, seed, size ...), where it
/// stands, and the run that paints it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BatchItem {
    pub index: usize,
    pub spec: Value,
    pub status: ItemStatus,
    pub run_id: Option<i64>,
    pub error: Option<String>,
}

/// The gallery: one SQLite connection behind a mutex, so a `&Gallery` may
/// be shared by the tasks of one async runtime. Every method takes the
/// lock for one statement or transaction and never across an `.await`
/// (there is none inside), so callers hold no database borrow while they
/// wait on a painter.
pub struct Gallery {
    conn: std::sync::Mutex<Connection>,
    path: PathBuf,
}

/// SQLite's "busy" and "locked" answers.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

impl Gallery {
    /// The connection, for one statement or transaction. A panic while it
    /// was held leaves SQLite consistent (a transaction not committed is
    /// rolled back), so a poisoned lock is taken over.
    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens (creating if needed) the gallery database at `path`.
    ///
    /// Several processes may open a fresh gallery at once. SQLite waits on
    /// its busy timeout for most locks, but a few (switching to WAL, the
    /// WAL index while another connection creates it) answer "busy" at
    /// once; those are retried here, with backoff, for up to 30 s.
    pub fn open(path: &Path) -> Result<Gallery, GalleryError> {
        let start = std::time::Instant::now();
        let mut pause = std::time::Duration::from_millis(20);
        loop {
            match Gallery::open_once(path) {
                Err(GalleryError::Sql(e))
                    if is_busy(&e) && start.elapsed() < std::time::Duration::from_secs(30) =>
                {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(std::time::Duration::from_millis(500));
                }
                other => return other,
            }
        }
    }

    fn open_once(path: &Path) -> Result<Gallery, GalleryError> {
        let open_err = |e: &dyn std::fmt::Display| GalleryError::Open {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| open_err(&e))?;
        }
        let conn = Connection::open(path).map_err(|e| open_err(&e))?;
        // Concurrent first uses wait for each other instead of failing.
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        // Refuse a newer schema before changing anything (WAL included).
        let found: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| {
                if is_busy(&e) {
                    GalleryError::Sql(e)
                } else {
                    open_err(&e)
                }
            })?;
        let too_new = |found: i64| GalleryError::TooNew {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        };
        if found > SCHEMA_VERSION {
            return Err(too_new(found));
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let mut g = Gallery {
            conn: std::sync::Mutex::new(conn),
            path: path.to_path_buf(),
        };
        if found < SCHEMA_VERSION {
            // off while tables are rebuilt, or dropping the old `runs`
            // would cascade to every image (bundled SQLite defaults it on;
            // the pragma is a no-op inside a transaction, so it goes here)
            g.conn().pragma_update(None, "foreign_keys", "OFF")?;
            g.migrate().map_err(|e| match e {
                MigrateError::TooNew(found) => too_new(found),
                MigrateError::Sql(e) => e.into(),
            })?;
        }
        g.conn().pragma_update(None, "foreign_keys", "ON")?;
        Ok(g)
    }

    /// Applies the missing migrations in one `BEGIN IMMEDIATE` transaction:
    /// the version is read inside the write lock, so of several processes
    /// opening a fresh gallery at once one migrates and the others, waiting
    /// on the busy timeout, then find nothing left to do. Foreign keys are
    /// off while tables are rebuilt, and checked before the commit.
    fn migrate(&mut self) -> Result<(), MigrateError> {
        let conn = self.conn.get_mut().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let from: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if from > SCHEMA_VERSION {
            return Err(MigrateError::TooNew(from));
        }
        if from == SCHEMA_VERSION {
            return Ok(());
        }
        for sql in &MIGRATIONS[from as usize..] {
            tx.execute_batch(sql)?;
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        let broken: Option<String> = tx
            .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
            .optional()?;
        if let Some(table) = broken {
            return Err(MigrateError::Sql(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
                Some(format!("migration left a dangling reference in {table}")),
            )));
        }
        tx.commit()?;
        Ok(())
    }

    /// Takes the lease on a run or batch, or says who holds it
    /// ([`GalleryError::Leased`]). Hold the returned guard while working.
    pub fn lease(&self, kind: LeaseKind, id: i64) -> Result<Lease, GalleryError> {
        use std::io::{Read, Seek, Write};
        let dir = self
            .path
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join("leases");
        let path = dir.join(format!("{kind}-{id}.lock"));
        let io = |e: std::io::Error| GalleryError::LeaseIo {
            kind,
            id,
            path: path.clone(),
            reason: e.to_string(),
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        loop {
            let mut file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io)?;
            match fs4::FileExt::try_lock(&file) {
                Ok(()) => {}
                Err(fs4::TryLockError::WouldBlock) => {
                    // a holder that has just taken a new file writes its
                    // pid a moment later
                    let mut holder = None;
                    for _ in 0..5 {
                        let mut text = String::new();
                        let _ = file.rewind().and_then(|_| file.read_to_string(&mut text));
                        holder = text.trim().parse().ok();
                        if holder.is_some() {
                            break;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    return Err(GalleryError::Leased { kind, id, holder });
                }
                Err(fs4::TryLockError::Error(e)) => return Err(io(e)),
            }
            // A holder unlinks the file before it unlocks: if the path no
            // longer names the file we locked, that lock guards nothing.
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                let ours = file.metadata().map_err(io)?;
                match std::fs::metadata(&path) {
                    Ok(now) if now.dev() == ours.dev() && now.ino() == ours.ino() => {}
                    _ => continue,
                }
            }
            // the holder's pid, for the refusal message: one fixed-width
            // write, so a reader never sees the file empty or half-written
            file.rewind().map_err(io)?;
            file.write_all(format!("{:<20}\n", std::process::id()).as_bytes())
                .map_err(io)?;
            return Ok(Lease { file, path });
        }
    }

    /// Whether some process holds the lease on a run or batch now.
    pub fn is_leased(&self, kind: LeaseKind, id: i64) -> bool {
        matches!(self.lease(kind, id), Err(GalleryError::Leased { .. }))
    }

    /// A `running` run whose lease no one holds was cut short (its process
    /// was killed): it reads as `interrupted`.
    fn live(&self, mut run: Run) -> Run {
        if run.status == RunStatus::Running && !self.is_leased(LeaseKind::Run, run.id) {
            run.status = RunStatus::Interrupted;
        }
        run
    }

    pub fn schema_version(&self) -> Result<i64, GalleryError> {
        Ok(self
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Records a run as `running`; returns its id.
    pub fn start_run(&self, run: &NewRun) -> Result<i64, GalleryError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO runs (status, idea, recipe) VALUES ('running', ?1, ?2)",
            params![run.idea, run.recipe.to_string()],
        )?;
        Ok(conn.last_insert_rowid())
    }

    pub fn add_image(&self, run_id: i64, img: &NewImage) -> Result<i64, GalleryError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO images (run_id, idx, file, prompt, negative_prompt, seed, width, height, recipe, painted_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                run_id,
                img.index as i64,
                img.file,
                img.prompt,
                img.negative_prompt,
                img.seed as i64,
                img.width,
                img.height,
                img.recipe.to_string(),
                img.painted_by
            ],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Marks a run `done` or `failed` (with the reason).
    pub fn finish_run(&self, run_id: i64, error: Option<&str>) -> Result<(), GalleryError> {
        self.conn().execute(
            "UPDATE runs SET status = ?2, error = ?3, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1",
            params![
                run_id,
                if error.is_some() {
                    RunStatus::Failed
                } else {
                    RunStatus::Done
                },
                error
            ],
        )?;
        Ok(())
    }

    /// Journals a batch and all its items (`pending`) in one transaction.
    pub fn create_batch(
        &self,
        source: &str,
        digest: &str,
        options: &Value,
        items: &[Value],
    ) -> Result<i64, GalleryError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO batches (status, source, digest, options) VALUES ('running', ?1, ?2, ?3)",
            params![source, digest, options.to_string()],
        )?;
        let id = tx.last_insert_rowid();
        {
            let mut stmt = tx.prepare(
                "INSERT INTO batch_items (batch_id, idx, spec, status) VALUES (?1, ?2, ?3, 'pending')",
            )?;
            for (i, spec) in items.iter().enumerate() {
                stmt.execute(params![id, i as i64, spec.to_string()])?;
            }
        }
        tx.commit()?;
        Ok(id)
    }

    fn batch_row(r: &rusqlite::Row) -> rusqlite::Result<Batch> {
        Ok(Batch {
            id: r.get(0)?,
            created_at: r.get(1)?,
            finished_at: r.get(2)?,
            status: r.get(3)?,
            source: r.get(4)?,
            digest: r.get(5)?,
            options: serde_json::from_str(&r.get::<_, String>(6)?).unwrap_or(Value::Null),
        })
    }

    pub fn batch(&self, id: i64) -> Result<Option<Batch>, GalleryError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id, created_at, finished_at, status, source, digest, options FROM batches WHERE id = ?1",
                [id],
                Self::batch_row,
            )
            .optional()?)
    }

    /// The newest batch for this source that has not finished.
    pub fn unfinished_batch(&self, source: &str) -> Result<Option<Batch>, GalleryError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id, created_at, finished_at, status, source, digest, options FROM batches
                 WHERE source = ?1 AND status != 'done' ORDER BY id DESC LIMIT 1",
                [source],
                Self::batch_row,
            )
            .optional()?)
    }

    pub fn batch_items(&self, batch_id: i64) -> Result<Vec<BatchItem>, GalleryError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT idx, spec, status, run_id, error FROM batch_items WHERE batch_id = ?1 ORDER BY idx",
        )?;
        let rows = stmt.query_map([batch_id], |r| {
            Ok(BatchItem {
                index: r.get::<_, i64>(0)? as usize,
                spec: serde_json::from_str(&r.get::<_, String>(1)?).unwrap_or(Value::Null),
                status: r.get(2)?,
                run_id: r.get(3)?,
                error: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many of a batch's kept images each painter (or pool member)
    /// painted, most first: the journal's answer to "who painted what".
    pub fn batch_painters(&self, batch_id: i64) -> Result<Vec<(String, usize)>, GalleryError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT i.painted_by, count(*) FROM batch_items b JOIN images i ON i.run_id = b.run_id
             WHERE b.batch_id = ?1 GROUP BY i.painted_by ORDER BY count(*) DESC, i.painted_by",
        )?;
        let rows = stmt.query_map([batch_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as usize))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Marks an item `running` under its run (before anything is painted).
    pub fn start_item(&self, batch_id: i64, index: usize, run_id: i64) -> Result<(), GalleryError> {
        self.conn().execute(
            "UPDATE batch_items SET status = 'running', run_id = ?3, error = NULL WHERE batch_id = ?1 AND idx = ?2",
            params![batch_id, index as i64, run_id],
        )?;
        Ok(())
    }

    /// Marks an item `done`, `refused` or `failed` (with the reason).
    pub fn finish_item(
        &self,
        batch_id: i64,
        index: usize,
        status: ItemStatus,
        error: Option<&str>,
    ) -> Result<(), GalleryError> {
        self.conn().execute(
            "UPDATE batch_items SET status = ?3, error = ?4 WHERE batch_id = ?1 AND idx = ?2",
            params![batch_id, index as i64, status, error],
        )?;
        Ok(())
    }

    /// Marks a batch `done` (every item done or refused) or `incomplete`.
    pub fn finish_batch(&self, batch_id: i64, complete: bool) -> Result<(), GalleryError> {
        self.conn().execute(
            "UPDATE batches SET status = ?2, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1",
            params![
                batch_id,
                if complete {
                    BatchStatus::Done
                } else {
                    BatchStatus::Incomplete
                }
            ],
        )?;
        Ok(())
    }

    fn images(&self, run_id: i64) -> Result<Vec<Image>, GalleryError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, idx, file, prompt, negative_prompt, seed, width, height, recipe, created_at, painted_by
             FROM images WHERE run_id = ?1 ORDER BY idx",
        )?;
        let rows = stmt.query_map([run_id], Self::image_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One image by its id, wherever its file is.
    pub fn image(&self, id: i64) -> Result<Image, GalleryError> {
        self.conn()
            .query_row(
                "SELECT id, idx, file, prompt, negative_prompt, seed, width, height, recipe, created_at, painted_by
                 FROM images WHERE id = ?1",
                [id],
                Self::image_row,
            )
            .optional()?
            .ok_or(GalleryError::NoSuchImage(id))
    }

    fn image_row(r: &rusqlite::Row) -> rusqlite::Result<Image> {
        Ok(Image {
            id: r.get(0)?,
            index: r.get::<_, i64>(1)? as usize,
            file: r.get(2)?,
            prompt: r.get(3)?,
            negative_prompt: r.get(4)?,
            seed: r.get::<_, i64>(5)? as u64,
            width: r.get(6)?,
            height: r.get(7)?,
            recipe: serde_json::from_str(&r.get::<_, String>(8)?).unwrap_or(Value::Null),
            created_at: r.get(9)?,
            painted_by: r.get(10)?,
        })
    }

    fn run_row(r: &rusqlite::Row) -> rusqlite::Result<Run> {
        Ok(Run {
            id: r.get(0)?,
            created_at: r.get(1)?,
            finished_at: r.get(2)?,
            status: r.get(3)?,
            idea: r.get(4)?,
            recipe: serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or(Value::Null),
            error: r.get(6)?,
            images: Vec::new(),
        })
    }

    /// One run with its images.
    pub fn get(&self, id: i64) -> Result<Run, GalleryError> {
        let run = self
            .conn()
            .query_row(
                "SELECT id, created_at, finished_at, status, idea, recipe, error FROM runs WHERE id = ?1",
                [id],
                Self::run_row,
            )
            .optional()?
            .ok_or(GalleryError::NoSuchRun(id))?;
        Ok(self.live(Run {
            images: self.images(id)?,
            ..run
        }))
    }

    /// Runs, newest first; `search` matches the idea or any prompt.
    pub fn list(&self, search: Option<&str>, limit: usize) -> Result<Vec<Run>, GalleryError> {
        let pattern = search.map(|s| {
            let escaped = s
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        });
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, created_at, finished_at, status, idea, recipe, error FROM runs r
             WHERE ?1 IS NULL OR r.idea LIKE ?1 ESCAPE '\\'
                OR EXISTS (SELECT 1 FROM images i WHERE i.run_id = r.id AND i.prompt LIKE ?1 ESCAPE '\\')
             ORDER BY id DESC LIMIT ?2",
        )?;
        let runs: Vec<Run> = stmt
            .query_map(params![pattern, limit as i64], Self::run_row)?
            .collect::<Result<_, _>>()?;
        // the lock is taken again for each run's images
        drop(stmt);
        drop(conn);
        runs.into_iter()
            .map(|r| {
                let images = self.images(r.id)?;
                Ok(self.live(Run { images, ..r }))
            })
            .collect()
    }

    /// Removes a run and its image records (not the files).
    pub fn remove(&self, id: i64) -> Result<Run, GalleryError> {
        let run = self.get(id)?;
        self.conn()
            .execute("DELETE FROM runs WHERE id = ?1", [id])?;
        Ok(run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_db(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mural-gallery-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("gallery.db")
    }

    #[test]
    fn records_lists_searches_and_removes() {
        let path = temp_db("crud");
        let g = Gallery::open(&path).unwrap();
        assert_eq!(g.schema_version().unwrap(), SCHEMA_VERSION);
        let recipe = serde_json::json!({"seed": 1});
        let id = g
            .start_run(&NewRun {
                idea: "a beach sunset",
                recipe: &recipe,
            })
            .unwrap();
        g.add_image(
            id,
            &NewImage {
                index: 0,
                file: "/tmp/a.png",
                prompt: "palm trees 100%",
                negative_prompt: "",
                seed: 1,
                width: 64,
                height: 64,
                painted_by: "sketch",
                recipe: &recipe,
            },
        )
        .unwrap();
        g.finish_run(id, None).unwrap();
        let id2 = g
            .start_run(&NewRun {
                idea: "a red fox",
                recipe: &recipe,
            })
            .unwrap();
        g.finish_run(id2, Some("painter failed")).unwrap();

        let all = g.list(None, 10).unwrap();
        assert_eq!(all.iter().map(|r| r.id).collect::<Vec<_>>(), [id2, id]);
        assert_eq!(all[1].status, "done");
        assert_eq!(all[0].status, "failed");
        assert_eq!(
            g.list(Some("palm"), 10).unwrap().len(),
            1,
            "search matches prompts"
        );
        assert_eq!(
            g.list(Some("FOX"), 10).unwrap().len(),
            1,
            "search ignores case"
        );
        assert_eq!(g.list(Some("100%"), 10).unwrap().len(), 1);
        assert_eq!(
            g.list(Some("_"), 10).unwrap().len(),
            0,
            "LIKE wildcards are literal"
        );
        let run = g.get(id).unwrap();
        assert_eq!(run.images.len(), 1);
        let image = g.image(run.images[0].id).unwrap();
        assert_eq!(image, run.images[0]);
        assert!(matches!(
            g.image(image.id + 1000),
            Err(GalleryError::NoSuchImage(_))
        ));
        g.remove(id).unwrap();
        assert!(matches!(g.get(id), Err(GalleryError::NoSuchRun(_))));
        // survives reopening
        drop(g);
        let g = Gallery::open(&path).unwrap();
        assert_eq!(g.list(None, 10).unwrap().len(), 1);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_version_1_gallery_migrates_and_keeps_its_runs() {
        let path = temp_db("v1");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(MIGRATIONS[0]).unwrap();
            c.pragma_update(None, "user_version", 1).unwrap();
            c.execute(
                "INSERT INTO runs (status, idea, recipe) VALUES ('done', 'an old run', '{}')",
                [],
            )
            .unwrap();
        }
        let g = Gallery::open(&path).unwrap();
        assert_eq!(g.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(g.list(None, 10).unwrap()[0].idea, "an old run");
        let b = g
            .create_batch(
                "ideas.txt",
                "abc",
                &serde_json::json!({}),
                &[serde_json::json!({"idea": "x"})],
            )
            .unwrap();
        assert_eq!(g.batch_items(b).unwrap()[0].status, "pending");
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn the_batch_journal_tracks_items() {
        let path = temp_db("journal");
        let g = Gallery::open(&path).unwrap();
        let items = [
            serde_json::json!({"idea": "a"}),
            serde_json::json!({"idea": "b"}),
        ];
        let b = g
            .create_batch(
                "/x/ideas.txt",
                "d1",
                &serde_json::json!({"painter": "sketch"}),
                &items,
            )
            .unwrap();
        assert_eq!(g.unfinished_batch("/x/ideas.txt").unwrap().unwrap().id, b);
        let run = g
            .start_run(&NewRun {
                idea: "a",
                recipe: &serde_json::json!({}),
            })
            .unwrap();
        g.start_item(b, 0, run).unwrap();
        g.finish_item(b, 0, ItemStatus::Done, None).unwrap();
        g.finish_item(b, 1, ItemStatus::Refused, Some("content policy"))
            .unwrap();
        let it = g.batch_items(b).unwrap();
        assert_eq!((it[0].status.as_str(), it[0].run_id), ("done", Some(run)));
        assert_eq!(it[1].error.as_deref(), Some("content policy"));
        g.finish_batch(b, true).unwrap();
        assert!(g.unfinished_batch("/x/ideas.txt").unwrap().is_none());
        assert_eq!(g.batch(b).unwrap().unwrap().status, "done");
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn newer_schema_is_refused_untouched() {
        let path = temp_db("newer");
        drop(Gallery::open(&path).unwrap());
        {
            let c = Connection::open(&path).unwrap();
            c.pragma_update(None, "user_version", SCHEMA_VERSION + 5)
                .unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let err = Gallery::open(&path).err().unwrap();
        assert!(matches!(err, GalleryError::TooNew { .. }), "{err}");
        assert!(err.to_string().contains("newer mural"));
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "refusing must not change the file"
        );
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn run_ids_are_never_reused_after_the_newest_run_is_removed() {
        let path = temp_db("reuse");
        let g = Gallery::open(&path).unwrap();
        let recipe = serde_json::json!({});
        let run = |idea| {
            g.start_run(&NewRun {
                idea,
                recipe: &recipe,
            })
            .unwrap()
        };
        let a = run("a beach sunset");
        g.remove(a).unwrap();
        let b = run("a red fox in the snow");
        assert!(b > a, "id {a} came back");
        g.remove(b).unwrap();
        drop(g);
        let g = Gallery::open(&path).unwrap();
        let c = g
            .start_run(&NewRun {
                idea: "after reopening",
                recipe: &recipe,
            })
            .unwrap();
        assert!(c > b, "id {b} came back after reopening");
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_version_2_gallery_migrates_with_its_runs_images_and_journal_intact() {
        let path = temp_db("v2");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(MIGRATIONS[0]).unwrap();
            c.execute_batch(MIGRATIONS[1]).unwrap();
            c.pragma_update(None, "user_version", 2).unwrap();
            c.execute_batch(
                "INSERT INTO runs (id, status, idea, recipe) VALUES (4, 'done', 'old', '{}'), (9, 'done', 'newest', '{}');
                 INSERT INTO images (run_id, idx, file, prompt, negative_prompt, seed, width, height, recipe)
                     VALUES (4, 0, '/x.png', 'p', '', 1, 8, 8, '{}');
                 INSERT INTO batches (status, source, digest, options) VALUES ('running', 's', 'd', '{}');
                 INSERT INTO batch_items (batch_id, idx, spec, status, run_id) VALUES (1, 0, '{}', 'done', 4);",
            )
            .unwrap();
        }
        let g = Gallery::open(&path).unwrap();
        assert_eq!(g.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(g.get(4).unwrap().images.len(), 1);
        assert_eq!(g.batch_items(1).unwrap()[0].run_id, Some(4));
        g.remove(9).unwrap();
        let next = g
            .start_run(&NewRun {
                idea: "new",
                recipe: &serde_json::json!({}),
            })
            .unwrap();
        assert_eq!(next, 10, "the high-water mark survives the migration");
        // foreign keys still hold on the rebuilt table
        g.remove(4).unwrap();
        let images: i64 = g
            .conn()
            .query_row("SELECT COUNT(*) FROM images", [], |r| r.get(0))
            .unwrap();
        assert_eq!(images, 0, "removing a run removes its images");
        assert_eq!(g.batch_items(1).unwrap()[0].run_id, None);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_version_3_gallery_learns_who_painted_each_image_from_its_recipes() {
        let path = temp_db("v3");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        {
            let c = Connection::open(&path).unwrap();
            for m in &MIGRATIONS[..3] {
                c.execute_batch(m).unwrap();
            }
            c.pragma_update(None, "user_version", 3).unwrap();
            c.execute_batch(
                r#"INSERT INTO runs (id, status, idea, recipe) VALUES (1, 'done', 'a', '{}'), (2, 'done', 'b', '{}'), (3, 'done', 'c', '{}');
                 INSERT INTO images (run_id, idx, file, prompt, negative_prompt, seed, width, height, recipe) VALUES
                     (1, 0, '/1.png', 'p', '', 1, 8, 8, '{"painter":"farm","painter_params":{"pool":"farm","member":"gpu2"}}'),
                     (2, 0, '/2.png', 'p', '', 1, 8, 8, '{"painter":"sketch","painter_params":{}}'),
                     (3, 0, '/3.png', 'p', '', 1, 8, 8, 'not json at all');
                 INSERT INTO batches (status, source, digest, options) VALUES ('done', 's', 'd', '{}');
                 INSERT INTO batch_items (batch_id, idx, spec, status, run_id) VALUES (1, 0, '{}', 'done', 1), (1, 1, '{}', 'done', 2);"#,
            )
            .unwrap();
        }
        // a recipe that is not JSON must not stop the migration
        let g = match Gallery::open(&path) {
            Ok(g) => g,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(g.get(1).unwrap().images[0].painted_by, "gpu2");
        assert_eq!(g.get(2).unwrap().images[0].painted_by, "sketch");
        assert_eq!(g.get(3).unwrap().images[0].painted_by, "");
        assert_eq!(
            g.batch_painters(1).unwrap(),
            vec![("gpu2".to_string(), 1), ("sketch".to_string(), 1)]
        );
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_lease_is_exclusive_and_ends_with_its_holder() {
        let path = temp_db("lease");
        let g = Gallery::open(&path).unwrap();
        let other = Gallery::open(&path).unwrap();
        let lease = g.lease(LeaseKind::Batch, 3).unwrap();
        let err = other.lease(LeaseKind::Batch, 3).unwrap_err();
        assert!(
            matches!(err, GalleryError::Leased { holder: Some(p), .. } if p == std::process::id()),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("batch 3 is being painted by another mural process (pid "),
            "{err}"
        );
        assert!(other.lease(LeaseKind::Run, 3).is_ok(), "kinds are apart");
        drop(lease);
        let again = other.lease(LeaseKind::Batch, 3).unwrap();
        assert!(g.is_leased(LeaseKind::Batch, 3));
        drop(again);
        assert!(!g.is_leased(LeaseKind::Batch, 3));
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_running_run_no_one_leases_reads_as_interrupted() {
        let path = temp_db("interrupted");
        let g = Gallery::open(&path).unwrap();
        let id = g
            .start_run(&NewRun {
                idea: "a fox",
                recipe: &serde_json::json!({}),
            })
            .unwrap();
        let lease = g.lease(LeaseKind::Run, id).unwrap();
        assert_eq!(g.get(id).unwrap().status, "running");
        drop(lease);
        assert_eq!(g.get(id).unwrap().status, "interrupted");
        assert_eq!(g.list(None, 10).unwrap()[0].status, "interrupted");
        g.finish_run(id, None).unwrap();
        assert_eq!(g.get(id).unwrap().status, "done");
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn wal_is_on() {
        let path = temp_db("wal");
        let g = Gallery::open(&path).unwrap();
        let mode: String = g
            .conn()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
