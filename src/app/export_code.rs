//! Runs `export --format terraform|terraform-azapi|bicep|arm`: reads the fleet, renders the code,
//! then writes it (one file on stdout, or every file into --output-dir, checked first). Clusters
//! that could not be read are named on stderr and make it exit 1, as the manifest export does.

use crate::commands::desired::iac;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::output;
use crate::resolve::IacRequest;

pub async fn run(ctx: &Context, request: &IacRequest) -> Result<crate::error::Status> {
    let export = tokio::select! {
        e = iac::export(ctx, &request.export, request.format, request.include_platform, &request.api_version) => e?,
        signal = crate::signals::stop() => return Err(Error::Interrupted { check: None, signal }),
    };
    match &request.output_dir {
        Some(dir) => {
            let files: Vec<(String, String)> =
                export.files.into_iter().map(|f| (f.path, f.text)).collect();
            for path in output::files::write_set(dir, &files, request.force)? {
                ctx.diagnostics
                    .summary(&format!("wrote {}", path.display()));
            }
        }
        None => {
            for file in &export.files {
                output::write_stdout(&file.text)?;
            }
        }
    }
    if !export.platform.is_empty() {
        ctx.diagnostics.summary(&format!(
            "left out {} bindings made by a platform (--include-platform keeps them):",
            export.platform.len()
        ));
        for why in &export.platform {
            ctx.diagnostics.summary(&format!("  {why}"));
        }
    }
    for why in &export.unreadable {
        ctx.diagnostics
            .warn(&format!("left out of the export: {why}"));
    }
    Ok(if export.unreadable.is_empty() {
        crate::error::Status::Success
    } else {
        crate::error::Status::Incomplete(Some(format!(
            "{} clusters or subscriptions could not be read and are not in the export",
            export.unreadable.len()
        )))
    })
}
