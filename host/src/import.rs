//! CSV imports of facilities and providers. Every row is validated first and every bad row is
//! reported by its line number; then the good rows are written in one transaction. Unless the
//! caller asks to skip bad rows, one bad row means nothing is written.
//!
//! Facilities: `code,name,level,parent_code,facility_type` (a parent may come earlier in the
//! same file). Providers: `code,name,cadre,facility_code,sex,phone`.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::Read;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;

use crate::cli::{ImportArgs, ImportKind};
use crate::db::Db;
use crate::domain::org_units::{self, NewOrgUnit, OrgUnit, ValidUnit};
use crate::domain::organisations;
use crate::domain::providers::{self, ProviderInput, ValidProvider};
use crate::error::{AppError, FieldError, Validator};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Line in the file, counting the header as line 1.
    pub line: u64,
    pub errors: Vec<FieldError>,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: Vec<_> = self
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        write!(f, "line {}: {}", self.line, fields.join("; "))
    }
}

#[derive(Debug, Default)]
pub struct ImportReport {
    pub imported: usize,
    /// Bad rows that were skipped (only with `skip_bad_rows`).
    pub skipped: Vec<RowError>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{} bad row(s); nothing was imported", .0.len())]
    BadRows(Vec<RowError>),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        ImportError::Other(e.into())
    }
}

impl From<AppError> for ImportError {
    fn from(e: AppError) -> Self {
        ImportError::Other(crate::cli::explain(e))
    }
}

fn progress(len: usize, show: bool, what: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

/// Rows that parsed, with their line numbers, and rows that did not.
type ParsedRows<T> = (Vec<(u64, T)>, Vec<RowError>);

/// Reads rows of `T` with their line numbers; a row that does not even parse is a row error.
fn read_rows<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<ParsedRows<T>, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| anyhow::anyhow!("cannot read the header row: {e}"))?
        .clone();
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    for record in reader.records() {
        let parsed = record.and_then(|r| {
            let line = r.position().map(|p| p.line()).unwrap_or(0);
            r.deserialize::<T>(Some(&headers)).map(|row| (line, row))
        });
        match parsed {
            Ok(row) => rows.push(row),
            Err(e) => bad.push(RowError {
                line: e.position().map(|p| p.line()).unwrap_or(0),
                errors: vec![FieldError::new("row", "unreadable", e.to_string())],
            }),
        }
    }
    Ok((rows, bad))
}

#[derive(Debug, Deserialize)]
struct FacilityRow {
    code: Option<String>,
    name: Option<String>,
    level: Option<String>,
    parent_code: Option<String>,
    facility_type: Option<String>,
}

pub async fn facilities(
    db: &Db,
    mut input: impl Read,
    skip_bad_rows: bool,
    show_progress: bool,
) -> Result<ImportReport, ImportError> {
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes).map_err(anyhow::Error::from)?;
    let (rows, mut bad) = read_rows::<FacilityRow>(&bytes)?;
    // Validate every row against the database and against earlier rows of the file.
    let mut in_file: HashMap<String, OrgUnit> = HashMap::new();
    let mut valid: Vec<(u64, ValidUnit, Option<String>)> = Vec::new();
    for (line, row) in rows {
        let input = NewOrgUnit {
            parent_id: None,
            parent_code: row.parent_code.clone(),
            level: row.level,
            facility_type: row.facility_type,
            code: row.code,
            name: row.name,
        };
        let parent_code = input
            .parent_code
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string);
        let (parent, unknown) = match &parent_code {
            None => (None, false),
            Some(code) => match in_file.get(code) {
                Some(u) => (Some(u.clone()), false),
                None => match org_units::find_by_code(db, code).await? {
                    Some(u) => (Some(u), false),
                    None => (None, true),
                },
            },
        };
        let mut result = org_units::validate(&input, parent, unknown);
        if let Ok(v) = &result {
            let duplicate_in_file = in_file.contains_key(&v.code);
            let exists = org_units::find_by_code(db, &v.code).await?.is_some();
            if duplicate_in_file || exists {
                result = Err(AppError::field(
                    "code",
                    "taken",
                    if duplicate_in_file {
                        "this code appears earlier in the file"
                    } else {
                        "an org unit with this code already exists"
                    },
                ));
            }
        }
        match result {
            Ok(v) => {
                // A stand-in for the parent check of later rows; its id is resolved on insert.
                in_file.insert(
                    v.code.clone(),
                    OrgUnit {
                        id: 0,
                        parent_id: None,
                        level: v.level.clone(),
                        facility_type: v.facility_type.clone(),
                        code: v.code.clone(),
                        name: v.name.clone(),
                        path: String::new(),
                        created_at: String::new(),
                        updated_at: String::new(),
                    },
                );
                valid.push((line, v, parent_code));
            }
            Err(AppError::Validation(errors)) => bad.push(RowError { line, errors }),
            Err(e) => return Err(e.into()),
        }
    }
    bad.sort_by_key(|r| r.line);
    if !bad.is_empty() && !skip_bad_rows {
        return Err(ImportError::BadRows(bad));
    }
    // A skipped row's children are bad too: their parent will not exist.
    let bar = progress(valid.len(), show_progress, "facilities");
    let mut tx = db.begin().await?;
    let mut created: HashMap<String, OrgUnit> = HashMap::new();
    let mut imported = 0;
    for (line, mut unit, parent_code) in valid {
        if let Some(code) = parent_code
            && unit.parent.as_ref().is_some_and(|p| p.id == 0)
        {
            match created.get(&code) {
                Some(p) => unit.parent = Some(p.clone()),
                None => {
                    bad.push(RowError {
                        line,
                        errors: vec![FieldError::new(
                            "parent_code",
                            "unknown",
                            "its parent row was not imported",
                        )],
                    });
                    continue;
                }
            }
        }
        let inserted = org_units::insert(&mut tx, None, &unit).await?;
        created.insert(inserted.code.clone(), inserted);
        imported += 1;
        bar.inc(1);
    }
    tx.commit().await?;
    bar.finish_and_clear();
    bad.sort_by_key(|r| r.line);
    Ok(ImportReport {
        imported,
        skipped: bad,
    })
}

#[derive(Debug, Deserialize)]
struct ProviderRow {
    code: Option<String>,
    name: Option<String>,
    cadre: Option<String>,
    facility_code: Option<String>,
    sex: Option<String>,
    phone: Option<String>,
}

pub async fn providers(
    db: &Db,
    organisation_code: &str,
    mut input: impl Read,
    skip_bad_rows: bool,
    show_progress: bool,
) -> Result<ImportReport, ImportError> {
    let org = organisations::find_by_code(db, organisation_code)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no organisation with code {organisation_code}"))?;
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes).map_err(anyhow::Error::from)?;
    let (rows, mut bad) = read_rows::<ProviderRow>(&bytes)?;
    let existing: HashSet<String> =
        sqlx::query_scalar::<_, String>("SELECT code FROM providers WHERE organisation_id = $1")
            .bind(org.id)
            .fetch_all(db.pool())
            .await
            .map_err(AppError::from)?
            .into_iter()
            .collect();
    let mut seen = HashSet::new();
    let mut facilities: HashMap<String, Option<OrgUnit>> = HashMap::new();
    let mut valid = Vec::new();
    for (line, row) in rows {
        let mut v = Validator::new();
        let input = ProviderInput {
            organisation_id: Some(org.id),
            facility_id: None,
            code: row.code,
            name: row.name,
            cadre: row.cadre,
            sex: row.sex,
            phone: row.phone,
            active: Some(true),
        };
        let (code, name, cadre, sex, phone) = providers::check_fields(&mut v, &input);
        if let Some(c) = &code
            && (existing.contains(c) || !seen.insert(c.clone()))
        {
            v.add(
                "code",
                "taken",
                "another provider of this organisation already has this code",
            );
        }
        let facility_code = row.facility_code.unwrap_or_default();
        let facility_code = facility_code.trim();
        let mut facility_id = 0;
        if facility_code.is_empty() {
            v.add("facility_code", "required", "is required");
        } else {
            if !facilities.contains_key(facility_code) {
                let unit = org_units::find_by_code(db, facility_code).await?;
                facilities.insert(facility_code.to_string(), unit);
            }
            match facilities.get(facility_code).cloned().flatten() {
                Some(u) if u.level == "facility" => facility_id = u.id,
                Some(_) => v.add("facility_code", "not_a_facility", "is not a facility"),
                None => v.add("facility_code", "unknown", "no facility has this code"),
            }
        }
        match v.finish() {
            Ok(()) => valid.push(ValidProvider {
                organisation_id: org.id,
                facility_id,
                code,
                name,
                cadre,
                sex,
                phone,
                active: true,
            }),
            Err(AppError::Validation(errors)) => bad.push(RowError { line, errors }),
            Err(e) => return Err(e.into()),
        }
    }
    bad.sort_by_key(|r| r.line);
    if !bad.is_empty() && !skip_bad_rows {
        return Err(ImportError::BadRows(bad));
    }
    let bar = progress(valid.len(), show_progress, "providers");
    let mut tx = db.begin().await?;
    for p in &valid {
        providers::insert(&mut tx, None, p).await?;
        bar.inc(1);
    }
    tx.commit().await?;
    bar.finish_and_clear();
    Ok(ImportReport {
        imported: valid.len(),
        skipped: bad,
    })
}

/// `mentortrack import …`
pub async fn run(db: &Db, args: &ImportArgs) -> anyhow::Result<()> {
    let file = std::fs::File::open(&args.file)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", args.file.display()))?;
    let result = match args.kind {
        ImportKind::Facilities => facilities(db, file, args.skip_bad_rows, true).await,
        ImportKind::Providers => {
            let org = args
                .organisation
                .as_deref()
                .ok_or_else(|| anyhow::anyhow!("--organisation CODE is required for providers"))?;
            providers(db, org, file, args.skip_bad_rows, true).await
        }
    };
    match result {
        Ok(report) => {
            for row in &report.skipped {
                eprintln!("skipped {row}");
            }
            println!(
                "imported {} row(s){}",
                report.imported,
                if report.skipped.is_empty() {
                    String::new()
                } else {
                    format!(", skipped {} bad row(s)", report.skipped.len())
                }
            );
            Ok(())
        }
        Err(ImportError::BadRows(rows)) => {
            for row in &rows {
                eprintln!("{row}");
            }
            anyhow::bail!(
                "{} bad row(s); nothing was imported (fix them, or pass --skip-bad-rows)",
                rows.len()
            )
        }
        Err(ImportError::Other(e)) => Err(e),
    }
}
