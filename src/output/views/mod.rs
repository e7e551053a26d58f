//! The readable views of particular commands, drawn with the formats beside them: `plan` and
//! `apply`'s diff and summary (desired), `rolebinding check` and `token check`'s report (doctor),
//! `role list` and `role show` (role). The rest of `output/` is formats, command-agnostic.

pub mod desired;
pub mod doctor;
pub mod role;
