//! The az commands' runner (`role`, `rolebinding` list/show/create/update/delete): the delete
//! prompt before the command runs, the command's data to the output layer, and an output failure
//! after a write told as such.

use super::Status;
use crate::commands::{self, Outcome};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::output::{self, Printer, terminal};
use crate::resolve::Request;

/// Runs an az command; `readable`: `role show` prints a readable view.
pub async fn run(
    ctx: &Context,
    printer: &Printer,
    request: &Request,
    readable: bool,
) -> Result<Status> {
    use commands::{role, rolebinding};
    let wrote = writes(request);
    let outcome = match request {
        Request::RoleList(list) => {
            let listing = role::list(ctx, list).await?;
            output::views::role::print_list(printer, &listing.roles, &listing.risks)?;
            return Ok(Status::Success);
        }
        Request::RoleShow(show) => {
            let role = role::show(ctx, show).await?;
            output::views::role::print_show(printer, &role, readable)?;
            return Ok(Status::Success);
        }
        Request::BindingList(cluster) => rolebinding::list(ctx, cluster).await?,
        Request::BindingShow(binding) => rolebinding::show(ctx, binding).await?,
        Request::BindingCreate(write) => rolebinding::create(ctx, write).await?,
        Request::BindingUpdate(write) => rolebinding::update(ctx, write).await?,
        Request::BindingDelete(delete) => rolebinding::delete(ctx, delete).await?,
        _ => return Err(Error::usage("not an az command")),
    };
    match outcome {
        Outcome::Data(data) => printer
            .print_value(&data, None)
            .map_err(|e| after_write(e, wrote))?,
        Outcome::Nothing => {}
    }
    Ok(Status::Success)
}

/// Whether the request sends a write (create, update, delete without --dry-run).
fn writes(request: &Request) -> bool {
    match request {
        Request::BindingCreate(write) | Request::BindingUpdate(write) => !write.dry_run,
        Request::BindingDelete(delete) => !delete.dry_run,
        _ => false,
    }
}

/// An output failure after a write must not read as "nothing happened": the error says the
/// write was carried out, and is never a usage error (exit 2 means nothing was sent).
fn after_write(e: Error, wrote: bool) -> Error {
    if !wrote || matches!(e, Error::OutputClosed) {
        return e;
    }
    let what = match &e {
        Error::QueryFailed { message, .. } => message.clone(),
        other => other.to_string(),
    };
    Error::Io(format!(
        "{what}\nThe write was carried out; only printing its result failed."
    ))
}

/// az's confirmation before a delete, asked before the command runs (commands never prompt):
/// without `--yes` and without a terminal to ask on, nothing is deleted.
pub fn confirm(ctx: &Context, request: &Request) -> Result<()> {
    let Request::BindingDelete(delete) = request else {
        return Ok(());
    };
    // az asks unless --yes or `[core] disable_confirm_prompt` / AZURE_CORE_DISABLE_CONFIRM_PROMPT.
    let confirmed =
        delete.confirmed || ctx.config.get_bool("core", "disable_confirm_prompt") == Some(true);
    if confirmed || delete.dry_run {
        return Ok(());
    }
    match terminal::confirm("Are you sure you want to perform this operation?")? {
        Some(true) => Ok(()),
        Some(false) => Err(Error::Cancelled),
        None => {
            ctx.diagnostics
                .warn("Unable to prompt for confirmation as no tty available. Use --yes.");
            Err(Error::Cancelled)
        }
    }
}
