//! A write as one Hrana `batch`: `BEGIN IMMEDIATE`, the statements, `COMMIT`, each step
//! conditioned on the one before, a `ROLLBACK` when the `COMMIT` did not run, and the
//! changed-row count measured around every statement; and what a failed batch proves: whether
//! it failed only because the database was busy, with nothing written (then it may be sent
//! again), or because the server does not know `BEGIN IMMEDIATE`. And a rehearsal: the same
//! transaction always ending in `ROLLBACK`, so the engine shows what a write would do without
//! keeping it.

use super::error::sql_excerpt;
use super::wire::{BatchResult, Cond, StmtResult, WireError, WireStep, WireStmt};
use super::HranaStore;
use crate::store::{Rows, Stmt, StoreError, Value};

/// How a write batch begins. `IMMEDIATE` takes the write lock before the first statement
/// reads: a batch that began with plain `BEGIN`, read, then wrote had to upgrade its lock and
/// failed with "database is locked" under concurrent writers on sqld (spec 3 (a)).
pub(super) const BEGIN_IMMEDIATE: &str = "BEGIN IMMEDIATE";
/// For a server that does not know `BEGIN IMMEDIATE` (none known so far: sqld and tursodb
/// both accept it).
pub(super) const BEGIN_PLAIN: &str = "BEGIN";

/// Why a batch failed, when that matters for sending it again.
#[derive(Debug)]
pub(super) enum BatchFailure {
    /// The database was busy, and the batch wrote nothing: it may be sent again.
    Busy(StoreError),
    /// The server refused `BEGIN IMMEDIATE` itself (step 0, not busy): nothing ran.
    ImmediateRefused(StoreError),
    /// Anything else: reported as it is, never sent again.
    Failed(StoreError),
}

/// The steps of one write batch and where each caller statement sits in it.
///
/// `BEGIN IMMEDIATE`, then `SELECT total_changes()`, then for every statement the statement
/// itself and another `SELECT total_changes()`, then `COMMIT` and `ROLLBACK`. The
/// `total_changes()` steps exist because `tursodb --sync-server` reports `affected_row_count: 0`
/// for every statement; the difference around a statement is the number of rows it changed
/// (sqld's own count is used when it is not zero).
/// A batch as it is sent (its steps) and read back (one `Rows` per caller statement, or the
/// first failure): a write's [`BatchPlan`] and a rehearsal's [`RehearsalPlan`].
pub(super) trait Plan<'a> {
    fn steps(&self) -> &[WireStep<'a>];
    fn collect(&self, result: BatchResult, store: &HranaStore) -> Result<Vec<Rows>, BatchFailure>;
}

pub(super) struct BatchPlan<'a> {
    stmts: &'a [Stmt],
    pub(super) steps: Vec<WireStep<'a>>,
}

const COUNT_SQL: &str = "SELECT total_changes()";

impl<'a> Plan<'a> for BatchPlan<'a> {
    fn steps(&self) -> &[WireStep<'a>] {
        &self.steps
    }

    /// One `Rows` per caller statement, or the first failure and what it proves.
    fn collect(&self, result: BatchResult, store: &HranaStore) -> Result<Vec<Rows>, BatchFailure> {
        let n = self.stmts.len();
        let total = self.steps.len();
        if result.step_results.len() != total || result.step_errors.len() != total {
            return Err(BatchFailure::Failed(store.protocol(format!(
                "the batch answer has {} results and {} errors for {} steps",
                result.step_results.len(),
                result.step_errors.len(),
                total
            ))));
        }
        let mut step_results = result.step_results;
        let step_errors = result.step_errors;
        let commit = Self::commit_step(n);
        let committed = step_results[commit].is_some() && step_errors[commit].is_none();
        // A busy database anywhere before the COMMIT took effect: the transaction was rolled
        // back (or never began), so nothing was written.
        if let (false, Some(busy)) = (committed, step_errors.iter().flatten().find(|e| e.busy())) {
            let place = format!(
                "the database stayed busy for {} s, nothing was written",
                super::stream::BUSY_TIMEOUT.as_secs()
            );
            return Err(BatchFailure::Busy(store.sql_error(&busy.message, place)));
        }
        // The first failing step (the ROLLBACK's own failure matters only if nothing else failed).
        for (i, error) in step_errors.iter().enumerate() {
            let Some(error) = error else { continue };
            if i == 0 && refuses_immediate(error) {
                return Err(BatchFailure::ImmediateRefused(store.sql_error(
                    &error.message,
                    "BEGIN IMMEDIATE failed, nothing was written".into(),
                )));
            }
            let place = if i == 0 {
                "BEGIN failed, nothing was written".to_owned()
            } else if i == commit {
                "COMMIT failed, nothing was written".to_owned()
            } else if i == commit + 1 {
                "ROLLBACK failed".to_owned()
            } else if i % 2 == 0 {
                let k = (i - 2) / 2;
                format!(
                    "statement {} of {n}: {}; nothing was written",
                    k + 1,
                    sql_excerpt(&self.stmts[k].sql)
                )
            } else {
                "counting changed rows failed, nothing was written".to_owned()
            };
            return Err(BatchFailure::Failed(store.sql_error(&error.message, place)));
        }
        if !committed {
            return Err(BatchFailure::Failed(store.protocol(
                "the server skipped the COMMIT of the batch without an error",
            )));
        }
        let count = |r: &Option<StmtResult>| -> Option<u64> {
            r.as_ref()?.rows.first()?.first().and_then(|v| match &v.0 {
                Value::Integer(i) => u64::try_from(*i).ok(),
                _ => None,
            })
        };
        let mut out = Vec::with_capacity(n);
        let mut before = count(&step_results[1]);
        for k in 0..n {
            let at = Self::stmt_step(k);
            let after = count(&step_results[at + 1]);
            let delta = match (before, after) {
                (Some(b), Some(a)) => a.checked_sub(b),
                _ => None,
            };
            before = after;
            let Some(result) = step_results[at].take() else {
                return Err(BatchFailure::Failed(store.protocol(format!(
                    "statement {} of the batch was skipped without an error",
                    k + 1
                ))));
            };
            out.push(result.into_rows(delta));
        }
        Ok(out)
    }
}

impl<'a> Plan<'a> for RehearsalPlan<'a> {
    fn steps(&self) -> &[WireStep<'a>] {
        &self.steps
    }

    /// One `Rows` per caller statement, or the first failure and what it proves (as for a
    /// batch: a busy database, or a server without `BEGIN IMMEDIATE`, may be tried again).
    fn collect(&self, result: BatchResult, store: &HranaStore) -> Result<Vec<Rows>, BatchFailure> {
        let n = self.stmts.len();
        let total = self.steps.len();
        if result.step_results.len() != total || result.step_errors.len() != total {
            return Err(BatchFailure::Failed(store.protocol(format!(
                "the rehearsal answer has {} results and {} errors for {} steps",
                result.step_results.len(),
                result.step_errors.len(),
                total
            ))));
        }
        if let Some(busy) = result.step_errors.iter().flatten().find(|e| e.busy()) {
            let place = format!(
                "the database stayed busy for {} s, nothing was rehearsed",
                super::stream::BUSY_TIMEOUT.as_secs()
            );
            return Err(BatchFailure::Busy(store.sql_error(&busy.message, place)));
        }
        for (i, error) in result.step_errors.iter().enumerate() {
            let Some(error) = error else { continue };
            if i == 0 && refuses_immediate(error) {
                return Err(BatchFailure::ImmediateRefused(store.sql_error(
                    &error.message,
                    "BEGIN IMMEDIATE failed, nothing was rehearsed".into(),
                )));
            }
            let place = if i == 0 {
                "BEGIN failed, nothing was rehearsed".to_owned()
            } else if i == total - 1 {
                "the ROLLBACK after a rehearsal failed".to_owned()
            } else {
                format!(
                    "rehearsed statement {i} of {n}: {}; nothing was written",
                    sql_excerpt(&self.stmts[i - 1].sql)
                )
            };
            return Err(BatchFailure::Failed(store.sql_error(&error.message, place)));
        }
        let mut out = Vec::with_capacity(n);
        for (k, result) in result.step_results.into_iter().skip(1).take(n).enumerate() {
            let Some(result) = result else {
                return Err(BatchFailure::Failed(store.protocol(format!(
                    "statement {} of the rehearsal was skipped without an error",
                    k + 1
                ))));
            };
            out.push(result.into_rows(None));
        }
        Ok(out)
    }
}

impl<'a> BatchPlan<'a> {
    pub(super) fn new(stmts: &'a [Stmt], begin: &'static str) -> Self {
        let mut steps = Vec::with_capacity(2 * stmts.len() + 4);
        steps.push(WireStep::plain(begin, None));
        steps.push(WireStep::plain(COUNT_SQL, Some(Cond::Ok { step: 0 })));
        for (i, stmt) in stmts.iter().enumerate() {
            let at = Self::stmt_step(i);
            steps.push(WireStep {
                condition: Some(Cond::Ok { step: at - 1 }),
                stmt: WireStmt::new(stmt),
            });
            steps.push(WireStep::plain(COUNT_SQL, Some(Cond::Ok { step: at })));
        }
        let commit = Self::commit_step(stmts.len());
        steps.push(WireStep::plain(
            "COMMIT",
            Some(Cond::Ok { step: commit - 1 }),
        ));
        steps.push(WireStep::plain(
            "ROLLBACK",
            Some(Cond::Not {
                cond: Box::new(Cond::Ok { step: commit }),
            }),
        ));
        BatchPlan { stmts, steps }
    }

    fn stmt_step(i: usize) -> usize {
        2 + 2 * i
    }

    fn commit_step(n: usize) -> usize {
        2 + 2 * n
    }
}

/// The steps of one rehearsal: `BEGIN IMMEDIATE` (or the plain `BEGIN` a server without it
/// takes, as for a write), the statements (each conditioned on the
/// one before), and a `ROLLBACK` that always runs: `tursodb --sync-server` serves every request
/// on one connection, so a transaction left open would swallow the next requests.
pub(super) struct RehearsalPlan<'a> {
    stmts: &'a [Stmt],
    pub(super) steps: Vec<WireStep<'a>>,
}

impl<'a> RehearsalPlan<'a> {
    pub(super) fn new(stmts: &'a [Stmt], begin: &'static str) -> Self {
        let mut steps = Vec::with_capacity(stmts.len() + 2);
        steps.push(WireStep::plain(begin, None));
        for (i, stmt) in stmts.iter().enumerate() {
            steps.push(WireStep {
                condition: Some(Cond::Ok { step: i }),
                stmt: WireStmt::new(stmt),
            });
        }
        steps.push(WireStep::plain("ROLLBACK", None));
        RehearsalPlan { stmts, steps }
    }
}

/// Whether the error of the first step says the server does not know `BEGIN IMMEDIATE` (a
/// parse error), rather than that it could not begin now.
fn refuses_immediate(error: &WireError) -> bool {
    let m = error.message.to_ascii_lowercase();
    !error.busy()
        && (m.contains("immediate")
            || m.contains("syntax error")
            || m.contains("not supported")
            || m.contains("unsupported"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::hrana::test_support::{stmt_result, test_store};
    use crate::store::hrana::wire::WireBatch;
    use serde_json::json;

    #[test]
    fn batch_request_shape() {
        let stmts = vec![
            Stmt::new("INSERT INTO t VALUES (?)", vec![Value::Integer(1)]),
            Stmt::new("DELETE FROM t", vec![]),
        ];
        let plan = BatchPlan::new(&stmts, BEGIN_IMMEDIATE);
        let batch = serde_json::to_value(WireBatch {
            steps: plan.steps.clone(),
        })
        .unwrap();
        let steps = batch["steps"].as_array().unwrap();
        let sqls: Vec<&str> = steps
            .iter()
            .map(|s| s["stmt"]["sql"].as_str().unwrap())
            .collect();
        assert_eq!(
            sqls,
            [
                "BEGIN IMMEDIATE",
                COUNT_SQL,
                "INSERT INTO t VALUES (?)",
                COUNT_SQL,
                "DELETE FROM t",
                COUNT_SQL,
                "COMMIT",
                "ROLLBACK"
            ]
        );
        assert!(steps[0].get("condition").is_none());
        for (i, step) in steps.iter().enumerate().take(7).skip(1) {
            assert_eq!(
                step["condition"],
                json!({"type": "ok", "step": i - 1}),
                "step {i}"
            );
        }
        assert_eq!(
            steps[7]["condition"],
            json!({"type": "not", "cond": {"type": "ok", "step": 6}})
        );
        assert_eq!(
            steps[2]["stmt"]["args"],
            json!([{"type": "integer", "value": "1"}])
        );
    }

    #[test]
    fn batch_results_map_back_with_changed_rows() {
        let stmts = vec![
            Stmt::new("UPDATE t SET x = 1", vec![]),
            Stmt::new("SELECT 1", vec![]),
        ];
        let plan = BatchPlan::new(&stmts, BEGIN_IMMEDIATE);
        let count = |n: i64| stmt_result(json!([[{"type": "integer", "value": n.to_string()}]]), 0);
        let answer = json!({
            "step_results": [stmt_result(json!([]), 0), count(10),
                             stmt_result(json!([]), 0), count(13),
                             stmt_result(json!([[{"type": "integer", "value": "1"}]]), 0), count(13),
                             stmt_result(json!([]), 0), null],
            "step_errors": [null, null, null, null, null, null, null, null]
        });
        let result: BatchResult = serde_json::from_value(answer).unwrap();
        let rows = plan.collect(result, &test_store(None)).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].affected, 3);
        assert_eq!(rows[1].affected, 0);
        assert_eq!(rows[1].rows, vec![vec![Value::Integer(1)]]);
        assert_eq!(rows[1].columns, vec!["c".to_owned()]);
    }

    #[test]
    fn a_rehearsal_always_rolls_back_and_returns_every_result() {
        let stmts = vec![
            Stmt::new("SELECT 1", vec![]),
            Stmt::new("DELETE FROM t", vec![]),
        ];
        let plan = RehearsalPlan::new(&stmts, BEGIN_IMMEDIATE);
        let batch = serde_json::to_value(WireBatch {
            steps: plan.steps.clone(),
        })
        .unwrap();
        let steps = batch["steps"].as_array().unwrap();
        let sqls: Vec<&str> = steps
            .iter()
            .map(|s| s["stmt"]["sql"].as_str().unwrap())
            .collect();
        assert_eq!(
            sqls,
            ["BEGIN IMMEDIATE", "SELECT 1", "DELETE FROM t", "ROLLBACK"]
        );
        assert_eq!(steps[2]["condition"], json!({"type": "ok", "step": 1}));
        assert!(
            steps[3].get("condition").is_none(),
            "the ROLLBACK runs whatever happened"
        );
        let answer = json!({
            "step_results": [stmt_result(json!([]), 0),
                             stmt_result(json!([[{"type": "integer", "value": "1"}]]), 0),
                             stmt_result(json!([]), 2), stmt_result(json!([]), 0)],
            "step_errors": [null, null, null, null]
        });
        let result: BatchResult = serde_json::from_value(answer).unwrap();
        let rows = plan.collect(result, &test_store(None)).ok().unwrap();
        assert_eq!(rows[0].rows, vec![vec![Value::Integer(1)]]);
        assert_eq!(rows[1].affected, 2);
        let failed = json!({
            "step_results": [stmt_result(json!([]), 0), null, null, stmt_result(json!([]), 0)],
            "step_errors": [null, {"message": "no such table: t", "code": "SQLITE_ERROR"}, null, null]
        });
        let result: BatchResult = serde_json::from_value(failed).unwrap();
        let Err(BatchFailure::Failed(err)) = plan.collect(result, &test_store(None)) else {
            panic!("a failed statement fails the rehearsal")
        };
        assert!(
            err.to_string()
                .contains("rehearsed statement 1 of 2: SELECT 1"),
            "{err}"
        );
    }

    #[test]
    fn batch_step_error_names_the_statement() {
        let stmts = vec![
            Stmt::new("INSERT INTO t VALUES (1)", vec![]),
            Stmt::new("INSERT INTO t VALUES (1)", vec![]),
        ];
        let plan = BatchPlan::new(&stmts, BEGIN_IMMEDIATE);
        let answer = json!({
            "step_results": [stmt_result(json!([]), 0), stmt_result(json!([]), 0),
                             stmt_result(json!([]), 1), stmt_result(json!([]), 0),
                             null, null, null, stmt_result(json!([]), 0)],
            "step_errors": [null, null, null, null,
                            {"message": "UNIQUE constraint failed: t.x", "code": "SQLITE_CONSTRAINT"},
                            null, null, null]
        });
        let result: BatchResult = serde_json::from_value(answer).unwrap();
        let Err(BatchFailure::Failed(err)) = plan.collect(result, &test_store(None)) else {
            panic!("a constraint failure is a plain failure");
        };
        assert!(matches!(err, StoreError::Sql { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("UNIQUE constraint failed"), "{text}");
        assert!(
            text.contains("statement 2 of 2: INSERT INTO t VALUES (1)"),
            "{text}"
        );
    }

    /// The answer to a one-statement batch whose step `failed` failed with `error`; the steps
    /// after it did not run, except the ROLLBACK.
    fn failed_at(failed: usize, error: serde_json::Value, commit_ran: bool) -> BatchResult {
        let mut results = vec![json!(null); 6];
        let mut errors = vec![json!(null); 6];
        for (i, r) in results.iter_mut().enumerate().take(failed) {
            *r = stmt_result(json!([]), u64::from(i == 2));
        }
        errors[failed] = error;
        if commit_ran {
            results[4] = stmt_result(json!([]), 0);
        } else {
            results[5] = stmt_result(json!([]), 0);
        }
        serde_json::from_value(json!({"step_results": results, "step_errors": errors})).unwrap()
    }

    #[test]
    fn a_busy_batch_that_wrote_nothing_may_be_sent_again() {
        let stmts = vec![Stmt::new("INSERT INTO t VALUES (1)", vec![])];
        let plan = BatchPlan::new(&stmts, BEGIN_IMMEDIATE);
        let store = test_store(None);
        let sqld_busy =
            json!({"message": "SQLite error: database is locked", "code": "SQLITE_BUSY"});
        // At BEGIN IMMEDIATE, at the statement, or at COMMIT (then rolled back).
        for at in [0, 2, 4] {
            let answer = failed_at(at, sqld_busy.clone(), false);
            let failure = plan.collect(answer, &store);
            let Err(BatchFailure::Busy(err)) = failure else {
                panic!("busy at step {at}: {failure:?}");
            };
            assert!(err.to_string().contains("database is locked"), "{err}");
        }
        // A server that only says so in the message.
        let answer = failed_at(0, json!({"message": "database is locked"}), false);
        assert!(matches!(
            plan.collect(answer, &store),
            Err(BatchFailure::Busy(_))
        ));
        let answer = failed_at(
            0,
            json!({"message": "x", "code": "TRANSACTION_BUSY"}),
            false,
        );
        assert!(matches!(
            plan.collect(answer, &store),
            Err(BatchFailure::Busy(_))
        ));
        // Other failures are never busy.
        let answer = failed_at(
            2,
            json!({"message": "UNIQUE constraint failed: t.x"}),
            false,
        );
        assert!(matches!(
            plan.collect(answer, &store),
            Err(BatchFailure::Failed(_))
        ));
    }

    #[test]
    fn a_server_that_does_not_know_begin_immediate_is_told_apart() {
        let stmts = vec![Stmt::new("INSERT INTO t VALUES (1)", vec![])];
        let plan = BatchPlan::new(&stmts, BEGIN_IMMEDIATE);
        let store = test_store(None);
        let answer = failed_at(
            0,
            json!({"message": "near \"IMMEDIATE\": syntax error", "code": "SQLITE_ERROR"}),
            false,
        );
        assert!(matches!(
            plan.collect(answer, &store),
            Err(BatchFailure::ImmediateRefused(_))
        ));
        let answer = failed_at(0, json!({"message": "disk I/O error"}), false);
        assert!(matches!(
            plan.collect(answer, &store),
            Err(BatchFailure::Failed(_))
        ));
        let plain = BatchPlan::new(&stmts, BEGIN_PLAIN);
        assert_eq!(
            serde_json::to_value(&plain.steps[0]).unwrap()["stmt"]["sql"],
            "BEGIN"
        );
    }
}
