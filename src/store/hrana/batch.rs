//! A write as one Hrana `batch`: `BEGIN`, the statements, `COMMIT`, each step conditioned on
//! the one before, a `ROLLBACK` when the `COMMIT` did not run, and the changed-row count measured
//! around every statement. And a rehearsal: the same transaction always ending in `ROLLBACK`, so
//! the engine shows what a write would do without keeping it.

use super::error::sql_excerpt;
use super::wire::{BatchResult, Cond, StmtResult, WireStep, WireStmt};
use super::HranaStore;
use crate::store::{Rows, Stmt, StoreError, Value};

/// The steps of one write batch and where each caller statement sits in it.
///
/// `BEGIN`, then `SELECT total_changes()`, then for every statement the statement itself and
/// another `SELECT total_changes()`, then `COMMIT` and `ROLLBACK`. The `total_changes()` steps
/// exist because `tursodb --sync-server` reports `affected_row_count: 0` for every statement; the
/// difference around a statement is the number of rows it changed (sqld's own count is used when
/// it is not zero).
pub(super) struct BatchPlan<'a> {
    stmts: &'a [Stmt],
    pub(super) steps: Vec<WireStep<'a>>,
}

const COUNT_SQL: &str = "SELECT total_changes()";

impl<'a> BatchPlan<'a> {
    pub(super) fn new(stmts: &'a [Stmt]) -> Self {
        let mut steps = Vec::with_capacity(2 * stmts.len() + 4);
        steps.push(WireStep::plain("BEGIN", None));
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

    /// One `Rows` per caller statement, or the first failure.
    pub(super) fn collect(
        &self,
        result: BatchResult,
        store: &HranaStore,
    ) -> Result<Vec<Rows>, StoreError> {
        let n = self.stmts.len();
        let total = self.steps.len();
        if result.step_results.len() != total || result.step_errors.len() != total {
            return Err(store.protocol(format!(
                "the batch answer has {} results and {} errors for {} steps",
                result.step_results.len(),
                result.step_errors.len(),
                total
            )));
        }
        let mut step_results = result.step_results;
        let step_errors = result.step_errors;
        let commit = Self::commit_step(n);
        // The first failing step (the ROLLBACK's own failure matters only if nothing else failed).
        for (i, error) in step_errors.iter().enumerate() {
            let Some(error) = error else { continue };
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
            return Err(store.sql_error(&error.message, place));
        }
        if step_results[commit].is_none() {
            return Err(
                store.protocol("the server skipped the COMMIT of the batch without an error")
            );
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
                return Err(store.protocol(format!(
                    "statement {} of the batch was skipped without an error",
                    k + 1
                )));
            };
            out.push(result.into_rows(delta));
        }
        Ok(out)
    }
}

/// The steps of one rehearsal: `BEGIN IMMEDIATE`, the statements (each conditioned on the
/// one before), and a `ROLLBACK` that always runs: `tursodb --sync-server` serves every request
/// on one connection, so a transaction left open would swallow the next requests.
pub(super) struct RehearsalPlan<'a> {
    stmts: &'a [Stmt],
    pub(super) steps: Vec<WireStep<'a>>,
}

impl<'a> RehearsalPlan<'a> {
    pub(super) fn new(stmts: &'a [Stmt]) -> Self {
        let mut steps = Vec::with_capacity(stmts.len() + 2);
        steps.push(WireStep::plain("BEGIN IMMEDIATE", None));
        for (i, stmt) in stmts.iter().enumerate() {
            steps.push(WireStep {
                condition: Some(Cond::Ok { step: i }),
                stmt: WireStmt::new(stmt),
            });
        }
        steps.push(WireStep::plain("ROLLBACK", None));
        RehearsalPlan { stmts, steps }
    }

    /// One `Rows` per caller statement, or the first failure.
    pub(super) fn collect(
        &self,
        result: BatchResult,
        store: &HranaStore,
    ) -> Result<Vec<Rows>, StoreError> {
        let n = self.stmts.len();
        let total = self.steps.len();
        if result.step_results.len() != total || result.step_errors.len() != total {
            return Err(store.protocol(format!(
                "the rehearsal answer has {} results and {} errors for {} steps",
                result.step_results.len(),
                result.step_errors.len(),
                total
            )));
        }
        for (i, error) in result.step_errors.iter().enumerate() {
            let Some(error) = error else { continue };
            let place = if i == 0 {
                "BEGIN IMMEDIATE failed, nothing was rehearsed".to_owned()
            } else if i == total - 1 {
                "the ROLLBACK after a rehearsal failed".to_owned()
            } else {
                format!(
                    "rehearsed statement {i} of {n}: {}; nothing was written",
                    sql_excerpt(&self.stmts[i - 1].sql)
                )
            };
            return Err(store.sql_error(&error.message, place));
        }
        let mut out = Vec::with_capacity(n);
        for (k, result) in result.step_results.into_iter().skip(1).take(n).enumerate() {
            let Some(result) = result else {
                return Err(store.protocol(format!(
                    "statement {} of the rehearsal was skipped without an error",
                    k + 1
                )));
            };
            out.push(result.into_rows(None));
        }
        Ok(out)
    }
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
        let plan = BatchPlan::new(&stmts);
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
                "BEGIN",
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
        let plan = BatchPlan::new(&stmts);
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
        let plan = RehearsalPlan::new(&stmts);
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
        let rows = plan.collect(result, &test_store(None)).unwrap();
        assert_eq!(rows[0].rows, vec![vec![Value::Integer(1)]]);
        assert_eq!(rows[1].affected, 2);
        let failed = json!({
            "step_results": [stmt_result(json!([]), 0), null, null, stmt_result(json!([]), 0)],
            "step_errors": [null, {"message": "no such table: t", "code": "SQLITE_ERROR"}, null, null]
        });
        let result: BatchResult = serde_json::from_value(failed).unwrap();
        let err = plan.collect(result, &test_store(None)).unwrap_err();
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
        let plan = BatchPlan::new(&stmts);
        let answer = json!({
            "step_results": [stmt_result(json!([]), 0), stmt_result(json!([]), 0),
                             stmt_result(json!([]), 1), stmt_result(json!([]), 0),
                             null, null, null, stmt_result(json!([]), 0)],
            "step_errors": [null, null, null, null,
                            {"message": "UNIQUE constraint failed: t.x", "code": "SQLITE_CONSTRAINT"},
                            null, null, null]
        });
        let result: BatchResult = serde_json::from_value(answer).unwrap();
        let err = plan.collect(result, &test_store(None)).unwrap_err();
        assert!(matches!(err, StoreError::Sql { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("UNIQUE constraint failed"), "{text}");
        assert!(
            text.contains("statement 2 of 2: INSERT INTO t VALUES (1)"),
            "{text}"
        );
    }
}
