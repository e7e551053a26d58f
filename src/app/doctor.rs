//! The doctor's runner (`rolebinding check`, `token check`): the report printed, the wait until
//! a binding takes effect, and the typed status.

use super::Status;
use crate::commands;
use crate::context::Context;
use crate::error::Result;
use crate::output::{self, Printer};
use crate::resolve;

/// Prints a doctor report (`rolebinding check`, `token check`) and turns it into the exit code:
/// 0 nothing failed, 4 a check failed, 1 some could not be checked.
pub fn print_doctor(
    ctx: &Context,
    printer: &Printer,
    report: &commands::doctor::Report,
    readable: bool,
) -> Result<Status> {
    use commands::doctor::Outcome;
    output::views::doctor::print(printer, &report.to_json(), readable)?;
    if !readable {
        ctx.diagnostics.summary(&report.summary_line());
    }
    match report.outcome() {
        Outcome::Passed => Ok(Status::Success),
        Outcome::Failed(n) => Ok(Status::Findings(n)),
        Outcome::Incomplete(_) => Ok(Status::Incomplete(None)),
    }
}

/// How far ahead of this machine's clock the service's may be before `--wait-effective` stops
/// trusting an effective time (a minute, beyond the 5 minutes a change takes).
const MAX_CLOCK_SKEW_SECONDS: i64 = 60;

/// `rolebinding check`, and with `--wait-effective` a wait until the binding's effective time
/// then a fresh check (a binding changed meanwhile is waited for again, a few times at most).
/// Waiting makes sense only when nothing else fails.
pub async fn check_until_effective(
    ctx: &Context,
    request: &resolve::BindingCheck,
) -> Result<commands::doctor::Report> {
    use crate::commands::doctor::{Verdict, binding};
    let mut report = binding::check(ctx, request).await?;
    for _ in 0..3 {
        let Some(at) = report.effective_at.filter(|_| request.wait_effective) else {
            break;
        };
        let other_failure = report
            .checks
            .iter()
            .any(|c| c.verdict == Verdict::Fail && c.id != "binding-effective");
        if other_failure {
            break;
        }
        // A change takes effect about 5 minutes after it is made: an effective time further
        // ahead comes from a lastModifiedAt in the future (a wrong clock or a hostile server),
        // which is reported as "not yet", not waited for (it could be years).
        let limit = crate::commands::doctor::EFFECTIVE_AFTER_SECONDS + MAX_CLOCK_SKEW_SECONDS;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        if at.saturating_sub(now) > limit {
            ctx.diagnostics.warn(&format!(
                "not waiting: the binding would take effect in {}, more than the {} a change takes (its lastModifiedAt is in the future)",
                crate::diagnostics::span(at.saturating_sub(now)),
                crate::diagnostics::span(crate::commands::doctor::EFFECTIVE_AFTER_SECONDS)
            ));
            break;
        }
        super::countdown::wait_until(at, "the binding to take effect", ctx.diagnostics).await;
        report = binding::check(ctx, request).await?;
    }
    Ok(report)
}
